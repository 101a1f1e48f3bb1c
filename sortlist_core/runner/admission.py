"""Who may run a check now: at most one check per learner (running or queued), a bounded queue,
a fixed number of CPU slots, and one unprivileged uid per check in flight.

A check that sits idle gives its CPU slot to the next one in the queue ("parks") until it is
ended or wakes, keeping its uid: so there are as many uids as slots plus parked checks.
"""

from __future__ import annotations

import threading
import time


class Admission:
    """The runner's queue and slots. Thread-safe; `admit`, `acquire`, then always `release`."""

    def __init__(self, max_running: int, max_queued: int, queue_wait_s: float) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self.queue_wait_s = queue_wait_s
        # An idle check gives its CPU slot back until it is ended (or wakes): at most this many.
        self.max_parked = max_running
        self._lock = threading.Condition()
        self._sessions: set[str] = set()
        self._waiting = 0
        self._free_slots = list(range(max_running))  # CPU slots
        self._holding: dict[str, int] = {}  # job id -> the CPU slot it holds
        self._parked: set[str] = set()
        self._free_uids = list(range(self.uid_count))  # uid = base uid - index

    @property
    def uid_count(self) -> int:
        """How many checks can be in flight at once (running or parked), each with its own uid."""
        return self.max_running + self.max_parked

    def admit(self, session: str | None) -> str | None:
        """None when admitted (then `acquire` must follow), else the busy message. `session`
        is the learner key in the app: one check per learner, running or queued."""
        with self._lock:
            if session is not None and session in self._sessions:
                return "You already have a check running; wait for its result, then try again."
            if self._waiting >= self.max_queued and not self._free_slots:
                return (
                    f"The code checker is busy ({self.max_running} checks running, {self._waiting} waiting); "
                    "try again in a few seconds."
                )
            if session is not None:
                self._sessions.add(session)
            self._waiting += 1
            return None

    def acquire(self, job_id: str) -> int | None:
        """A CPU slot and a uid index for job_id (None: waited `queue_wait_s` in vain)."""
        deadline = time.monotonic() + self.queue_wait_s
        with self._lock:
            try:
                while not self._free_slots or not self._free_uids:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._lock.wait(left)
                self._holding[job_id] = self._free_slots.pop(0)
                return self._free_uids.pop(0)
            finally:
                self._waiting -= 1

    def park(self, job_id: str) -> None:
        """The worker says job_id sits idle: its CPU slot goes to the next check in the queue
        while the idle one waits to be ended (at most max_parked at once)."""
        with self._lock:
            if job_id in self._holding and len(self._parked) < self.max_parked:
                self._free_slots.append(self._holding.pop(job_id))
                self._parked.add(job_id)
                self._lock.notify_all()

    def release(self, session: str | None, job_id: str, uid_index: int | None) -> None:
        with self._lock:
            if session is not None:
                self._sessions.discard(session)
            if job_id in self._holding:
                self._free_slots.append(self._holding.pop(job_id))
            self._parked.discard(job_id)
            if uid_index is not None:
                self._free_uids.append(uid_index)
            self._free_slots.sort()
            self._free_uids.sort()
            self._lock.notify_all()
