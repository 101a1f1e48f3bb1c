"""A server process with 20 learners answering at once, for the kill -9 test.

    python answering_class.py TARGET [LEARNERS]

TARGET is a SQLite path or a postgresql:// URL. Each learner (a thread) records attempts
through one shared `ProgressRecorder`, as the app's sessions do, and after each one the
recorder reports saved prints `ack KEY EXERCISE ANSWER`. It runs until killed.
"""

from __future__ import annotations

import sys
import threading

from sortlist_progress.factory import open_store
from sortlist_progress.recorder import ProgressRecorder
from sortlist_progress.store import new_learner_key

FP = "d" * 64


def main() -> None:
    target = sys.argv[1]
    learners = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    env = {"SORTLIST_DATABASE_URL": target} if target.startswith("postgresql://") else {}
    if not env:
        from sortlist_progress.sqlite_store import SqliteStore

        store = SqliteStore(target, busy_timeout=30)
    else:
        store = open_store(env)
    recorder = ProgressRecorder(store)
    print_lock = threading.Lock()
    start = threading.Barrier(learners)

    def learner() -> None:
        key = new_learner_key()
        start.wait()
        for i in range(1_000_000):
            answer = str(i)
            result = recorder.record(key, FP, f"ex{i % 7}", answer, passed=i % 3 == 0)
            if result.saved:
                with print_lock:
                    print(f"ack {key} ex{i % 7} {answer}", flush=True)

    threads = [threading.Thread(target=learner, daemon=True) for _ in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
