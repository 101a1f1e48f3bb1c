"""The sidebar every page shares: the model switcher (which model is in use, the bundled models,
this session's uploads and trained models, the original challenge model on request) and the
learner's exercise progress. It also keeps the model in the URL (`model_links.sync_model_with_url`)
and shows, above the page, a notice when a link was made on another model."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from sortlist_app.lessons.wording import pct
from sortlist_core.data import EVAL_SEED

from . import analyses, learner, model_links, session_model
from .progress_session import progress_by_page

SWITCH_KEY = "sortlist.sidebar.model"


def _on_switch() -> None:
    session_model.select_model(st.session_state[SWITCH_KEY])


def render_model_notice() -> None:
    """The notice of a link made on another model (main area, above the page)."""
    notice = model_links.link_notice()
    if notice is None:
        return
    with st.container(border=True):
        st.warning(notice.text, icon="🔗")
        row = st.container(horizontal=True)
        if notice.switch_to:
            row.button(
                notice.switch_label,
                on_click=session_model.select_model,
                args=(notice.switch_to,),
                key="sortlist.notice.switch",
                type="primary",
            )
        row.button("Dismiss", on_click=model_links.dismiss_link_notice, key="sortlist.notice.dismiss")


def _switcher() -> None:
    choices = session_model.model_choices()
    ids = [c.id for c in choices]
    current = session_model.current_choice()
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


def render_sidebar() -> Callable[[], None]:
    """Model switcher, fingerprint and eval accuracy; solved exercises per page. Returns what
    draws the progress into its place: the app calls it once the page has run."""
    model_links.sync_model_with_url()
    render_model_notice()
    with st.sidebar:
        st.subheader("Model in use")
        _switcher()
        model = session_model.current_model(explain=False)
        if model is None:
            st.error("No model loaded. Open the **Model** page to upload or train one.", icon="🚫")
            return lambda: None
        metrics = analyses.eval_metrics(model)
        st.markdown(f"**{model.name}**  \nfingerprint `{model.short_id}`")
        st.metric(
            "Accuracy on the evaluation set",
            pct(metrics.accuracy),
            help=f"Fraction of sorted-half tokens predicted correctly on {metrics.n_lists} lists (seed {EVAL_SEED}).",
        )
        st.caption("Progress is kept per model: switching models shows that model's progress.")
        if not session_model.original_in_session():  # once loaded, the switcher above lists it
            with st.expander("Get the original challenge model"):
                from .model_sections import original_model_button

                original_model_button("sidebar")
        st.subheader("Your progress")
        progress_slot = st.container()  # filled after the page ran: it may learn what cannot be posed
        status = learner.recorder().status()
        if status.saved:
            st.caption("Progress is saved for this model; it comes back when you return on this browser.")
        else:
            st.warning(status.message, icon="💾")
        learner.render_learner_section()
    return lambda: _render_progress(progress_slot, model)


def _render_progress(slot, model) -> None:
    """Solved of what can be posed on this model, overall and per page."""
    rows = progress_by_page(model)
    solved = sum(r.solved for r in rows)
    total = sum(r.total for r in rows)
    skipped = sum(r.skipped for r in rows)
    more = f" ({skipped} skipped on this model)" if skipped else ""
    with slot:
        st.progress(solved / total if total else 0.0, text=f"{solved} of {total} exercises solved{more}")
        for r in rows:
            st.markdown(f"{'✅' if r.complete else '▫️'} {r.line()}")
