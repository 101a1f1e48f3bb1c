"""Freeze the server's warmed-up heap once, so garbage collection stops re-walking it.

Streamlit runs a full `gc.collect(2)` after every script run (`runner.postScriptGC`, on by
default; we keep its memory behaviour rather than turn it off). With torch, plotly,
pandas and the shared analyses loaded that walks ~270,000 objects: 114 ms, 78% of a new
session's server CPU on the Attention page, paid once per session by a whole class one after
another. `gc.freeze()` moves everything alive at that moment into a generation the collector
never scans; collections then walk only what later runs created (~6 ms after every page was
visited). Frozen objects are still freed by reference counting; only a cycle that was alive at
the freeze and dies later is never collected, so we freeze once, after the first finished run
(imports, the model and the first page's results are in place) and a full collection.
"""

from __future__ import annotations

import gc
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
        return True
