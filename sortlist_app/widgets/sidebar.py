"""The sidebar every page shares: which model is in use and the learner's exercise progress."""

from __future__ import annotations

import streamlit as st

from sortlist_app.lessons.wording import pct

from . import learner, state
from .exercise import progress_by_page


def render_sidebar() -> None:
    """Model name, fingerprint and eval accuracy; solved exercises per page."""
    with st.sidebar:
        model = state.current_model(explain=False)
        st.subheader("Model in use")
        if model is None:
            st.error("No model loaded. Open the **Model** page to upload or train one.", icon="🚫")
            return
        metrics = state.eval_metrics(model)
        st.markdown(f"**{model.name}**  \nfingerprint `{model.short_id}`")
        st.metric(
            "Accuracy on the evaluation set",
            pct(metrics.accuracy),
            help=f"Fraction of sorted-half tokens predicted correctly on {metrics.n_lists} lists (seed {state.EVAL_SEED}).",
        )
        if state.session_model() is not None:
            st.caption("Chosen on the Model page for this session.")
        st.subheader("Your progress")
        rows = progress_by_page(model)
        solved = sum(s for _, s, _ in rows)
        total = sum(t for _, _, t in rows)
        st.progress(solved / total if total else 0.0, text=f"{solved} of {total} exercises solved")
        for title, done, count in rows:
            st.markdown(f"{'✅' if done == count else '▫️'} {title}: {done} of {count}")
        status = learner.recorder().status()
        if status.saved:
            st.caption("Progress is saved for this model; it comes back when you return on this browser.")
        else:
            st.warning(status.message, icon="💾")
        learner.render_learner_section()
