"""Show teaching prose: a markdown template of the page's lesson module (its `*_PROSE` constants,
`sortlist_app.lessons.<page>`) filled with measured values.

The values come from the same lesson module; filling is strict (`lessons.wording.fill`): a
missing value raises `KeyError`, never silently prints `{name}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from sortlist_app.lessons.wording import fill


def render(template: str, values: Mapping[str, Any] | None = None) -> str:
    """Show `template` filled with `values` as markdown; returns the text (handy for tests)."""
    text = fill(template, values or {})
    st.markdown(text)
    return text
