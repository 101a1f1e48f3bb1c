"""What every lesson page does first, and the inputs several pages share."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import streamlit as st

from sortlist_app.server.entrypoint import route_through_entrypoint
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.config import ModelConfig

from . import url
from .session_model import require_model


def start(title: str, lesson: ModuleType) -> LoadedModel:
    """Route deep links through `app.py`, show the title, get the session's model (or explain
    why there is none and stop) and preset the widgets from the link (`lesson.URL_PARAMS`)."""
    route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/server/entrypoint.py
    st.title(title)
    model = require_model()
    url.bind(lesson.PAGE, model, lesson.URL_PARAMS)
    return model


def head_radio(container: Any, label: str, cfg: ModelConfig, key: str) -> int:
    """A horizontal choice of one of the model's heads (`head 0.1`)."""
    names = cfg.head_names
    return container.radio(
        label, range(cfg.n_heads), key=key, format_func=lambda h: f"head {names[h]}", horizontal=True
    )
