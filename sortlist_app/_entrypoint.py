"""Make every run go through `app.py`, even when a page URL is opened first.

Streamlit treats an app with a `pages/` folder next to its entrypoint as a "v1" multipage app
until some session calls `st.navigation`: until then, opening `/attention` on a freshly started
server runs `pages/2_attention.py` *alone* (no `app.py`: no page config, no shared sidebar, and a
file-name navigation menu). Every page imports `sortlist_app`, whose first statement calls
`route_through_entrypoint()`: it switches the process to `st.navigation` mode (exactly what
`st.navigation` itself does) and reruns, so the same URL is served by `app.py`'s navigation. Page
URL paths in `navigation.PAGES` equal the names Streamlit infers from the file names, so the
rerun lands on the same page.
"""

from __future__ import annotations


def route_through_entrypoint() -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    if get_script_run_ctx() is not None:
        import streamlit as st

        st.rerun()
