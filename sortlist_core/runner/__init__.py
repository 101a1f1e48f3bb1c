"""Run learner code away from the server: a pre-importing worker forks one locked-down child
per submission (rlimits, scrubbed env, unprivileged uid, its own user/PID/IPC/mount namespaces
where the kernel allows them, optionally all inside bubblewrap) and only plain data (.npy
without pickle, JSON) comes back. The policy is in `policy`; see README "Code exercises"."""

from .job import Job, Limits, RunOutcome
from .mode import ModeDecision, RunnerMode, runner_mode
from .pool import Runner, default_runner, run_job


class RunnerUnavailable(RuntimeError):
    """Raised by callers that need a runner when the mode is OFF (run_job itself answers "off")."""


__all__ = [
    "Job",
    "Limits",
    "ModeDecision",
    "RunOutcome",
    "Runner",
    "RunnerMode",
    "RunnerUnavailable",
    "default_runner",
    "run_job",
    "runner_mode",
]
