"""Failover: a class of 60 on 2 replicas behind nginx, sharing PostgreSQL; one replica killed.

The same real components as `tests/test_classroom_scaleout.py` (harness/): a PostgreSQL
cluster in a temp dir, two replicas started with the README's command (`PORT=... bash
scripts/run.sh`), nginx with `deploy/nginx`'s config, and learners driving Streamlit sessions
through the agent API with their own cookie jars. Each learner opens the Problem page by its
resume link and answers twice (saved); then one replica gets SIGKILL and every learner answers
once more. Learners of the dead replica reconnect through nginx by their resume link.

Measured: for the learners that moved, the time from their first failed request to their answer
acknowledged by the other replica (p50 / p95); baseline: the same answer for the learners whose
replica stayed up. Target: every learner's acknowledged answers are in PostgreSQL, and every
learner that moved finds its progress on the other replica.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .common import ERROR, Context, Row, Target, error_row, median, percentile
from .deployment import classroom_deployment

FIGURE = "failover"
TARGET = "all progress intact"


def _run(ctx: Context, n: int) -> dict:
    from harness.app_learners import EXERCISE, AgentLearner, sep_answers
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_progress import new_learner_key, open_store

    model = load_checkpoint(ctx.model_path, name=ctx.model_label)
    right, wrong = sep_answers(model)
    with classroom_deployment(ctx, replicas=2) as deployment:
        learners = [AgentLearner(deployment.base_url, new_learner_key()) for _ in range(n)]

        def first(learner: AgentLearner) -> None:
            learner.open()
            learner.answer(wrong)
            learner.answer(right)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(first, learners))
        deployment.replicas[0].kill()
        moved: list[float] = []
        stayed: list[float] = []
        progress_after_move: list[int] = []
        lock = threading.Lock()

        def second(learner: AgentLearner) -> None:
            t0 = time.perf_counter()
            before = learner.reconnects
            learner.answer_reconnecting(wrong)
            seconds = time.perf_counter() - t0
            with lock:
                (moved if learner.reconnects > before else stayed).append(seconds)
            if learner.reconnects > before:
                shown = learner.progress(learner.open())
                with lock:
                    progress_after_move.append(shown)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(second, learners))
        intact = 0
        with open_store({"SORTLIST_DATABASE_URL": deployment.database_url}) as store:
            for learner in learners:
                stored = [
                    (a.answer, a.passed) for a in store.attempts(learner.key, model.weights_sha256, EXERCISE)
                ]
                it = iter(stored)
                if len(learner.acknowledged) == 3 and all(item in it for item in learner.acknowledged):
                    intact += 1
    return {
        "n": n,
        "moved_s": moved,
        "stayed_s": stayed,
        "moved_progress_ok": sum(1 for p in progress_after_move if p == 1),
        "intact": intact,
    }


def run(ctx: Context) -> list[Row]:
    n = 10 if ctx.quick else 60  # 10: both replicas get learners (all on one: 2 in 1024)
    name = f"failover: {n} learners on 2 replicas + nginx + PostgreSQL, one replica killed"
    try:
        r = _run(ctx, n)
    except Exception as exc:  # noqa: BLE001
        return [error_row(FIGURE, name, exc, TARGET)]
    moved, stayed = r["moved_s"], r["stayed_s"]
    if not moved:
        return [error_row(FIGURE, name, "the killed replica served no learner", TARGET)]
    p50, p95 = percentile(moved, 50), percentile(moved, 95)
    base = median(stayed) if stayed else None
    ok = r["intact"] == n and r["moved_progress_ok"] == len(moved)
    row = Row(
        FIGURE,
        name,
        value=p50,
        unit="s",
        baseline=base,
        baseline_label="the same answer, replica still up",
        ratio=p50 / base if base else None,
        ratio_label="× (moved / stayed, p50)",
        target=TARGET,
        targets=(Target("intact", ">=", n),),
        display=(
            f"{r['intact']}/{n} intact; {len(moved)} moved, progress shown {r['moved_progress_ok']}/{len(moved)}; "
            f"answer after the kill p50 {p50:.2f} s, p95 {p95:.2f} s"
        ),
        note="moved = learners of the killed replica, reconnected through nginx by their resume link",
        details=r,
    )
    if not ok:
        row.status, row.error = (
            ERROR,
            f"progress lost: {r['intact']}/{n} intact, {r['moved_progress_ok']} shown",
        )
    return [row]
