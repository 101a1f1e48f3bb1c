"""Run learner code away from the server: a pre-importing worker forks one locked-down child
per submission (rlimits, scrubbed env, unprivileged uid, its own user/PID/IPC/mount namespaces
where the kernel allows them, optionally all inside bubblewrap) and only plain data (.npy
without pickle, JSON) comes back. The policy is in `policy`; see README "Code exercises".

Modules, by the process they run in: the server (`server`: the `Runner`; `admission`;
`worker_link`: its pipe to the worker; `outcome`: what the learner is told), the worker
(`worker`: its entry point; `supervisor`: its event loop; `processes`, `leftovers`) and each
check's child (`child`: lock-down and the learner's call; `namespaces`). `sandbox` builds the
bubblewrap command line, `codec` the plain-data framing, `mode` picks off/process/sandbox."""

from .job import Job, Limits, RunOutcome
from .mode import ModeDecision, RunnerMode, runner_mode
from .server import Runner, default_runner, run_job


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
