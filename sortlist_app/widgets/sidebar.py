"""The sidebar every page shares: the model switcher (which model is in use, the bundled models,
this session's uploads and trained models, the original challenge model on request) and the
learner's exercise progress. It also keeps the model in the URL (`state.sync_model_with_url`)
and shows, above the page, a notice when a link was made on another model."""

from __future__ import annotations

import streamlit as st

from sortlist_app.lessons.wording import pct

from . import learner, state
from .exercise import progress_by_page

SWITCH_KEY = "sortlist.sidebar.model"


def _on_switch() -> None:
    state.select_model(st.session_state[SWITCH_KEY])


def render_model_notice() -> None:
    """The notice of a link made on another model (main area, above the page)."""
    notice = state.link_notice()
    if notice is None:
        return
    with st.container(border=True):
        st.warning(notice.text, icon="🔗")
        row = st.container(horizontal=True)
        if notice.switch_to:
            row.button(
                notice.switch_label,
                on_click=state.select_model,
                args=(notice.switch_to,),
                key="sortlist.notice.switch",
                type="primary",
            )
        row.button("Dismiss", on_click=state.dismiss_link_notice, key="sortlist.notice.dismiss")


def _switcher() -> None:
    choices = state.model_choices()
    ids = [c.id for c in choices]
    current = state.current_choice()
    if current not in ids:  # e.g. the default model's file is missing
        return
    by_id = {c.id: c for c in choices}
    st.session_state[SWITCH_KEY] = current
    st.selectbox(
        "Switch model",
        ids,
        format_func=lambda i: by_id[i].label,
        key=SWITCH_KEY,
        on_change=_on_switch,
        label_visibility="collapsed",  # the subheader above says it; the sidebar opens with "Model in use"
    )
    if by_id[current].description:
        st.caption(by_id[current].description)


def render_sidebar() -> None:
    """Model switcher, fingerprint and eval accuracy; solved exercises per page."""
    state.sync_model_with_url()
    render_model_notice()
    with st.sidebar:
        st.subheader("Model in use")
        _switcher()
        model = state.current_model(explain=False)
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
        st.caption("Progress is kept per model: switching models shows that model's progress.")
        with st.expander("Get the original challenge model"):
            from .model_sections import original_model_button

            original_model_button("sidebar")
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
