"""The progress store against a real SQLite file and a real PostgreSQL server (started by the
tests): records, isolation between learners, migrations, and the typed failures."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sortlist_progress import instructor
from sortlist_progress.errors import (
    InvalidLearnerKey,
    ProgressStoreError,
    SchemaTooNew,
    StoreUnavailable,
)
from sortlist_progress.factory import open_store
from sortlist_progress.migrations import MIGRATIONS, Migration, latest_version
from sortlist_progress.postgres_store import PostgresStore
from sortlist_progress.recorder import ProgressRecorder
from sortlist_progress.sqlite_store import SqliteStore
from sortlist_progress.store import (
    MAX_ANSWER_CHARS,
    default_data_dir,
    key_hash,
    new_learner_key,
)

ROOT = Path(__file__).resolve().parents[1]
FP = "a" * 64  # a model fingerprint (weights sha256)
OTHER_FP = "b" * 64


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(backend, tmp_path, request):
    """make_store(**options) -> a new store on this test's database (same one each call)."""
    opened = []
    target = tmp_path / "data" / "progress.sqlite3"
    if backend == "postgres":
        target = request.getfixturevalue("postgres_url")

    def make(**options):
        store = SqliteStore(target, **options) if backend == "sqlite" else PostgresStore(target, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


# --------------------------------------------------------------------------- records


def test_first_use_creates_the_schema_with_no_setup(store, backend, tmp_path):
    store.check()
    assert store.schema_version() == latest_version()
    if backend == "sqlite":
        assert store.path.exists() and store.path.parent == tmp_path / "data"
        assert store.journal_mode() == "wal"


def test_attempts_and_solved_round_trip_and_survive_a_new_process_store(store, make_store):
    key = new_learner_key()
    store.record_attempt(key, FP, "attention.first", "3", passed=False)
    store.record_attempt(key, FP, "attention.first", "5", passed=True)
    store.record_attempt(key, FP, "circuits.code", "def f(): ...", passed=False, kind="code")
    store.record_attempt(key, OTHER_FP, "attention.second", "x", passed=True)
    store.close()

    reopened = make_store()  # as after a server restart
    assert reopened.solved(key, FP) == {"attention.first"}
    assert reopened.solved(key, OTHER_FP) == {"attention.second"}
    history = reopened.attempts(key, FP)
    assert [(a.exercise_id, a.answer, a.passed, a.kind) for a in history] == [
        ("attention.first", "3", False, "answer"),
        ("attention.first", "5", True, "answer"),
        ("circuits.code", "def f(): ...", False, "code"),
    ]
    assert [a.answer for a in reopened.attempts(key, FP, "attention.first")] == ["3", "5"]
    assert history[0].at <= history[1].at <= history[2].at


def test_code_history_gives_the_count_and_last_code_per_exercise_on_another_device(store, make_store):
    key, other = new_learner_key(), new_learner_key()
    clock = FakeClock()
    store.record_attempt(key, FP, "circuits.full_ov", "v1", passed=False, kind="code", at=clock.now)
    store.record_attempt(key, FP, "circuits.full_ov", "v2", passed=True, kind="code", at=clock.now + 1)
    store.record_attempt(key, FP, "circuits.full_ov", "v3 wrong", passed=False, kind="code", at=clock.now + 2)
    store.record_attempt(key, FP, "problem.summary", "only", passed=False, kind="code", at=clock.now)
    store.record_attempt(key, FP, "attention.first", "3", passed=False)  # a quiz answer: not code
    store.record_attempt(key, OTHER_FP, "circuits.full_ov", "other model", passed=True, kind="code")
    store.record_attempt(other, FP, "circuits.full_ov", "someone else", passed=True, kind="code")
    # retried writes keep their original (older) time: order is by time, not by arrival
    store.record_attempt(key, FP, "problem.summary", "late retry of an old one", passed=False, kind="code",
                         at=clock.now - 10)  # fmt: skip
    store.close()

    device = make_store()  # another replica / device, same learner key
    history = device.code_history(key, FP)
    assert set(history) == {"circuits.full_ov", "problem.summary"}
    assert (history["circuits.full_ov"].attempts, history["circuits.full_ov"].last_code) == (3, "v3 wrong")
    assert (history["problem.summary"].attempts, history["problem.summary"].last_code) == (2, "only")
    assert device.code_history(key, OTHER_FP)["circuits.full_ov"].last_code == "other model"
    assert device.code_history(new_learner_key(), FP) == {}


def test_recorder_code_history_counts_attempts_still_queued(tmp_path):
    blocker = tmp_path / "data"
    store = SqliteStore(blocker / "progress.sqlite3")
    recorder = ProgressRecorder(store)
    key = new_learner_key()
    assert recorder.record(key, FP, "c", "saved", passed=False, kind="code").saved
    store.close()
    blocker.rename(tmp_path / "moved")
    blocker.write_text("a file where the data dir should be")
    broken = ProgressRecorder(SqliteStore(blocker / "progress.sqlite3"))
    assert not broken.record(key, FP, "c", "queued", passed=False, kind="code").saved
    with pytest.raises(ProgressStoreError):
        broken.code_history(key, FP)  # the store cannot be read: the caller shows the starter
    blocker.unlink()
    (tmp_path / "moved").rename(blocker)
    history = broken.code_history(key, FP)  # the store's attempt plus the one still queued
    assert (history["c"].attempts, history["c"].last_code) == (2, "queued")
    assert broken.retry().saved
    assert broken.code_history(key, FP)["c"].attempts == 2


def test_solved_stays_solved_after_a_later_wrong_answer(store):
    key = new_learner_key()
    store.record_attempt(key, FP, "ex", "right", passed=True)
    store.record_attempt(key, FP, "ex", "wrong", passed=False)
    assert store.solved(key, FP) == {"ex"}


def test_a_retried_attempt_id_is_stored_once(store):
    key = new_learner_key()
    for _ in range(3):
        store.record_attempt(key, FP, "ex", "7", passed=False, at=100.0, attempt_id="retry-me")
    assert len(store.attempts(key, FP)) == 1


def test_answers_are_stored_verbatim_and_nul_becomes_a_replacement_character(store):
    key = new_learner_key()
    hostile = "'); DROP TABLE attempts; -- ü \" ? %s {}"
    store.record_attempt(key, FP, "ex'; --", hostile, passed=False)
    store.record_attempt(key, FP, "ex2", "a\x00b", passed=False)
    answers = {a.exercise_id: a.answer for a in store.attempts(key, FP)}
    assert answers == {"ex'; --": hostile, "ex2": "a\ufffdb"}


def test_bad_input_is_rejected_before_anything_is_stored(store):
    key = new_learner_key()
    with pytest.raises(ValueError, match="too long"):
        store.record_attempt(key, FP, "ex", "x" * (MAX_ANSWER_CHARS + 1), passed=True)
    with pytest.raises(ValueError, match="kind"):
        store.record_attempt(key, FP, "ex", "x", passed=True, kind="shell")
    assert store.attempts(key, FP) == [] and store.learner(key) is None


def test_display_name_is_optional_cleaned_and_clearable(store):
    key = new_learner_key()
    assert store.learner(key) is None
    assert store.set_display_name(key, "  Ada\u0007 Lovelace  ") == "Ada Lovelace"
    assert store.learner(key).display_name == "Ada Lovelace"
    assert store.set_display_name(key, "x" * 100) == "x" * 40
    assert store.set_display_name(key, "") is None
    assert store.learner(key).display_name is None


def test_touch_creates_the_learner_and_moves_last_seen_forward(make_store):
    clock = FakeClock()
    store = make_store(clock=clock)
    key = new_learner_key()
    store.touch(key)
    first = store.learner(key)
    clock.now += 60
    store.touch(key)
    second = store.learner(key)
    assert second.created_at == first.created_at
    assert (second.last_seen_at - first.last_seen_at).total_seconds() == pytest.approx(60)


# --------------------------------------------------------------------------- isolation


def test_learner_keys_are_random_urlsafe_and_at_least_128_bits():
    keys = {new_learner_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(key) * 6 >= 128
        key_hash(key)  # accepted


@pytest.mark.parametrize(
    "bad", ["", "1", "short", "x" * 21, "' OR '1'='1' -- padding padding", "a" * 22 + "/", 12345]
)
def test_malformed_keys_are_rejected(store, bad):
    with pytest.raises(InvalidLearnerKey):
        store.solved(bad, FP)
    with pytest.raises(InvalidLearnerKey):
        store.record_attempt(bad, FP, "ex", "1", passed=True)


def test_one_learner_cannot_read_or_change_another_learners_progress(store):
    alice, bob = new_learner_key(), new_learner_key()
    store.record_attempt(alice, FP, "ex", "alice's answer", passed=True)
    store.set_display_name(alice, "Alice")
    # Bob has only his own key: everything he can call is scoped to it.
    assert store.solved(bob, FP) == set()
    assert store.attempts(bob, FP) == []
    assert store.learner(bob) is None
    store.record_attempt(bob, FP, "ex", "bob's answer", passed=False)
    store.set_display_name(bob, "Bob")
    assert [a.answer for a in store.attempts(alice, FP)] == ["alice's answer"]
    assert store.solved(alice, FP) == {"ex"}
    assert store.learner(alice).display_name == "Alice"
    # Editing a key by one character (what an edited URL would do) reaches nobody's progress.
    tampered = alice[:-1] + ("A" if alice[-1] != "A" else "B")
    assert store.solved(tampered, FP) == set() and store.attempts(tampered, FP) == []


def test_keys_are_never_stored_or_shown_to_the_instructor(store, backend):
    key = new_learner_key()
    store.record_attempt(key, FP, "ex", "42", passed=True)
    store.set_display_name(key, "Grace")
    rows = store.class_attempts(FP)
    shown = repr(rows) + repr(store.class_learners()) + instructor.attempts_csv(rows)
    assert key not in shown and key_hash(key) not in shown
    assert rows[0].learner_ref == key_hash(key)[: len(rows[0].learner_ref)]
    store.close()
    if backend == "sqlite":
        stored = b"".join(p.read_bytes() for p in store.path.parent.iterdir())
        assert key.encode() not in stored and key_hash(key).encode() in stored


# --------------------------------------------------------------------------- migrations


def test_migrations_are_idempotent(make_store):
    for _ in range(3):
        make_store().check()
    store = make_store()
    versions = store._run(
        lambda cur: store._execute(cur, "SELECT version FROM schema_version").fetchall(), write=False
    )
    assert [v[0] for v in versions] == [m.version for m in MIGRATIONS]


def test_replicas_starting_at_once_migrate_exactly_once(make_store, backend):
    options = {"busy_timeout": 30} if backend == "sqlite" else {}
    stores = [make_store(**options) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    errors = []

    def start(store):
        barrier.wait()
        try:
            store.record_attempt(new_learner_key(), FP, "ex", "1", passed=True)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    rows = stores[0]._run(
        lambda cur: stores[0]._execute(cur, "SELECT version FROM schema_version").fetchall(), write=False
    )
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]
    assert len(stores[0].class_attempts(FP)) == len(stores)


def test_a_new_migration_upgrades_an_existing_database(make_store):
    key = new_learner_key()
    make_store().record_attempt(key, FP, "ex", "1", passed=True)
    v2 = Migration(
        latest_version() + 1,
        "test: a note per learner",
        ("ALTER TABLE learners ADD COLUMN note TEXT",),
        ("ALTER TABLE learners ADD COLUMN note TEXT",),
    )
    upgraded = make_store(migrations=(*MIGRATIONS, v2))
    assert upgraded.schema_version() == v2.version
    assert upgraded.solved(key, FP) == {"ex"}
    notes = upgraded._run(
        lambda cur: upgraded._execute(cur, "SELECT note FROM learners").fetchall(), write=False
    )
    assert notes == [(None,)]


def test_a_database_from_a_newer_sortlist_is_refused_clearly(make_store):
    newer = Migration(latest_version() + 1, "test: newer", ("SELECT 1",), ("SELECT 1",))
    make_store(migrations=(*MIGRATIONS, newer)).check()
    with pytest.raises(SchemaTooNew, match=f"schema version {newer.version}"):
        make_store().check()


# --------------------------------------------------------------------------- instructor data


def test_class_records_feed_the_instructor_aggregates(make_store):
    clock = FakeClock()
    store = make_store(clock=clock)
    ada, bob, cy = new_learner_key(), new_learner_key(), new_learner_key()
    store.set_display_name(ada, "Ada")
    store.touch(cy)  # joined, never answered
    script = [
        (ada, "q1", "3", False),
        (ada, "q1", "5", True),
        (bob, "q1", "3", False),
        (bob, "q1", " 3 ", False),
        (bob, "q1", "4", False),
        (bob, "q1", "5", True),
        (ada, "q2", "x", False),
        (bob, "q2", "y", False),
    ]
    for key, ex, answer, ok in script:
        clock.now += 60
        store.record_attempt(key, FP, ex, answer, passed=ok)
    store.record_attempt(ada, OTHER_FP, "q1", "9", passed=True)  # another model: not in FP's view

    rows = store.class_attempts(FP)
    assert len(rows) == len(script)
    stats = {s.exercise_id: s for s in instructor.exercise_stats(rows, order=["q2", "q1"])}
    assert list(stats) == ["q2", "q1"]
    assert (stats["q1"].learners_tried, stats["q1"].learners_solved, stats["q1"].solve_rate) == (2, 2, 1.0)
    assert stats["q1"].median_attempts_to_solve == 3.0  # ada 2, bob 4
    assert (stats["q2"].learners_solved, stats["q2"].median_attempts_to_solve) == (0, None)
    wrong = instructor.common_wrong_answers(rows)
    assert [(w.answer, w.learners, w.times) for w in wrong["q1"]] == [("3", 2, 3), ("4", 1, 1)]

    now = clock.now
    stalled = instructor.stalled_learners(rows, store.class_learners(), minutes=3, now=now)
    by_ref = {s.learner_ref: s for s in stalled}
    ada_row = next(r for r in rows if r.display_name == "Ada")
    assert ada_row.learner_ref in by_ref and by_ref[ada_row.learner_ref].attempts_since_progress == 1
    # ada last solved 6 minutes ago, cy joined 8 minutes ago and never solved; bob solved 2 ago
    assert len(stalled) == 2 and stalled[-1].solved == 1
    never = [s for s in stalled if s.solved == 0]
    assert len(never) == 1 and never[0].last_attempt_at is None and never[0].label.startswith("learner ")
    assert instructor.stalled_learners(rows, store.class_learners(), minutes=7, now=now) == never
    assert [a.answer for a in store.class_attempts(FP, since=now - 120)] == ["5", "x", "y"]


# --------------------------------------------------------------------------- configuration


def test_open_store_picks_sqlite_in_the_data_dir_or_postgres_from_the_url(tmp_path):
    store = open_store({"SORTLIST_DATA_DIR": str(tmp_path / "d")})
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "d" / "progress.sqlite3"
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/sortlist")
    assert default_data_dir({"HOME": "/h"}).name == "sortlist"
    pg = open_store({"SORTLIST_DATABASE_URL": "postgresql://u:secret@127.0.0.1:1/db"})
    assert isinstance(pg, PostgresStore) and "secret" not in pg.describe()


def test_an_unusable_data_dir_is_a_clear_error_not_a_crash(tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    store = open_store({"SORTLIST_DATA_DIR": str(tmp_path / "a_file" / "sub")})
    key = new_learner_key()
    with pytest.raises(StoreUnavailable) as info:
        store.record_attempt(key, FP, "ex", "1", passed=True)
    assert "a_file" in str(info.value) and info.value.user_message.startswith("Progress is not being saved")
    recorder = ProgressRecorder(store)
    result = recorder.record(key, FP, "ex", "1", passed=True)
    assert not result.saved and result.pending == 1 and "not being saved" in result.message


def test_recorder_queues_while_the_store_fails_and_flushes_in_order_once_it_is_back(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data dir should be")
    store = SqliteStore(blocker / "progress.sqlite3")
    recorder = ProgressRecorder(store)
    key = new_learner_key()
    first = recorder.record(key, FP, "q1", "1", passed=False)
    second = recorder.record(key, FP, "q1", "2", passed=True)
    assert (first.saved, second.saved, second.pending) == (False, False, 2)
    assert isinstance(second.error, ProgressStoreError)
    assert recorder.retry().pending == 2
    blocker.unlink()  # the disk problem is fixed
    third = recorder.record(key, FP, "q2", "3", passed=True)
    assert third.saved and third.pending == 0 and third.message == ""
    assert [a.answer for a in store.attempts(key, FP)] == ["1", "2", "3"]
    assert store.solved(key, FP) == {"q1", "q2"}
    assert recorder.retry().saved and len(store.attempts(key, FP)) == 3


def test_recorder_rejects_bad_input_at_once_instead_of_queueing_it(tmp_path):
    recorder = ProgressRecorder(SqliteStore(tmp_path / "p.sqlite3"))
    with pytest.raises(InvalidLearnerKey):
        recorder.record("not-a-key", FP, "ex", "1", passed=True)
    assert recorder.pending == 0


def test_sqlite_connection_uses_full_sync_for_durable_acknowledgements(tmp_path):
    store = SqliteStore(tmp_path / "p.sqlite3")
    store.check()
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert isinstance(store._conn, sqlite3.Connection)


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sortlist_progress", *args],
        cwd=ROOT,
        env={**os.environ, "SORTLIST_DATABASE_URL": "", "SORTLIST_DATA_DIR": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_checks_the_configured_store_and_exports_csv(backend, tmp_path, request):
    if backend == "sqlite":
        env = {"SORTLIST_DATA_DIR": str(tmp_path / "data")}
    else:
        env = {"SORTLIST_DATABASE_URL": request.getfixturevalue("postgres_url")}
    key = new_learner_key()
    with open_store(env) as store:
        store.record_attempt(key, FP, "q1", "=1+1", passed=False)
        store.record_attempt(key, OTHER_FP, "q1", "2", passed=True)
    check = run_cli("check", env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok: ") and "learners: 1" in check.stdout
    exported = run_cli("export", "--model", FP, env=env)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert len(lines) == 2 and "'=1+1" in lines[1] and key not in exported.stdout
    out = tmp_path / "class.csv"  # the README's command
    assert run_cli("export", "--out", str(out), env=env).returncode == 0
    assert len(out.read_text().splitlines()) == 3  # header + both models' attempts


def test_cli_reports_an_unreachable_database_with_exit_code_1():
    result = run_cli("check", env={"SORTLIST_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: Progress is not being saved") and ":pw@" not in result.stderr
