"""URL query parameters for the Adversarial, Mystery and Model pages.

The same contract as `url_state` (which serves the first three pages with `query.QueryState`),
for parameters `QueryState` does not carry: up to 10 lists in the editor and the mystery's
`x`, `y`, `z`. Each page declares its parameters; `bind` presets the widgets from a link the page
has not applied yet (showing a warning for each bad value and using the default instead), or
restores the page's last state when the learner navigates back (Streamlit clears the URL on a
page switch); `publish` writes the widgets' state back into the URL so the address bar
reproduces the view. Decoders never raise anything but `ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from sortlist_core.checkpoint import LoadedModel
from sortlist_core.config import ModelConfig
from sortlist_core.data import InvalidListError, parse_unsorted_list

from .query import encode_lists

MAX_PARAM_CHARS = 1000
_LIST_SEP = re.compile(r"[_|;]")
_VALUE_SEP = re.compile(r"[-,.\s+]")


@dataclass(frozen=True)
class Param:
    """One URL key bound to one widget key.

    decode(text, cfg) -> (widget value, warnings); raises ValueError(reason) when unusable.
    encode(widget value, cfg) -> text, or None to leave the key out (its default).
    """

    key: str
    widget: str
    default: Callable[[ModelConfig], Any]
    decode: Callable[[str, ModelConfig], tuple[Any, list[str]]]
    encode: Callable[[Any, ModelConfig], str | None]


def _keys(page: str) -> tuple[str, str]:
    return f"sortlist.url.{page}.written", f"sortlist.url.{page}.params"


def _url(params: Sequence[Param]) -> dict[str, str]:
    out = {}
    for p in params:
        if p.key in st.query_params:
            out[p.key] = st.query_params.get(p.key) or ""
    return out


def bind(page: str, model: LoadedModel, params: Sequence[Param]) -> bool:
    """Preset the widgets from the URL when it is new to this page; True when it did."""
    written_key, remembered_key = _keys(page)
    url = _url(params)
    present = all(p.widget in st.session_state for p in params)
    if present and st.session_state.get(written_key) == (model.weights_sha256, url):
        return False
    if not url and st.session_state.get(remembered_key):
        url = dict(st.session_state[remembered_key])
    cfg = model.config
    for p in params:
        value = p.default(cfg)
        if p.key in url:
            text = url[p.key]
            if len(text) > MAX_PARAM_CHARS:
                st.warning(
                    f"Ignored `{p.key}` in the link: it is longer than {MAX_PARAM_CHARS} characters.",
                    icon="🔗",
                )
            else:
                try:
                    value, warnings = p.decode(text, cfg)
                    for warning in warnings:
                        st.warning(warning, icon="🔗")
                except ValueError as exc:
                    shown = text if len(text) <= 24 else text[:23] + "…"
                    st.warning(
                        f"Ignored `{p.key}={shown}` in the link: {exc}; showing the default.", icon="🔗"
                    )
                    value = p.default(cfg)
        st.session_state[p.widget] = value
    return True


def publish(page: str, model: LoadedModel, params: Sequence[Param]) -> None:
    """Write the widgets' current values into the URL (defaults left out) and remember them."""
    written_key, remembered_key = _keys(page)
    cfg = model.config
    encoded: dict[str, str] = {}
    for p in params:
        if p.widget in st.session_state:
            text = p.encode(st.session_state[p.widget], cfg)
            if text is not None:
                encoded[p.key] = text
    own = {p.key for p in params}
    current = {k: v for k, v in st.query_params.to_dict().items()}
    if {k: v for k, v in current.items() if k in own} != encoded or set(current) - own:
        st.query_params.from_dict(encoded)
    st.session_state[written_key] = (model.weights_sha256, encoded)
    st.session_state[remembered_key] = encoded


# --------------------------------------------------------------------------- codecs


def decode_lists_text(text: str, cfg: ModelConfig, max_lists: int) -> tuple[list[tuple[int, ...]], list[str]]:
    """`3-1-2_9-8-7` -> valid lists and one warning per list dropped."""
    lists: list[tuple[int, ...]] = []
    warnings: list[str] = []
    for n, chunk in enumerate((c for c in _LIST_SEP.split(text) if c.strip()), start=1):
        if len(lists) == max_lists:
            warnings.append(f"Only the first {max_lists} lists in the link are used.")
            break
        try:
            values = parse_unsorted_list(
                " ".join(v for v in _VALUE_SEP.split(chunk) if v), cfg.list_len, cfg.max_value
            )
        except InvalidListError as exc:
            shown = chunk if len(chunk) <= 24 else chunk[:23] + "…"
            warnings.append(f"Ignored list {n} in the link (`{shown}`): {exc}.")
            continue
        lists.append(tuple(values))
    return lists, warnings


def encode_list_values(lists: Sequence[Sequence[int]]) -> str:
    return encode_lists(lists)


def int_in(text: str, low: int, high: int, what: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"\d{1,10}", text) or not low <= int(text) <= high:
        raise ValueError(f"{what} must be a whole number in {low}..{high}")
    return int(text)
