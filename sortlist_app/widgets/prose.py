"""Show teaching prose: a markdown template of `assets/prose/` filled with measured values.

The values come from the page's lesson module (`sortlist_app.lessons.<page>`); filling is strict
(`lessons.wording.fill`): a missing value raises `KeyError`, never silently prints `{name}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from sortlist_app.lessons.wording import fill, load_template


def render(name: str, values: Mapping[str, Any] | None = None) -> str:
    """Show the filled template `name` as markdown; returns the text (handy for tests)."""
    text = fill(load_template(name), values or {})
    st.markdown(text)
    return text
