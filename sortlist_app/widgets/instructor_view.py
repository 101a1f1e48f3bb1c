"""The instructor's view of the class: a page that exists only for the instructor-token holder.

`unlock()` (in `app.py`, every run) accepts `?instructor=<token>` once, keeps the grant in the
session and removes the token from the address; `app.py` registers `page()` in `st.navigation`
only for such a session, so without the token `/instructor` is "page not found" and none of its
data is computed. `render()` checks the grant again before reading the store. The page's script
(`sortlist_app/instructor_page.py`) is not under `pages/`, so Streamlit's file-based routing can
never run it alone.

The token is `SORTLIST_INSTRUCTOR_TOKEN`, else Streamlit secrets' `instructor_token`; with
neither there is no instructor view at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from sortlist_app.navigation import INSTRUCTOR_PAGE, PAGES
from sortlist_progress import ProgressStoreError
from sortlist_progress.instructor import (
    STALLED_PAGE_SIZE,
    attempts_csv,
    instructor_token,
    stalled_page,
    stats_from_progress,
    token_matches,
    wrong_answers_by_exercise,
)

from . import learner
from .session_model import current_model

PARAM = "instructor"
GRANT_STATE = "sortlist.instructor.granted"
SECRET_NAME = "instructor_token"
STALLED_PAGE_STATE = "sortlist.instructor.stalled_page"


def configured_token() -> str | None:
    """The environment's token, else the Streamlit secret; None: no instructor view."""
    token = instructor_token()
    if token:
        return token
    try:
        secret = st.secrets.get(SECRET_NAME)
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        return None
    return str(secret).strip() or None if secret else None


def unlock() -> bool:
    """True when this session holds the instructor token (given once as `?instructor=`)."""
    if PARAM in st.query_params:
        given = st.query_params.get(PARAM)
        del st.query_params[PARAM]  # the token must not stay in the address bar or history
        if token_matches(given, configured_token()):
            st.session_state[GRANT_STATE] = True
    # Re-checked every run, so a token changed on the server locks old sessions out.
    granted = bool(st.session_state.get(GRANT_STATE)) and configured_token() is not None
    if not granted:
        st.session_state.pop(GRANT_STATE, None)
    return granted


def page() -> st.Page:
    return st.Page(
        INSTRUCTOR_PAGE.path,
        title=INSTRUCTOR_PAGE.title,
        icon=INSTRUCTOR_PAGE.icon,
        url_path=INSTRUCTOR_PAGE.key,
    )


def _exercise_order() -> list[str]:
    return [ex for p in PAGES for ex in p.exercises]


def _csv_download(store) -> Callable[[], bytes]:
    """The CSV, built only when the instructor clicks (Streamlit calls it then, outside the
    script run: it touches only the store)."""

    def build() -> bytes:
        return attempts_csv(store.class_attempts()).encode("utf-8")

    return build


def render() -> None:
    if not unlock():  # never reached without the grant; checked again all the same
        st.error("This page is for the instructor only.")
        st.stop()
    st.title(f"{INSTRUCTOR_PAGE.icon} Instructor: your class")
    store = learner.recorder().store
    # Every number below is aggregated by the store: a rerun reads a few hundred rows at most,
    # however many attempts the class has made.
    try:
        overview = store.class_overview()
    except ProgressStoreError as exc:
        st.error(f"The class's progress cannot be read: {exc.user_message}", icon="💾")
        return
    st.caption(
        f"Progress store: {store.describe()} · {overview.learners} learners · {overview.attempts} attempts"
    )
    fingerprints = [fp for fp, _ in overview.models]
    if not fingerprints:
        st.info("No attempts yet. Learners' answers appear here as soon as they check them.")
        return
    model = current_model(explain=False)
    current = model.weights_sha256 if model is not None else None
    default = fingerprints.index(current) if current in fingerprints else 0
    counts = dict(overview.models)
    fp = st.selectbox(
        "Model",
        fingerprints,
        index=default,
        format_func=lambda f: (
            f"{f[:12]} · {counts[f]} attempts" + (" (the model in use)" if f == current else "")
        ),
        help="Progress is per model fingerprint.",
    )
    try:
        stats = stats_from_progress(store.class_exercise_progress(fp), order=_exercise_order())
        wrong = wrong_answers_by_exercise(store.class_wrong_answers(fp, limit=3))
    except ProgressStoreError as exc:
        st.error(f"The class's progress cannot be read: {exc.user_message}", icon="💾")
        return

    st.header("Solve rates")
    frame = pd.DataFrame(
        {
            "exercise": [s.exercise_id for s in stats],
            "learners tried": [s.learners_tried for s in stats],
            "learners solved": [s.learners_solved for s in stats],
            "solve rate": [s.solve_rate for s in stats],
            "attempts": [s.attempts for s in stats],
            "median attempts to solve": [s.median_attempts_to_solve for s in stats],
        }
    )
    left, right = st.columns(2)
    # One labelled bar per exercise, in lesson order: a fixed height made Vega drop every other label.
    height = 60 + 24 * len(stats)
    for column, y in ((left, "solve rate"), (right, "median attempts to solve")):
        column.bar_chart(frame, x="exercise", y=y, horizontal=True, sort=False, height=height)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "solve rate": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent")
        },
    )

    st.header("Most common wrong answers")
    if wrong:
        st.dataframe(
            pd.DataFrame(
                [
                    {"exercise": ex, "answer": w.answer, "learners": w.learners, "times": w.times}
                    for ex in _exercise_order() + sorted(set(wrong) - set(_exercise_order()))
                    for w in wrong.get(ex, [])
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No wrong answers yet.")

    st.header("Learners without progress")
    minutes = st.number_input("No exercise solved in the last … minutes", 1, 24 * 60, 15, step=5)
    now = time.time()
    page_number = st.session_state.get(STALLED_PAGE_STATE, 1)
    try:
        stalled = stalled_page(
            store, fp, minutes=minutes, now=now, page=page_number - 1, seen_since=now - 24 * 3600
        )
    except ProgressStoreError as exc:
        st.error(f"The class's progress cannot be read: {exc.user_message}", icon="💾")
        return
    if stalled.learners:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "learner": s.label,
                        "solved": s.solved,
                        "last progress (UTC)": s.last_progress_at.strftime("%H:%M"),
                        "attempts since": s.attempts_since_progress,
                    }
                    for s in stalled.learners
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        if stalled.pages > 1:
            if st.session_state.get(STALLED_PAGE_STATE, 1) > stalled.pages:  # the list shrank
                st.session_state[STALLED_PAGE_STATE] = stalled.pages
            st.number_input(
                f"Page (of {stalled.pages}; {stalled.total} learners, {STALLED_PAGE_SIZE} a page)",
                min_value=1,
                max_value=stalled.pages,
                key=STALLED_PAGE_STATE,
            )
    else:
        st.caption(f"Everyone seen today solved something in the last {minutes} minutes.")

    st.download_button(
        "Download every attempt (CSV)",
        _csv_download(store),
        file_name="sortlist-attempts.csv",
        mime="text/csv",
        on_click="ignore",
        help="All models, built when you click; learners appear as a pseudonymous reference, never with their key.",
    )
