"""sortlist: entry point. `streamlit run app.py`

Sets up the page, registers every page of `sortlist_app.navigation.PAGES`, draws the shared
sidebar (model in use, exercise progress) and runs the selected page.
"""

from __future__ import annotations

import streamlit as st

from sortlist_app import entrypoint_run
from sortlist_app.attention_view import ensure_bundle
from sortlist_app.navigation import PAGES
from sortlist_app.sidebar import render_sidebar

st.set_page_config(
    page_title="sortlist",
    page_icon="🔢",
    layout="wide",
    menu_items={"About": "Reverse-engineer a 1-layer, 2-head attention-only transformer that sorts lists."},
)

ensure_bundle()  # copy the circuitsvis JS into ./static once per process (offline views)

page = st.navigation(
    [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.key, default=i == 0) for i, p in enumerate(PAGES)]
)
render_sidebar()
with entrypoint_run():  # pages check they were reached through here: see _entrypoint.py
    page.run()
