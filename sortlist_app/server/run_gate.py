"""One script run at a time per server process, first come first served, with a bounded wait.

Streamlit runs every session's script in its own thread, and Python runs one thread at a time
(the GIL). When a class opens a page at once, the runs share the CPU fairly, so every learner
waits for all of them: 20 new sessions on Attention all finished at ~21x one alone. Admitting
runs one by one in arrival order does the same total work, but the first learner is done after
one run, the second after two, and so on: the median learner waits about half as long.

    with RUN_GATE.admitted():   # app.py: around the whole run
        ...
    RUN_GATE.step_aside()       # before a long wait that needs no CPU (a code check, a download)

Two rules keep it from ever making things worse than no gate:
- a run waits at most `max_wait_s` for its turn, then runs anyway (a long analysis or a slow
  database connect in another run can delay it by that much, never more);
- a run that steps aside for a blocking wait does not queue again: it finishes ungated, so it
  never holds the gate while waiting for a lock another admitted run holds.

Fragment reruns (the code editor, the adversarial list editor) do not pass through `app.py` and
are not gated. `SORTLIST_RUN_GATE=0` turns the gate off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sortlist_core import settings

DEFAULT_MAX_WAIT_S = 1.0


class RunGate:
    """Admit at most `slots` script runs at once, in arrival order (`threading.Semaphore` wakes
    waiters first in, first out), each waiting at most `max_wait_s` for its turn."""

    def __init__(self, slots: int = 1, max_wait_s: float = DEFAULT_MAX_WAIT_S, enabled: bool = True) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.slots = slots
        self.max_wait_s = max_wait_s
        self.enabled = enabled
        self._semaphore = threading.Semaphore(slots)
        self._held = threading.local()  # per thread: does this run hold a slot?
        self._count_lock = threading.Lock()
        self.timed_out = 0  # runs that gave up waiting and ran ungated (since start)

    def holds(self) -> bool:
        """Whether the calling thread's run holds a slot now."""
        return getattr(self._held, "value", False)

    @contextmanager
    def admitted(self) -> Iterator[bool]:
        """Wait for a slot (at most `max_wait_s`), run the body, free the slot. Yields whether
        the run got a slot. Re-entrant: a nested `admitted()` in the same thread passes through."""
        if not self.enabled or self.holds():
            yield self.holds()
            return
        got = self._semaphore.acquire(timeout=self.max_wait_s)
        if not got:
            with self._count_lock:
                self.timed_out += 1
        self._held.value = got
        try:
            yield got
        finally:
            self.step_aside()

    def step_aside(self) -> None:
        """Free this run's slot now, if it holds one (before a wait that needs no CPU)."""
        if self.holds():
            self._held.value = False
            self._semaphore.release()


def gate_from_env(environ: settings.Env | None = None) -> RunGate:
    """The server's gate: on unless `SORTLIST_RUN_GATE` is `0`/`off`/`false`/`no`."""
    return RunGate(enabled=settings.flag(settings.RUN_GATE, True, environ))


RUN_GATE = gate_from_env()  # one per server process: module state is shared by every session
