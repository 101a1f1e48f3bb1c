"""Server-wide training jobs: a small thread-based job manager. Streamlit is imported
only by `session_alive_probe`, lazily, to ask the running server whether a tab is still open.

Training is CPU-heavy, so a server runs at most `max_jobs` at a time (default 1, set with the
environment variable `SORTLIST_MAX_TRAINING_JOBS`; 0 turns training off). A further request is
refused with a sentence saying why, never queued behind someone else's run. Each job belongs to
one session (its `owner`); a session has at most one running job.

A job stops when
- its owner cancels it (`TrainingJob.cancel`),
- its heartbeat goes stale: the Model page calls `heartbeat()` while it shows the job, and an
  optional `alive()` probe (is the owner's browser tab still connected?) keeps it fresh while the
  learner is on another page. A closed tab stops both, so the run stops `heartbeat_timeout`
  seconds later instead of burning the CPU for nobody,
- or training ends (its recipe's steps, or the target accuracy).

A stopped run still returns its best weights so far (`sortlist_core.training.train` does that).
One run, its thread and its snapshots are `training_run`; this module admits and keeps them.
Everything here is thread-safe; snapshots are immutable copies the page can render freely.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sortlist_core import settings
from sortlist_core.config import ModelConfig
from sortlist_core.process_wide import ProcessWide
from sortlist_core.training import Recipe, TrainResult, train

from .training_run import (  # noqa: F401 - the states and the snapshot are read from here too
    ABANDONED,
    CANCELLED,
    DONE,
    FAILED,
    MAX_CURVE_POINTS,
    RUNNING,
    CurvePoint,
    JobSnapshot,
    TrainingJob,
)

MAX_JOBS_ENV = settings.MAX_TRAINING_JOBS
HOSTED_ENV = settings.HOSTED
DEFAULT_MAX_JOBS = 1
DEFAULT_HEARTBEAT_TIMEOUT_S = 30.0
KEEP_FINISHED_S = 3600.0  # a finished job's result waits this long for its owner


class JobRefused(RuntimeError):
    """A training request that cannot start now; the message says why, for the learner."""


def max_jobs_from_env(default: int = DEFAULT_MAX_JOBS) -> int:
    """`$SORTLIST_MAX_TRAINING_JOBS` as a non-negative int (malformed values give `default`)."""
    return settings.integer(MAX_JOBS_ENV, default, 0, 1_000)


@dataclass(frozen=True)
class TrainingLimits:
    """What a learner may ask for from the Model page. Hosted mode (`SORTLIST_HOSTED=1`) keeps
    runs short so one learner cannot hold the server's CPU for long."""

    max_steps: int
    max_d_model: int
    max_heads: int
    max_batch_size: int
    hosted: bool


def training_limits() -> TrainingLimits:
    if settings.hosted():
        return TrainingLimits(max_steps=1_000, max_d_model=128, max_heads=4, max_batch_size=256, hosted=True)
    return TrainingLimits(max_steps=20_000, max_d_model=256, max_heads=8, max_batch_size=1024, hosted=False)


class JobManager:
    """At most `max_jobs` running jobs per server; at most one per owner."""

    def __init__(
        self,
        max_jobs: int | None = None,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
        train_fn: Callable[..., TrainResult] = train,
        clock: Callable[[], float] = time.monotonic,
        keep_finished_s: float = KEEP_FINISHED_S,
    ):
        self.max_jobs = max_jobs_from_env() if max_jobs is None else max(0, int(max_jobs))
        self.heartbeat_timeout = heartbeat_timeout
        self.keep_finished_s = keep_finished_s
        self._train_fn = train_fn
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}  # owner -> latest job
        self._ids = itertools.count(1)

    @property
    def enabled(self) -> bool:
        return self.max_jobs > 0

    def submit(
        self,
        owner: str,
        config: ModelConfig,
        recipe: Recipe,
        target_accuracy: float | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> TrainingJob:
        """Start a run for `owner`, or raise `JobRefused` saying why it cannot start now.

        The recipe is validated first (`ValueError` names the bad setting)."""
        recipe.validate()
        with self._lock:
            self._prune()
            if not self.enabled:
                raise JobRefused("Training is turned off on this server (SORTLIST_MAX_TRAINING_JOBS=0).")
            mine = self._jobs.get(owner)
            if mine is not None and mine.status == RUNNING:
                raise JobRefused(
                    "You already have a training run in progress: cancel it or wait for it to finish."
                )
            running = [j for j in self._jobs.values() if j.status == RUNNING]
            if len(running) >= self.max_jobs:
                raise JobRefused(self._busy_message(running))
            job = TrainingJob(
                next(self._ids),
                owner,
                config,
                recipe,
                target_accuracy,
                self.heartbeat_timeout,
                alive,
                self._train_fn,
                self._clock,
                self._job_finished,
            )
            self._jobs[owner] = job
            job._start()
            return job

    def _busy_message(self, running: list[TrainingJob]) -> str:
        waits = [s.eta_s for s in (j.snapshot() for j in running) if s.eta_s is not None]
        when = f" It should finish in about {duration_text(min(waits))}." if waits else ""
        who = (
            "Another learner's training run is" if len(running) == 1 else f"{len(running)} training runs are"
        )
        return (
            f"{who} using this server's training slot (at most {self.max_jobs} at a time, to keep the "
            f"app responsive for everyone).{when} Please try again then; everything else keeps working meanwhile."
        )

    def _job_finished(self, job: TrainingJob) -> None:
        with self._lock:
            self._prune()

    def _prune(self) -> None:
        """Forget finished jobs nobody collected (caller holds the lock)."""
        now = self._clock()
        for owner, job in list(self._jobs.items()):
            done_at = job.finished_at
            if done_at is not None and now - done_at > self.keep_finished_s:
                del self._jobs[owner]

    def job_of(self, owner: str) -> TrainingJob | None:
        """The owner's latest job (running, or finished and not yet dismissed)."""
        with self._lock:
            return self._jobs.get(owner)

    def dismiss(self, owner: str) -> None:
        """Forget the owner's finished job (a running one is cancelled first)."""
        with self._lock:
            job = self._jobs.pop(owner, None)
        if job is not None:
            job.cancel()

    def running(self) -> list[TrainingJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.status == RUNNING]

    def cancel_all(self, wait: float | None = None) -> None:
        """Stop every run (tests, shutdown)."""
        jobs = self.running()
        for job in jobs:
            job.cancel()
        if wait is not None:
            for job in jobs:
                job.join(wait)


def duration_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    return f"{math.ceil(seconds / 60)} min"


_MANAGER: ProcessWide[JobManager] = ProcessWide(JobManager)


def get_manager() -> JobManager:
    """The process-wide manager (one per server, shared by every session)."""
    return _MANAGER.get()


def set_manager(manager: JobManager | None) -> JobManager | None:
    """Replace the process-wide manager (tests); returns the previous one."""
    return _MANAGER.replace(manager)


def session_alive_probe(session_id: str) -> Callable[[], bool] | None:
    """`alive()` for a Streamlit session: True while its browser tab is connected to this
    server. None outside a running server (tests, bare mode): then only heartbeats count."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        runtime = Runtime.instance()
    except Exception:
        return None
    return lambda: runtime.is_active_session(session_id)


def describe(snapshot: JobSnapshot) -> dict[str, Any]:
    """A JSON-ready summary of a job (for the page's data download)."""
    return {
        "job_id": snapshot.job_id,
        "status": snapshot.status,
        "step": snapshot.step,
        "total_steps": snapshot.total_steps,
        "elapsed_s": round(snapshot.elapsed_s, 2),
        "config": snapshot.config.to_dict(),
        "recipe": snapshot.recipe.to_dict(),
        "curve": [c.__dict__ for c in snapshot.curve],
    }
