"""How often one learner may check code (no streamlit).

A check costs the server a runner slot for up to its time limit; a learner resubmitting from
several tabs as fast as they can (the attack measured 282 checks in 20 s) would hold slots the
class needs and fill the progress store. `CheckRateLimit` allows each learner at most `limit`
checks in any `window_s` seconds: a sliding log of their last check times, so an honest
learner who checks in bursts of a few is never refused, and a refused learner is told how
long to wait. The count is per server process (per replica); the store's caps bound what is
kept whatever the number of replicas.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

CHECKS_PER_WINDOW = 15
WINDOW_S = 60.0
MAX_TRACKED_LEARNERS = 10_000  # beyond this, learners with no check in the window are forgotten


@dataclass(frozen=True)
class RateVerdict:
    allowed: bool
    wait_s: float = 0.0  # when refused: seconds until the oldest check in the window expires
    limit: int = CHECKS_PER_WINDOW
    window_s: float = WINDOW_S

    @property
    def message(self) -> str:
        """For the learner; empty when allowed."""
        if self.allowed:
            return ""
        return (
            f"You have checked code {self.limit} times in the last {self.window_s:g} seconds, the most "
            f"this server allows one learner so that everyone's checks get through. Your code is "
            f"still in the editor: check it again in {max(1, round(self.wait_s))} s."
        )


class CheckRateLimit:
    def __init__(
        self,
        limit: int = CHECKS_PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs at least one check in a positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _who(learner_key: str) -> str:
        return hashlib.sha256(learner_key.encode()).hexdigest()  # the key itself is not kept

    def try_check(self, learner_key: str) -> RateVerdict:
        """Count a check for this learner now if the limit allows it."""
        now = self._clock()
        who = self._who(learner_key)
        with self._lock:
            times = self._log.setdefault(who, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return RateVerdict(False, times[0] + self.window_s - now, self.limit, self.window_s)
            times.append(now)
            if len(self._log) > MAX_TRACKED_LEARNERS:
                self._forget_idle(now)
            return RateVerdict(True, 0.0, self.limit, self.window_s)

    def _forget_idle(self, now: float) -> None:
        for who in [w for w, t in self._log.items() if not t or t[-1] <= now - self.window_s]:
            del self._log[who]

    def __len__(self) -> int:
        with self._lock:
            return len(self._log)


CHECK_RATE = CheckRateLimit()  # one per server process: module state is shared by every session
