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

import pandas as pd
import streamlit as st

from sortlist_app.navigation import INSTRUCTOR_PAGE, PAGES
from sortlist_app.progress import ProgressStoreError
from sortlist_app.progress.instructor import (
    attempts_csv,
    common_wrong_answers,
    exercise_stats,
    instructor_token,
    stalled_learners,
    token_matches,
)

from . import learner, state

PARAM = "instructor"
GRANT_STATE = "sortlist.instructor.granted"
SECRET_NAME = "instructor_token"


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


def render() -> None:
    if not unlock():  # never reached without the grant; checked again all the same
        st.error("This page is for the instructor only.")
        st.stop()
    st.title(f"{INSTRUCTOR_PAGE.icon} Instructor: your class")
    store = learner.recorder().store
    try:
        rows = store.class_attempts()
        learners = store.class_learners()
    except ProgressStoreError as exc:
        st.error(f"The class's progress cannot be read: {exc.user_message}", icon="💾")
        return
    st.caption(f"Progress store: {store.describe()} · {len(learners)} learners · {len(rows)} attempts")
    fingerprints = sorted({a.model_fp for a in rows})
    if not rows:
        st.info("No attempts yet. Learners' answers appear here as soon as they check them.")
        return
    model = state.current_model(explain=False)
    current = model.weights_sha256 if model is not None else None
    default = fingerprints.index(current) if current in fingerprints else 0
    fp = st.selectbox(
        "Model",
        fingerprints,
        index=default,
        format_func=lambda f: f"{f[:12]}" + (" (the model in use)" if f == current else ""),
        help="Progress is per model fingerprint.",
    )
    model_rows = [a for a in rows if a.model_fp == fp]

    st.header("Solve rates")
    stats = exercise_stats(model_rows, order=_exercise_order())
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
    wrong = common_wrong_answers(model_rows, limit=3)
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
    stalled = stalled_learners(model_rows, learners, minutes=minutes, now=now, seen_since=now - 24 * 3600)
    if stalled:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "learner": s.label,
                        "solved": s.solved,
                        "last progress (UTC)": s.last_progress_at.strftime("%H:%M"),
                        "attempts since": s.attempts_since_progress,
                    }
                    for s in stalled
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(f"Everyone seen today solved something in the last {minutes} minutes.")

    st.download_button(
        "Download every attempt (CSV)",
        attempts_csv(rows),
        file_name="sortlist-attempts.csv",
        mime="text/csv",
        help="All models; learners appear as a pseudonymous reference, never with their key.",
    )
