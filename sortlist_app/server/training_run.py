"""One training run in a daemon thread (`TrainingJob`), what the page sees of it (`JobSnapshot`,
a loss curve thinned to about `MAX_CURVE_POINTS`) and when it stops: its owner cancels it, its
heartbeat goes stale (the tab closed), or training ends. `training_jobs.JobManager` starts them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sortlist_core.config import ModelConfig
from sortlist_core.training import Recipe, TrainProgress, TrainResult

MAX_CURVE_POINTS = 400  # the loss curve kept per job is thinned to about this many points

# Job states
RUNNING = "running"
DONE = "done"  # all steps ran, or the target accuracy was reached
CANCELLED = "cancelled"  # the owner pressed cancel
ABANDONED = "abandoned"  # the heartbeat went stale (tab closed)
FAILED = "failed"


@dataclass(frozen=True)
class CurvePoint:
    step: int
    loss: float
    val_accuracy: float | None
    elapsed_s: float


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable view of a job at one moment (safe to render from any thread)."""

    job_id: int
    owner: str
    status: str
    config: ModelConfig
    recipe: Recipe
    step: int
    total_steps: int
    curve: tuple[CurvePoint, ...]
    started_s: float  # clock() at start
    elapsed_s: float
    last_val_accuracy: float | None
    result: TrainResult | None = field(repr=False)
    error: str | None

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current pace (None before the first step)."""
        if not self.running or self.step == 0:
            return None
        return self.elapsed_s / self.step * (self.total_steps - self.step)


class TrainingJob:
    """One training run in a daemon thread. Create through `JobManager.submit`."""

    def __init__(
        self,
        job_id: int,
        owner: str,
        config: ModelConfig,
        recipe: Recipe,
        target_accuracy: float | None,
        heartbeat_timeout: float,
        alive: Callable[[], bool] | None,
        train_fn: Callable[..., TrainResult],
        clock: Callable[[], float],
        on_finish: Callable[[TrainingJob], None],
    ):
        self.job_id = job_id
        self.owner = owner
        self.config = config
        self.recipe = recipe
        self.target_accuracy = target_accuracy
        self.heartbeat_timeout = heartbeat_timeout
        self._alive = alive
        self._train_fn = train_fn
        self._clock = clock
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_status = CANCELLED
        self._status = RUNNING
        self._step = 0
        self._total = recipe.total_steps
        self._curve: list[CurvePoint] = []
        self._curve_stride = 1
        self._last_val: float | None = None
        self._result: TrainResult | None = None
        self._error: str | None = None
        self._started = clock()
        self._finished: float | None = None
        self._heartbeat = self._started
        self._thread = threading.Thread(target=self._run, name=f"sortlist-train-{job_id}", daemon=True)

    # -------------------------------------------------------------- control (any thread)

    def heartbeat(self) -> None:
        """The owner's page is still showing this job: keep it running."""
        with self._lock:
            self._heartbeat = self._clock()

    def cancel(self, status: str = CANCELLED) -> None:
        """Ask the run to stop after its current step (it keeps its best weights so far)."""
        with self._lock:
            if self._status == RUNNING and not self._stop.is_set():
                self._stop_status = status
                self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished_at(self) -> float | None:
        with self._lock:
            return self._finished

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            end = self._finished if self._finished is not None else self._clock()
            return JobSnapshot(
                job_id=self.job_id,
                owner=self.owner,
                status=self._status,
                config=self.config,
                recipe=self.recipe,
                step=self._step,
                total_steps=self._total,
                curve=tuple(self._curve),
                started_s=self._started,
                elapsed_s=max(0.0, end - self._started),
                last_val_accuracy=self._last_val,
                result=self._result,
                error=self._error,
            )

    # -------------------------------------------------------------- the training thread

    def _start(self) -> None:
        self._thread.start()

    def _should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        now = self._clock()
        with self._lock:
            stale = now - self._heartbeat > self.heartbeat_timeout
        if stale and self._alive is not None:
            try:
                still_there = bool(self._alive())
            except Exception:  # a probe that fails counts as "gone"
                still_there = False
            if still_there:
                self.heartbeat()
                return False
        if stale:
            self.cancel(ABANDONED)
            return True
        return False

    def _on_progress(self, p: TrainProgress) -> None:
        with self._lock:
            self._step, self._total = p.step, p.total_steps
            if p.val_accuracy is not None:
                self._last_val = p.val_accuracy
            if p.val_accuracy is not None or p.step % self._curve_stride == 0 or p.step == p.total_steps:
                self._curve.append(CurvePoint(p.step, p.loss, p.val_accuracy, p.elapsed_s))
            if len(self._curve) > MAX_CURVE_POINTS:  # thin: keep validation points and every other step
                self._curve_stride *= 2
                self._curve = [
                    c
                    for i, c in enumerate(self._curve)
                    if c.val_accuracy is not None or i % 2 == 0 or i == len(self._curve) - 1
                ]

    def _run(self) -> None:
        status, result, error = DONE, None, None
        try:
            result = self._train_fn(
                self.config,
                self.recipe,
                progress=self._on_progress,
                should_stop=self._should_stop,
                target_accuracy=self.target_accuracy,
            )
            if self._stop.is_set():
                status = self._stop_status
        except Exception as exc:  # reported to the owner, never raised into the server
            status, error = FAILED, f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._status, self._result, self._error = status, result, error
            self._finished = self._clock()
        self._on_finish(self)
