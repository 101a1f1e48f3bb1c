"""The server-wide training job manager: one run at a time, cancel, heartbeat timeout.

Most tests drive a fake `train` that steps until told to stop (fast and deterministic); one runs
the real trainer on a tiny config end to end.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from sortlist_app.server import training_jobs as tj
from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.training import TrainProgress

from .tiny import TINY, tiny_recipe

TINY_RECIPE = tiny_recipe(n_train=64 * 40, batch_size=64, warmup_steps=2, seed=1, val_size=200, eval_every=10)


class FakeTrain:
    """Reports a step every `dt` seconds until `should_stop()` or `steps` steps."""

    def __init__(self, steps: int = 10_000, dt: float = 0.002, fail: bool = False):
        self.steps, self.dt, self.fail = steps, dt, fail
        self.stopped_by_flag = threading.Event()

    def __call__(self, config, recipe, progress=None, should_stop=None, target_accuracy=None):
        if self.fail:
            raise RuntimeError("boom")
        for step in range(1, self.steps + 1):
            time.sleep(self.dt)
            if progress:
                progress(
                    TrainProgress(
                        step, self.steps, 0, 1.0 / step, 0.5 if step % 10 == 0 else None, step * self.dt
                    )
                )
            if should_stop and should_stop():
                self.stopped_by_flag.set()
                break
        return "result"


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_second_job_is_refused_while_one_runs_and_allowed_after():
    fake = FakeTrain()
    manager = tj.JobManager(max_jobs=1, train_fn=fake)
    first = manager.submit("session-a", TINY, TINY_RECIPE)
    try:
        assert _wait_for(lambda: first.snapshot().step > 0)
        with pytest.raises(tj.JobRefused, match="training slot"):
            manager.submit("session-b", TINY, TINY_RECIPE)
        with pytest.raises(tj.JobRefused, match="already have a training run"):
            manager.submit("session-a", TINY, TINY_RECIPE)
        assert manager.job_of("session-b") is None  # the refused session got nothing
        assert [j.owner for j in manager.running()] == ["session-a"]
    finally:
        first.cancel()
        assert first.join(5)
    assert first.status == tj.CANCELLED
    second = manager.submit("session-b", TINY, TINY_RECIPE)
    second.cancel()
    assert second.join(5)


def test_max_jobs_two_allows_two_and_zero_disables(monkeypatch):
    manager = tj.JobManager(max_jobs=2, train_fn=FakeTrain())
    a = manager.submit("a", TINY, TINY_RECIPE)
    b = manager.submit("b", TINY, TINY_RECIPE)
    with pytest.raises(tj.JobRefused):
        manager.submit("c", TINY, TINY_RECIPE)
    manager.cancel_all(wait=5)
    assert a.status == b.status == tj.CANCELLED
    off = tj.JobManager(max_jobs=0, train_fn=FakeTrain())
    with pytest.raises(tj.JobRefused, match="turned off"):
        off.submit("a", TINY, TINY_RECIPE)
    monkeypatch.setenv(tj.MAX_JOBS_ENV, "3")
    assert tj.JobManager().max_jobs == 3
    monkeypatch.setenv(tj.MAX_JOBS_ENV, "lots")
    assert tj.JobManager().max_jobs == tj.DEFAULT_MAX_JOBS


def test_cancel_stops_the_run_promptly():
    fake = FakeTrain()
    manager = tj.JobManager(max_jobs=1, train_fn=fake)
    job = manager.submit("a", TINY, TINY_RECIPE)
    assert _wait_for(lambda: job.snapshot().step >= 3)
    job.cancel()
    assert job.join(5)
    snap = job.snapshot()
    assert snap.status == tj.CANCELLED and not snap.running
    assert fake.stopped_by_flag.is_set()
    assert snap.step < fake.steps


def test_heartbeat_timeout_stops_an_abandoned_run():
    fake = FakeTrain()
    manager = tj.JobManager(max_jobs=1, train_fn=fake, heartbeat_timeout=0.3)
    job = manager.submit("a", TINY, TINY_RECIPE)
    assert job.join(10), "no heartbeat: the job must stop by itself"
    assert job.status == tj.ABANDONED
    assert manager.running() == []


def test_heartbeats_keep_a_run_alive_and_alive_probe_counts_as_heartbeat():
    manager = tj.JobManager(max_jobs=1, train_fn=FakeTrain(), heartbeat_timeout=0.2)
    job = manager.submit("a", TINY, TINY_RECIPE)
    for _ in range(8):  # 0.8 s > 4 timeouts
        time.sleep(0.1)
        job.heartbeat()
    assert job.status == tj.RUNNING
    job.cancel()
    job.join(5)

    connected = threading.Event()
    connected.set()
    probed = tj.JobManager(max_jobs=1, train_fn=FakeTrain(), heartbeat_timeout=0.2)
    job = probed.submit("b", TINY, TINY_RECIPE, alive=connected.is_set)
    time.sleep(0.6)
    assert job.status == tj.RUNNING  # tab still connected, learner on another page
    connected.clear()  # tab closed
    assert job.join(5)
    assert job.status == tj.ABANDONED


def test_failure_is_reported_not_raised():
    manager = tj.JobManager(max_jobs=1, train_fn=FakeTrain(fail=True))
    job = manager.submit("a", TINY, TINY_RECIPE)
    assert job.join(5)
    snap = job.snapshot()
    assert snap.status == tj.FAILED and "boom" in snap.error and snap.result is None


def test_bad_recipe_is_rejected_before_starting():
    manager = tj.JobManager(max_jobs=1, train_fn=FakeTrain())
    with pytest.raises(ValueError, match="epochs"):
        manager.submit("a", TINY, replace(TINY_RECIPE, epochs=0))
    assert manager.running() == []


def test_curve_is_thinned_but_keeps_validation_points():
    manager = tj.JobManager(max_jobs=1, train_fn=FakeTrain(steps=2000, dt=0.0))
    job = manager.submit("a", TINY, TINY_RECIPE)
    job.heartbeat()
    assert job.join(20)
    snap = job.snapshot()
    assert snap.status == tj.DONE and snap.step == 2000 and snap.fraction == 1.0
    assert len(snap.curve) <= tj.MAX_CURVE_POINTS + 1
    assert sum(c.val_accuracy is not None for c in snap.curve) == 200
    assert snap.curve[-1].step == 2000


def test_finished_jobs_are_pruned_after_keep_time():
    now = [0.0]
    manager = tj.JobManager(
        max_jobs=1, train_fn=FakeTrain(steps=3, dt=0.0), clock=lambda: now[0], keep_finished_s=10
    )
    job = manager.submit("a", TINY, TINY_RECIPE)
    assert job.join(5)
    assert manager.job_of("a") is job
    now[0] = 11.0
    manager.submit("b", TINY, TINY_RECIPE).join(5)
    assert manager.job_of("a") is None


def test_real_training_end_to_end_gives_a_loadable_model(tmp_path):
    manager = tj.JobManager(max_jobs=1)
    job = manager.submit("a", TINY, TINY_RECIPE)
    while not job.join(0.2):
        job.heartbeat()
    snap = job.snapshot()
    assert snap.status == tj.DONE, snap.error
    assert snap.step == TINY_RECIPE.total_steps
    assert any(c.val_accuracy is not None for c in snap.curve)
    result = snap.result
    assert result.model.config == TINY
    path = result.save(tmp_path / "m.pt")
    assert load_checkpoint(path).weights_sha256 == result.model.weights_sha256


def test_training_limits_follow_hosted_mode(monkeypatch):
    monkeypatch.delenv(tj.HOSTED_ENV, raising=False)
    local = tj.training_limits()
    monkeypatch.setenv(tj.HOSTED_ENV, "1")
    hosted = tj.training_limits()
    assert hosted.hosted and not local.hosted
    assert hosted.max_steps < local.max_steps
