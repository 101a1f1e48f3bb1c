"""Keep a page's widgets and the URL's query parameters in sync (the parameters and their codecs:
`URL_PARAMS` in the page's lesson module, built with `lessons/url_params.py`).

Usage in a page, around its widgets:

    url.bind(lesson.PAGE, model, lesson.URL_PARAMS)     # presets the widget keys from a link
    head = st.radio(..., key=lesson.HEAD)                # widgets read their keyed state
    url.publish(lesson.PAGE, model, lesson.URL_PARAMS)  # writes the widgets' state into the URL

`bind` presets the widget keys from the URL when the URL is new to this page (a shared link, the
first visit, another model), showing a warning for every bad value (defaults are used instead);
when the URL is empty because the learner navigated back to the page (Streamlit clears the URL on
a page switch), it restores the page's last state. Otherwise the widgets keep their own state.
`publish` writes the widgets' state into the URL, so copying the address bar reproduces the view.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from sortlist_app.lessons.url_params import Param, decode_params, encode_params
from sortlist_core.checkpoint import LoadedModel

from .model_links import FP_PARAM, MODEL_PARAM, model_query


def _keys(page: str) -> tuple[str, str]:
    return f"sortlist.url.{page}.written", f"sortlist.url.{page}.params"


def _url(params: Sequence[Param]) -> dict[str, str]:
    return {p.key: st.query_params.get(p.key) or "" for p in params if p.key in st.query_params}


def bind(page: str, model: LoadedModel, params: Sequence[Param]) -> bool:
    """Preset the widgets from the URL when it is new to this page; True when it did."""
    written_key, remembered_key = _keys(page)
    url = _url(params)
    present = all(p.widget in st.session_state for p in params)
    if present and st.session_state.get(written_key) == (model.weights_sha256, url):
        return False
    if not url and st.session_state.get(remembered_key):
        url = dict(st.session_state[remembered_key])
    values, warnings = decode_params(params, url, model.config)
    for warning in warnings:
        st.warning(warning, icon="🔗")
    for key, value in values.items():
        st.session_state[key] = value
    return True


def publish(page: str, model: LoadedModel, params: Sequence[Param]) -> None:
    """Write the widgets' current values into the URL (defaults left out) and remember them."""
    written_key, remembered_key = _keys(page)
    widgets = {p.widget: st.session_state[p.widget] for p in params if p.widget in st.session_state}
    # the model's own parameters (fingerprint, bundled key) stay: a link says which model it is from
    encoded = encode_params(params, widgets, model.config) | model_query(model)
    own = {p.key for p in params} | {MODEL_PARAM, FP_PARAM}
    current = st.query_params.to_dict()
    if {k: v for k, v in current.items() if k in own} != encoded or set(current) - own:
        st.query_params.from_dict(encoded)
    page_only = {k: v for k, v in encoded.items() if k not in (MODEL_PARAM, FP_PARAM)}
    st.session_state[written_key] = (model.weights_sha256, page_only)
    st.session_state[remembered_key] = page_only
