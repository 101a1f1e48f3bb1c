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
