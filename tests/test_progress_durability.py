"""kill -9 a process while 20 learners are answering: after it, every answer the process had
acknowledged (the recorder said saved) is in the store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sortlist_progress.postgres_store import PostgresStore
from sortlist_progress.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "infra" / "answering_class.py"
FP = "d" * 64
ACKS_BEFORE_KILL = 300


def run_class_and_kill(target: str) -> list[tuple[str, str, str]]:
    """Start the answering class, SIGKILL it once it has acknowledged enough; its acks."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), target, "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    acks = []
    deadline = time.monotonic() + 120
    try:
        while len(acks) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("ack "):
                acks.append(tuple(line.split()[1:4]))
        assert proc.poll() is None, f"the class stopped by itself: {proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)  # acks already in the pipe were acknowledged too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    acks += [tuple(line.split()[1:4]) for line in rest.splitlines() if line.startswith("ack ")]
    assert proc.returncode == -signal.SIGKILL
    assert len(acks) >= ACKS_BEFORE_KILL, "too few answers acknowledged before the deadline"
    return acks


def assert_all_stored(store, acks) -> None:
    keys = {key for key, _, _ in acks}
    assert len(keys) > 1  # many learners were answering at once
    for key in keys:
        stored = {(a.exercise_id, a.answer) for a in store.attempts(key, FP)}
        missing = [(ex, ans) for k, ex, ans in acks if k == key and (ex, ans) not in stored]
        assert missing == [], f"acknowledged but not stored: {missing[:5]}"


def test_sqlite_keeps_every_acknowledged_answer_through_kill_9(tmp_path):
    path = tmp_path / "progress.sqlite3"
    acks = run_class_and_kill(str(path))
    with SqliteStore(path) as store:  # a fresh process opening the file after the crash
        assert_all_stored(store, acks)


def test_postgres_keeps_every_acknowledged_answer_through_kill_9(postgres_url):
    acks = run_class_and_kill(postgres_url)
    with PostgresStore(postgres_url) as store:
        assert_all_stored(store, acks)
