"""Make every run go through `app.py`, even when a page URL is opened first.

Streamlit treats an app with a `pages/` folder next to its entrypoint as a "v1" multipage app
until some session calls `st.navigation`: until then, opening `/attention` on a freshly started
server runs `pages/2_attention.py` *alone* (no `app.py`: no page config, no shared sidebar, and a
file-name navigation menu). Sessions that connect at the same moment all start such runs before
any of them has reached `st.navigation`, so the check has to happen on every run, not once per
process:

- `app.py` runs the selected page inside `entrypoint_run()`, which marks the script thread;
- every page calls `route_through_entrypoint()` first: a run that did not come through `app.py`
  switches the process to `st.navigation` mode (exactly what `st.navigation` itself does) and
  reruns, so the same URL is served by `app.py`'s navigation. Page URL paths in
  `navigation.PAGES` equal the names Streamlit infers from the file names, so the rerun lands on
  the same page.

A page script run on its own as the main script (`AppTest.from_file("pages/x.py")`) is left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENTRYPOINT = "app.py"
_thread = threading.local()  # one Streamlit script run per thread at a time


@contextmanager
def entrypoint_run() -> Iterator[None]:
    """Mark the current script run as having come through `app.py` (wraps `page.run()`)."""
    _thread.through_entrypoint = True
    try:
        yield
    finally:
        _thread.through_entrypoint = False


def route_through_entrypoint() -> None:
    """Rerun through `app.py` when this page script was started without it (v1 routing)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or getattr(_thread, "through_entrypoint", False):
        return
    if Path(ctx.pages_manager.main_script_path).name != ENTRYPOINT:
        return  # the page itself is the main script: nothing to route through
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    import streamlit as st

    st.rerun()
