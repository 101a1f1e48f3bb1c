"""The store's failures, each produced for real: a corrupt and a locked SQLite file, a full
disk (a 1 MB tmpfs), a PostgreSQL server that is stopped, restarted, hung or holding a lock.
Each must surface as its typed error with a clear message, and the store must recover."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time

import psycopg
import pytest

from harness.postgres import PostgresCluster, pg_bindir
from sortlist_progress.errors import StoreCorrupt, StoreFull, StoreLocked, StoreUnavailable
from sortlist_progress.postgres_store import PostgresStore
from sortlist_progress.recorder import ProgressRecorder
from sortlist_progress.sqlite_store import SqliteStore
from sortlist_progress.store import new_learner_key

FP = "f" * 64

# --------------------------------------------------------------------------- SQLite


def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(os.urandom(8192))
    store = SqliteStore(path)
    with pytest.raises(StoreCorrupt) as info:
        store.record_attempt(new_learner_key(), FP, "ex", "1", passed=True)
    assert str(path) in str(info.value) and "move the file" in str(info.value)
    assert info.value.user_message == "Progress is not being saved: the progress file is damaged."
    result = ProgressRecorder(store).record(new_learner_key(), FP, "ex", "1", passed=True)
    assert not result.saved and isinstance(result.error, StoreCorrupt)


def test_damaged_pages_in_a_real_database_are_found_at_open(tmp_path):
    path = tmp_path / "progress.sqlite3"
    with SqliteStore(path) as store:
        key = new_learner_key()
        for i in range(300):
            store.record_attempt(key, FP, f"ex{i}", "answer " * 20, passed=i % 2 == 0)
    size = path.stat().st_size
    assert size > 16 * 4096  # many pages, header intact below
    with path.open("r+b") as f:  # overwrite everything after the first two pages
        f.seek(2 * 4096)
        f.write(b"\xa5" * (size - 2 * 4096))
    with pytest.raises(StoreCorrupt, match="progress.sqlite3"):
        SqliteStore(path).solved(key, FP)


def test_a_lock_held_by_another_connection_is_reported_after_the_busy_timeout(tmp_path):
    path = tmp_path / "progress.sqlite3"
    store = SqliteStore(path, busy_timeout=0.2)
    key = new_learner_key()
    store.record_attempt(key, FP, "ex", "before", passed=False)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing (and not finishing)
    try:
        with pytest.raises(StoreLocked) as info:
            store.record_attempt(key, FP, "ex", "during", passed=True)
        assert "locked" in info.value.user_message and "0.2 s" in str(info.value)
        assert [a.answer for a in store.attempts(key, FP)] == ["before"]  # WAL: reads still work
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.record_attempt(key, FP, "ex", "after", passed=True)
    assert [a.answer for a in store.attempts(key, FP)] == ["before", "after"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs: a real full disk. Needs root (mount); skipped with the reason otherwise."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a 1 MB tmpfs")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs (needs root / CAP_SYS_ADMIN): {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_disk_is_reported_and_writing_resumes_once_space_is_freed(tiny_disk):
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * 600_000)  # what else fills the disk
    store = SqliteStore(tiny_disk / "progress.sqlite3")
    recorder = ProgressRecorder(store)
    key = new_learner_key()
    acknowledged = 0
    with pytest.raises(StoreFull) as info:
        for i in range(100):  # ~20 kB each: the disk fills long before 100
            store.record_attempt(key, FP, f"ex{i}", f"{i} " + "x" * 20_000, passed=False)
            acknowledged += 1
    assert 0 < acknowledged < 100
    assert "full" in info.value.user_message and "SORTLIST_DATA_DIR" in str(info.value)
    result = recorder.record(key, FP, "queued", "1", passed=True)
    assert not result.saved and isinstance(result.error, StoreFull) and "disk" in result.message
    assert len(store.attempts(key, FP)) == acknowledged  # every acknowledged answer is there

    filler.unlink()
    assert recorder.retry().saved
    assert len(store.attempts(key, FP)) == acknowledged + 1
    assert store.solved(key, FP) == {"queued"}
    store.close()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def own_cluster():
    """A cluster this test may stop and restart (the shared one must stay up)."""
    if pg_bindir() is None:
        pytest.skip("PostgreSQL not installed")
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_database_down_is_reported_and_the_same_store_recovers_after_a_restart(own_cluster):
    url = own_cluster.create_database("progress")
    store = PostgresStore(url, connect_timeout=2, reconnect_interval=0)
    recorder = ProgressRecorder(store)
    key = new_learner_key()
    assert recorder.record(key, FP, "q1", "1", passed=True).saved

    own_cluster.stop()
    with pytest.raises(StoreUnavailable) as info:
        store.solved(key, FP)
    assert "cannot be reached" in info.value.user_message
    down = [recorder.record(key, FP, "q2", answer, passed=answer == "b") for answer in ("a", "b")]
    assert [r.saved for r in down] == [False, False] and down[-1].pending == 2
    assert "not being saved" in down[-1].message

    own_cluster.start(own_cluster.port)
    assert recorder.retry().saved
    assert [a.answer for a in store.attempts(key, FP)] == ["1", "a", "b"]
    assert store.solved(key, FP) == {"q1", "q2"}
    store.close()


def test_a_connection_the_server_dropped_is_replaced_without_an_error(postgres_url):
    store = PostgresStore(postgres_url)
    key = new_learner_key()
    store.record_attempt(key, FP, "q1", "1", passed=True)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sortlist'"
        )
    store.record_attempt(key, FP, "q2", "2", passed=True)  # reconnects once, transparently
    assert store.solved(key, FP) == {"q1", "q2"}
    store.close()


def test_a_server_that_never_answers_fails_within_the_connect_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts TCP, never speaks PostgreSQL
    port = listener.getsockname()[1]
    store = PostgresStore(f"postgresql://u:hunter2@127.0.0.1:{port}/db", connect_timeout=2)
    outcome = {}

    def call():
        try:
            store.solved(new_learner_key(), FP)
        except Exception as exc:  # asserted below
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(30)  # far above the 2 s timeout; only a hang gets here
    listener.close()
    assert not thread.is_alive(), "the store hung on an unresponsive server"
    assert isinstance(outcome.get("error"), StoreUnavailable)
    assert "hunter2" not in str(outcome["error"]) and "***" in str(outcome["error"])


def test_after_a_failed_connect_calls_fail_at_once_until_the_reconnect_interval():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    store = PostgresStore(f"postgresql://u@127.0.0.1:{port}/db", connect_timeout=2, reconnect_interval=60)
    key = new_learner_key()

    def connections() -> int:
        accepted = []
        while True:
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                break
        for conn in accepted:
            conn.close()
        return len(accepted)

    with pytest.raises(StoreUnavailable):
        store.solved(key, FP)
    assert connections() >= 1
    for _ in range(5):
        with pytest.raises(StoreUnavailable, match="not retried for 60 s"):
            store.record_attempt(key, FP, "q", "1", passed=True)
    assert connections() == 0  # no new connection attempt while the interval runs
    store.reconnect_interval = 0
    with pytest.raises(StoreUnavailable):
        store.solved(key, FP)
    assert connections() >= 1
    listener.close()


def test_a_lock_held_too_long_in_postgres_is_reported_as_locked(postgres_url):
    store = PostgresStore(postgres_url, lock_timeout_ms=300)
    key = new_learner_key()
    store.record_attempt(key, FP, "q1", "1", passed=False)
    with psycopg.connect(postgres_url) as other:
        other.execute("LOCK TABLE attempts IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(StoreLocked):
            store.record_attempt(key, FP, "q1", "2", passed=True)
        assert time.monotonic() - started < 10
        other.rollback()
    store.record_attempt(key, FP, "q1", "3", passed=True)
    assert [a.answer for a in store.attempts(key, FP)] == ["1", "3"]
    store.close()
