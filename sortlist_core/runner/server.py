"""The server side of the runner: what the app calls. `Runner.run(job)` admits the check
(`admission`), hands it to the server's one worker process (`worker_link`), started and
replaced on demand, and turns what came back into a learner-facing `RunOutcome` (`outcome`).

Every pipe read and write has a deadline and no lock is held across one: a worker that stops
answering (killed, stopped, wedged) is killed and replaced within seconds, and the checks it
held are answered "run the check again".
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import itertools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .. import settings
from ..process_wide import ProcessWide
from . import policy, sandbox
from .admission import Admission
from .job import Job, Limits, RunOutcome
from .leftovers import remove_tree
from .mode import ModeDecision, RunnerMode, runner_mode
from .outcome import outcome_from_done
from .worker_link import WorkerDied, WorkerLink

ENV_CONCURRENCY = settings.RUNNER_CONCURRENCY  # jobs running at once per server
ENV_QUEUE = settings.RUNNER_QUEUE  # jobs waiting beyond those
ENV_UID = settings.RUNNER_UID  # first unprivileged uid when the server is root
DEFAULT_CONCURRENCY, MAX_CONCURRENCY = 2, 16  # a 2-core server runs two checks at once
DEFAULT_QUEUE, MAX_QUEUE = 20, 256
_PR_SET_DUMPABLE = 4
TRY_AGAIN = (
    "The code checker restarted while your code waited or ran ({why}); nothing was wrong with "
    "your code as far as we know. Run the check again."
)


def _make_non_dumpable() -> None:
    """Learner code running as our uid (no namespaces) must not open our /proc files."""
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


class Runner:
    """A server's runner: run(job) blocks and always answers with a RunOutcome."""

    def __init__(
        self,
        decision: ModeDecision | None = None,
        limits: Limits | None = None,
        *,
        max_running: int | None = None,
        max_queued: int | None = None,
        env: Mapping[str, str] = os.environ,
        child_namespaces: bool = True,
    ) -> None:
        self.decision = decision or runner_mode(env)
        self.limits = limits or Limits()
        running = max_running or settings.integer(
            ENV_CONCURRENCY, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY, env
        )
        queued = (
            max_queued
            if max_queued is not None
            else settings.integer(ENV_QUEUE, DEFAULT_QUEUE, 0, MAX_QUEUE, env)
        )
        self.admission = Admission(running, queued, policy.QUEUE_WAIT_S)
        self.base_uid = settings.integer(ENV_UID, policy.DEFAULT_BASE_UID, 1000, 2**31 - 2, env)
        self.child_namespaces = child_namespaces  # False: what a kernel without them gives (tests)
        self._worker: WorkerLink | None = None
        self._worker_lock = threading.Lock()
        self._tmp: Path | None = None
        self._job_numbers = itertools.count(1)
        self.worker_starts = 0

    @property
    def max_running(self) -> int:
        return self.admission.max_running

    @property
    def max_queued(self) -> int:
        return self.admission.max_queued

    @property
    def uids(self) -> set[int]:
        """The unprivileged uids a root server gives its checks (one per check in flight)."""
        return {self.base_uid - i for i in range(self.admission.uid_count)}

    # --- the worker ------------------------------------------------------------------------
    def _private_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="sortlist-runner-"))
            self._tmp.chmod(0o711)  # children (another uid, process mode) enter their run dirs
        return self._tmp

    def _worker_argv(self) -> tuple[list[str], dict[str, str], str]:
        tmp = self._private_dir()
        if self.decision.mode is RunnerMode.SANDBOX:
            pkg = tmp / "pkg"
            if not pkg.exists():
                sandbox.copy_package(pkg)
            argv = sandbox.worker_command(pkg)
            return argv + ([] if self.child_namespaces else ["--no-namespaces"]), {}, "/"
        runs = tmp / "runs"
        runs.mkdir(mode=0o711, exist_ok=True)
        runs.chmod(0o711)
        root = str(Path(__file__).resolve().parent.parent.parent)  # so `-m sortlist_core...` imports
        argv = [sys.executable, "-E", "-s", "-m", "sortlist_core.runner.worker", "--base", str(runs)]
        argv += [] if self.child_namespaces else ["--no-namespaces"]
        return argv, dict(policy.WORKER_ENV), root

    def _ensure_worker(self) -> WorkerLink:
        old = None
        with self._worker_lock:  # held for a Popen, never for pipe I/O
            w = self._worker
            if w is None or not w.alive():
                old = w
                argv, env, cwd = self._worker_argv()
                w = self._worker = WorkerLink(
                    argv, env, cwd, self._private_dir() / "worker.log", self.admission.park
                )
                self.worker_starts += 1
        if old is not None:
            old.kill("it had stopped")
        deadline = time.monotonic() + policy.WORKER_START_S
        while not w.ready.wait(0.2):
            if w.dead.is_set():
                raise WorkerDied(w.error)
            if time.monotonic() > deadline:
                w.kill("it did not start in time")
                raise WorkerDied("the worker did not start in time")
        if not w.info.get("namespaces") and os.geteuid() != 0:
            _make_non_dumpable()  # its checks run as our uid and see our /proc
        return w

    @property
    def isolation(self) -> dict[str, Any]:
        """What the running worker found: {"namespaces": bool, "proc": "own" | "self-only" |
        "shared", "why": reason when there are none}; {} before it started."""
        w = self._worker
        if w is None or not w.info:
            return {}
        return {k: w.info.get(k) for k in ("namespaces", "proc", "why")}

    def warm_up(self) -> None:
        """Start the worker now (it takes seconds) so the first check is fast."""
        if self.decision.mode is not RunnerMode.OFF:
            self._ensure_worker()

    def close(self) -> None:
        with self._worker_lock:
            w, self._worker = self._worker, None
        if w is not None:
            w.stop()
        if self._tmp is not None:
            remove_tree(str(self._tmp))  # iterative: a killed check may have left deep trees
            self._tmp = None

    # --- one job -------------------------------------------------------------------------------
    def run(self, job: Job, *, session: str | None = None, timeout_s: float | None = None) -> RunOutcome:
        t0 = time.perf_counter()
        if self.decision.mode is RunnerMode.OFF:
            return RunOutcome("off", message=self.decision.reason)
        busy = self.admission.admit(session)
        if busy is not None:
            return RunOutcome("busy", message=busy, seconds=time.perf_counter() - t0)
        job_id = f"{os.getpid()}-{next(self._job_numbers)}"  # count() is atomic under the GIL
        slot = None
        try:
            slot = self.admission.acquire(job_id)
            if slot is None:
                return RunOutcome(
                    "busy", message="The code checker is busy; try again in a few seconds.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            limits = self.limits
            if timeout_s is not None:
                limits = Limits(**{**limits.to_dict(), "cpu_s": timeout_s, "wall_s": timeout_s * 1.5 + 2})
            return self._run_in_worker(job, job_id, limits, slot, t0)
        finally:
            self.admission.release(session, job_id, slot)

    def _run_in_worker(self, job: Job, job_id: str, limits: Limits, slot: int, t0: float) -> RunOutcome:
        root = os.geteuid() == 0
        payload = {
            "op": "run", "id": job_id, "source": job.source, "entry": job.entry,
            "inputs": list(job.inputs), "params": dict(job.params),
            "checkpoint_b64": base64.b64encode(job.checkpoint).decode(),
            "limits": limits.to_dict(),
            "uid": self.base_uid - slot if root else None, "gid": policy.CHILD_GID if root else None,
        }  # fmt: skip
        for _attempt in range(2):  # a worker found dead before taking the job: one restart
            try:
                worker = self._ensure_worker()
            except WorkerDied as exc:
                return RunOutcome(
                    "crashed", message=f"The code checker could not start ({exc}); try again later.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            try:
                fut = worker.submit(job_id, payload)
            except WorkerDied:
                continue
            t0 = time.perf_counter()
            try:
                done = self._wait(worker, fut, limits.wall_s + policy.NO_RESULT_GRACE_S)
            except WorkerDied as exc:
                # Answered, never left hanging: the job may have been the one that killed the
                # worker, so it is not silently run again.
                return RunOutcome(
                    "crashed", message=TRY_AGAIN.format(why=str(exc)[:200]), seconds=time.perf_counter() - t0
                )
            except FutureTimeout:
                worker.kill("a job got no answer in time")
                return RunOutcome(
                    "timeout", message="The code checker did not answer in time; run the check again.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            return outcome_from_done(done, limits, job.entry)
        return RunOutcome(
            "crashed", message=TRY_AGAIN.format(why="it stopped twice"), seconds=time.perf_counter() - t0
        )

    @staticmethod
    def _wait(worker: WorkerLink, fut: Future, timeout_s: float) -> dict[str, Any]:
        """The job's answer; a worker silent for WORKER_SILENT_S (stopped, wedged) is killed,
        which answers its jobs with WorkerDied."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return fut.result(timeout=0.25)
            except FutureTimeout:
                if time.monotonic() > deadline:
                    raise
                if worker.silent_for() > policy.WORKER_SILENT_S and not worker.dead.is_set():
                    worker.kill(f"it stopped answering for {policy.WORKER_SILENT_S:g} s")


def _new_default_runner() -> Runner:
    runner = Runner()
    atexit.register(runner.close)  # the worker and the private temp dir go with us
    return runner


DEFAULT_RUNNER: ProcessWide[Runner] = ProcessWide(_new_default_runner)


def default_runner() -> Runner:
    """The process-wide runner (created on first use, from the environment)."""
    return DEFAULT_RUNNER.get()


def run_job(job: Job, *, session: str | None = None, timeout_s: float = 10.0) -> RunOutcome:
    """Run a learner's function through the process-wide runner; blocks; always answers.
    `session`: the learner key (at most one check per key, running or queued)."""
    return default_runner().run(job, session=session, timeout_s=timeout_s)
