"""sortlist: entry point. `python -m sortlist_app.server.serve` (or `streamlit run app.py`)

Sets up the page, registers every page of `sortlist_app.navigation.PAGES`, draws the shared
sidebar (model in use, exercise progress) and runs the selected page.
"""

from __future__ import annotations

from sortlist_app.server import warm_start

warm_start.wait_for_imports()  # under `python -m sortlist_app.server.serve`: imported in the background

import streamlit as st  # noqa: E402 - after the warm start's imports (two importers can deadlock)

from sortlist_app import entrypoint_run  # noqa: E402
from sortlist_app.navigation import PAGES  # noqa: E402
from sortlist_app.server.heap import freeze_warm_heap_soon  # noqa: E402
from sortlist_app.server.run_gate import RUN_GATE  # noqa: E402
from sortlist_app.widgets import instructor_view, learner  # noqa: E402
from sortlist_app.widgets.attention_view import ensure_bundle  # noqa: E402
from sortlist_app.widgets.code_exercise import warm_up_runner  # noqa: E402
from sortlist_app.widgets.sidebar import render_sidebar  # noqa: E402

st.set_page_config(
    page_title="sortlist",
    page_icon="🔢",
    layout="wide",
    menu_items={"About": "Reverse-engineer a 1-layer, 2-head attention-only transformer that sorts lists."},
)


def main() -> None:
    ensure_bundle()  # copy the circuitsvis JS into ./static once per process (offline views)
    learner.start_session()  # before any page rewrites the URL: adopts a resume link (?learner=)
    instructor = instructor_view.unlock()  # ?instructor=<token> once; the page exists only then

    pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.key) for p in PAGES]

    def _home() -> None:
        # The default page answers at `/` only, so a visible default page could not also answer at
        # its own path (`/problem` would be "Page not found"): `/` opens the first page instead.
        st.switch_page(pages[0], query_params=st.query_params.to_dict())

    if instructor:
        pages.append(instructor_view.page())
    page = st.navigation(
        [st.Page(_home, title=PAGES[0].title, url_path="home", default=True, visibility="hidden"), *pages]
    )
    draw_progress = render_sidebar()
    with entrypoint_run():  # pages check they were reached through here: see _entrypoint.py
        page.run()
    draw_progress()  # after the page: it may have found exercises this model cannot pose
    # Once per process, after the first page was served: the code-exercise worker (torch and
    # TransformerLens in a second process) starts in the background, not while that page renders.
    warm_up_runner()
    freeze_warm_heap_soon()  # once per process, after this run: later collections skip the warm heap


# A class arriving at once: runs take turns, in arrival order (see sortlist_app/server/run_gate.py).
with RUN_GATE.admitted():
    main()
