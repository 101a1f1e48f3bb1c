"""Freeze the server's warmed-up heap once, so garbage collection stops re-walking it.

With torch, plotly, pandas and the shared analyses loaded, a full `gc.collect(2)` walks
~270,000 objects: 114 ms. Streamlit ran one after every script run (`runner.postScriptGC`, now
off in `.streamlit/config.toml`: it was 78% of a new session's server CPU on the Attention page),
and Python's own collector still runs full passes now and then. `gc.freeze()` moves everything
alive at that moment into a generation the collector never scans; full passes then walk only
what later runs created (~6 ms after every page was visited). Frozen objects are still freed by reference counting; only a cycle that was alive at
the freeze and dies later is never collected, so we freeze once, after the first finished run
(imports, the model and the first page's results are in place) and a full collection.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading

_lock = threading.Lock()
_frozen = False


def freeze_warm_heap() -> bool:
    """Collect, then freeze every object alive now; only the first call in a process does it.
    Returns whether this call froze the heap."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.collect(2)  # garbage of the first run: collect it rather than freeze it
        gc.freeze()
        _frozen = True
        return_freed_buffers()
        return True


FREEZE_DELAY_S = 1.5  # after the first run: its charts and components load before the GIL is held
_timer: threading.Timer | None = None


def freeze_warm_heap_soon(delay_s: float = FREEZE_DELAY_S) -> threading.Timer:
    """`freeze_warm_heap()` in a background timer, `delay_s` from now, once per process (later
    calls return the same timer). `app.py` calls it at the end of a run: the full collection
    (~0.1 s quiet, 0.3 s under load, holding the GIL) then no longer delays that run's end,
    which on a cold start is the first learner's first page."""
    global _timer
    with _lock:
        if _timer is None:
            _timer = threading.Timer(delay_s, freeze_warm_heap)
            _timer.name, _timer.daemon = "sortlist-heap-freeze", True
            _timer.start()
        return _timer


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt() parameter numbers
FREED_BUFFER_BYTES = 1 << 20
_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def return_freed_buffers(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """From now on, buffers of 1 MB or more are their own mappings, returned to the system when
    freed, and the heap's free top is trimmed past 1 MB (glibc's `MALLOC_MMAP_THRESHOLD_` and
    `MALLOC_TRIM_THRESHOLD_`, set here at run time unless set in the environment).

    Why: a replica's server RSS after every page and a check on each was 405–808 MB across runs
    with glibc's defaults (freed analysis tensors fragment the heap), 408 MB with these (`python
    -m bench --only memory`). Set after the first page's work, so that work runs at full speed;
    a later page's first analyses pay for the mappings (the README measured 1.5–2× on cold
    caches). Returns whether the settings were applied here."""
    if any(environ.get(name) for name in _ENV) or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, FREED_BUFFER_BYTES)
            and libc.mallopt(_M_TRIM_THRESHOLD, FREED_BUFFER_BYTES)
        )
    except (OSError, AttributeError):  # not glibc (musl): nothing to set
        return False
