"""Instructor page: what one rerun reads from the progress store for a class, measured on a real
SQLite file. The page's reads (counts, per-exercise aggregates, ranked wrong answers, one page of
learners without progress; all in SQL) against the baseline of loading every attempt and
computing the same figures in Python, as the page did before. A class of 60 learners, each with
100 different code checks of 20 kB over 10 exercises (6,000 rows, under the caps); --quick: 20
learners with 30 checks."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .common import Context, Row, Target, median

FIGURE = "instructor page"
TARGET = Target("value", "<=", 100.0)
FP = "f" * 64


def run(ctx: Context) -> list[Row]:
    from sortlist_progress import instructor
    from sortlist_progress.sqlite_store import SqliteStore
    from sortlist_progress.store import new_learner_key

    n_learners, n_checks = (20, 30) if ctx.quick else (60, 100)
    now = [1_800_000_000.0]
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "progress.sqlite3", clock=lambda: now[0])
        keys = [new_learner_key() for _ in range(n_learners)]
        code = "x = 1\n" + "#" * 20_000
        for r in range(n_checks):
            for i, key in enumerate(keys):
                now[0] += 0.01
                passed = r == n_checks - 1 and i % 3 == 0
                store.record_attempt(key, FP, f"ex{r % 10}", f"{code}{r}", passed, kind="code")
        stored = store.class_overview().attempts

        def page_reads() -> None:
            store.class_overview()
            instructor.stats_from_progress(store.class_exercise_progress(FP))
            instructor.wrong_answers_by_exercise(store.class_wrong_answers(FP, 3))
            instructor.stalled_page(store, FP, 15, now[0])

        def every_attempt() -> None:
            rows = store.class_attempts(FP)
            instructor.exercise_stats(rows)
            instructor.common_wrong_answers(rows)
            instructor.stalled_learners(rows, store.class_learners(), 15, now[0])

        timings: dict[str, list[float]] = {"page": [], "all": []}
        for name, call in (("page", page_reads), ("all", every_attempt)):
            call()  # warm the file cache
            for _ in range(ctx.reps(5)):
                t0 = time.perf_counter()
                call()
                timings[name].append((time.perf_counter() - t0) * 1000)
        store.close()
    value, base = median(timings["page"]), median(timings["all"])
    return [
        Row(
            FIGURE,
            f"instructor page: one rerun's reads, {n_learners} learners, {stored:,} stored attempts of 20 kB",
            value=value,
            unit="ms",
            baseline=base,
            baseline_label="loading every attempt",
            ratio=base / value,
            ratio_label="× faster",
            target="≤ 100 ms",
            targets=(TARGET,),
            note=f"{n_learners * n_checks:,} different checks submitted over 10 exercises, {stored:,} stored",
            details={"page_ms": timings["page"], "every_attempt_ms": timings["all"], "stored": stored},
        )
    ]
