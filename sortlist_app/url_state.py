"""Keep a page's widgets and the URL's query parameters in sync (encoding rules: `query.py`).

Usage in a page, around its widgets:

    url_state.bind(PAGE, model, lambda s: {"circuits.head": s.head, "circuits.dest": s.dest or 25})
    head = st.radio(..., key="circuits.head")            # widgets read their keyed state
    dest = st.slider(..., key="circuits.dest")
    url_state.publish(PAGE, model, QueryState(head=head, dest=dest))

`bind` presets the widget keys from the URL when the URL is new to this page (a shared link, the
first visit, another model), showing a warning for every bad value (defaults are used instead);
when the URL is empty because the learner navigated back to the page, it restores the page's
last state. Otherwise the widgets keep their own state. `publish` writes the widgets' state into
the URL, so copying the address bar reproduces the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from sortlist_core.checkpoint import LoadedModel

from .query import KNOWN_KEYS, QueryState, decode_query, encode_query

WidgetPresets = Callable[[QueryState], dict[str, Any]]


def _keys(page: str) -> tuple[str, str]:
    return f"sortlist.url.{page}.written", f"sortlist.url.{page}.state"


def _url_params() -> dict[str, str]:
    return {k: v for k, v in st.query_params.to_dict().items() if k in KNOWN_KEYS}


def bind(page: str, model: LoadedModel, presets: WidgetPresets) -> QueryState | None:
    """Preset the page's widgets from the URL when needed; returns the state applied, or None
    when the widgets keep their current values."""
    written_key, state_key = _keys(page)
    params = _url_params()
    written = st.session_state.get(written_key)
    remembered: QueryState | None = st.session_state.get(state_key)
    widgets_present = all(k in st.session_state for k in presets(QueryState()))
    if widgets_present and written == (model.weights_sha256, params):
        return None
    if not params and remembered is not None:
        # Navigated back (Streamlit clears the URL on a page switch): restore this page's view,
        # re-validated for the current model.
        params = encode_query(remembered)
    state, warnings = decode_query(params, model.config)
    for warning in warnings:
        st.warning(warning, icon="🔗")
    for key, value in presets(state).items():
        st.session_state[key] = value
    return state


def publish(page: str, model: LoadedModel, state: QueryState) -> None:
    """Write `state` into the URL (non-default fields only) and remember it for this page."""
    written_key, state_key = _keys(page)
    encoded = encode_query(state)
    if _url_params() != encoded or set(st.query_params.keys()) - set(KNOWN_KEYS):
        st.query_params.from_dict(encoded)
    st.session_state[written_key] = (model.weights_sha256, encoded)
    st.session_state[state_key] = state
