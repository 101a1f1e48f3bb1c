"""Storage and the instructor page stay bounded, against a real SQLite file and a
real PostgreSQL server: identical resubmissions are not new rows, attempts are capped per
learner/exercise and per learner, and the instructor's aggregates come from SQL, equal to the
same figures computed from every attempt row."""

from __future__ import annotations

import time

import pytest

from sortlist_progress import instructor
from sortlist_progress.postgres_store import PostgresStore
from sortlist_progress.sqlite_store import SqliteStore
from sortlist_progress.store import MAX_ANSWER_CHARS, new_learner_key

FP = "c" * 64


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request, tmp_path):
    opened = []
    target = tmp_path / "progress.sqlite3"
    if request.param == "postgres":
        target = request.getfixturevalue("postgres_url")

    def make(**options):
        store = (
            SqliteStore(target, **options) if request.param == "sqlite" else PostgresStore(target, **options)
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def _rows(store, fp: str = FP) -> int:
    return sum(a for m, a in store.class_overview().models if m == fp)


def test_resubmitting_identical_code_is_not_a_new_row(make_store):
    """The attack: three tabs resubmitting the same 100 kB code as fast as they can."""
    store, key = make_store(), new_learner_key()
    code = "x = 1\n" + "#" * (MAX_ANSWER_CHARS - 10)
    for _ in range(30):
        store.record_attempt(key, FP, "circuits.code", code, passed=False, kind="code")
    assert _rows(store) == 1
    store.record_attempt(key, FP, "circuits.code", code + "\n", passed=False, kind="code")  # changed: kept
    store.record_attempt(key, FP, "circuits.code", code, passed=False, kind="code")  # back again: kept
    assert [len(a.answer) for a in store.attempts(key, FP)] == [len(code), len(code) + 1, len(code)]


def test_passing_with_the_same_code_still_marks_solved(make_store):
    store, key = make_store(), new_learner_key()
    store.record_attempt(key, FP, "ex", "same", passed=True)
    store.record_attempt(key, FP, "ex", "same", passed=True)
    assert store.solved(key, FP) == {"ex"} and len(store.attempts(key, FP)) == 1


def test_attempts_are_capped_per_learner_and_exercise_newest_kept(make_store):
    clock = FakeClock()
    store, key, other = make_store(clock=clock), new_learner_key(), new_learner_key()
    store.max_attempts_per_exercise = 5
    store.record_attempt(key, FP, "ex", "right at first", passed=True)
    for i in range(12):
        clock.now += 1
        store.record_attempt(key, FP, "ex", f"variant {i}", passed=False)
        store.record_attempt(other, FP, "ex", f"other {i}", passed=False)
    kept = [a.answer for a in store.attempts(key, FP, "ex")]
    assert kept == [f"variant {i}" for i in range(7, 12)]
    assert len(store.attempts(other, FP, "ex")) == 5  # each learner has their own cap
    assert store.solved(key, FP) == {"ex"}  # solving is never pruned


def test_attempts_are_capped_per_learner_across_exercises_and_models(make_store):
    """Another door: spreading attempts over many exercise ids or uploaded models."""
    clock = FakeClock()
    store, key = make_store(clock=clock), new_learner_key()
    store.max_attempts_per_learner = 8
    for i in range(20):
        clock.now += 1
        store.record_attempt(key, f"{i:064x}", f"ex{i}", "a", passed=False)
    assert store.class_overview().attempts == 8


def test_sql_aggregates_equal_the_row_by_row_figures(make_store):
    clock = FakeClock()
    store = make_store(clock=clock)
    ada, bob, cy = new_learner_key(), new_learner_key(), new_learner_key()
    store.set_display_name(ada, "Ada")
    store.touch(cy)
    script = [
        (ada, "q1", "3", False),
        (ada, "q1", "5", True),
        (bob, "q1", "3", False),
        (bob, "q1", " 3 ", False),
        (bob, "q1", "4", False),
        (bob, "q1", "5", True),
        (ada, "q2", "x", False),
        (bob, "q2", "y", False),
        (bob, "q2", "def f(): pass", False, "code"),
    ]
    for key, ex, answer, ok, *kind in script:
        clock.now += 60
        store.record_attempt(key, FP, ex, answer, passed=ok, kind=kind[0] if kind else "answer")
    store.record_attempt(ada, "d" * 64, "q1", "9", passed=True)

    rows = store.class_attempts(FP)
    assert store.class_overview() == type(store.class_overview())(
        3, len(script) + 1, ((FP, 9), ("d" * 64, 1))
    )
    from_sql = instructor.stats_from_progress(store.class_exercise_progress(FP), order=["q2", "q1"])
    assert from_sql == instructor.exercise_stats(rows, order=["q2", "q1"])
    assert from_sql[1].median_attempts_to_solve == 3.0
    from_sql_wrong = instructor.wrong_answers_by_exercise(store.class_wrong_answers(FP, limit=5))
    assert from_sql_wrong == instructor.common_wrong_answers(rows, limit=5)
    assert [(w.answer, w.learners, w.times) for w in from_sql_wrong["q1"]] == [("3", 2, 3), ("4", 1, 1)]

    now = clock.now
    for minutes in (3, 7, 60):
        paged = instructor.stalled_page(store, FP, minutes=minutes, now=now)
        assert paged.learners == instructor.stalled_learners(rows, store.class_learners(), minutes, now)
        assert paged.total == len(paged.learners) and paged.pages == 1


def test_stalled_learners_come_one_page_at_a_time(make_store):
    clock = FakeClock()
    store = make_store(clock=clock)
    keys = [new_learner_key() for _ in range(7)]
    for key in keys:
        clock.now += 10
        store.touch(key)
    clock.now += 3600
    first = instructor.stalled_page(store, FP, minutes=15, now=clock.now, page=0, page_size=3)
    last = instructor.stalled_page(store, FP, minutes=15, now=clock.now, page=2, page_size=3)
    beyond = instructor.stalled_page(store, FP, minutes=15, now=clock.now, page=9, page_size=3)
    assert (first.total, first.pages, len(first.learners), len(last.learners)) == (7, 3, 3, 1)
    assert beyond.page == 2 and beyond.learners == last.learners
    seen = [
        s.learner_ref
        for p in range(3)
        for s in instructor.stalled_page(store, FP, 15, clock.now, p, page_size=3).learners
    ]
    assert len(set(seen)) == 7  # every learner once, longest-stalled first
    assert seen == [
        s.learner_ref for s in instructor.stalled_learners([], store.class_learners(), 15, clock.now)
    ]


def test_the_instructor_queries_do_not_grow_with_attempts(make_store):
    """A class of 30 with 2,000 stored attempts: what a rerun reads is a few dozen rows."""
    clock = FakeClock()
    store = make_store(clock=clock)
    keys = [new_learner_key() for _ in range(30)]
    for round_ in range(70):
        clock.now += 1
        for i, key in enumerate(keys[: 2000 // 70 + 1]):
            store.record_attempt(
                key, FP, f"ex{round_ % 5}", f"answer {round_}", passed=round_ == 69 and i % 2 == 0
            )
    overview = store.class_overview()
    assert overview.attempts >= 2000
    progress = store.class_exercise_progress(FP)
    assert len(progress) <= 5 * 30  # one row per (exercise, learner), not per attempt
    assert sum(r.attempts for r in progress) == overview.attempts
    assert (
        sum(len(v) for v in instructor.wrong_answers_by_exercise(store.class_wrong_answers(FP, 3)).values())
        <= 15
    )
    started = time.perf_counter()
    instructor.stalled_page(store, FP, 15, clock.now)
    assert time.perf_counter() - started < 5  # a sanity bound; speed is measured in bench/
