"""Every figure with its data: the chart, a table alternative and CSV/JSON downloads.

    show_figure(fig, "full_ov", data={"full_ov": ov.tolist(), ...})

draws `fig`, an expander with the figure's data as a table (long form from
`figures.figure_frame`, or a `table` you pass, e.g. a wide matrix from `figures.matrix_frame`;
built only while the expander is open) and download buttons for that table as CSV and for `data`
(default: the table's records) as JSON (generated only when clicked).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sortlist_core.figures import figure_frame

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """A file/key-safe name: 'Full OV (head 0.1)' -> 'full_ov_head_0_1'."""
    return _SLUG.sub("_", name.lower()).strip("_") or "data"


def _jsonable(value: Any) -> Any:
    """JSON-ready data: arrays to lists, analysis results via `.to_dict()`, NaN/inf to null."""
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.to_dict(orient="records"))
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    return value


def json_bytes(data: Any) -> bytes:
    """JSON of dicts/lists/numpy arrays/DataFrames/analysis results (anything with `.to_dict()`)."""
    return json.dumps(_jsonable(data), indent=1, allow_nan=False, default=str).encode()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=not isinstance(frame.index, pd.RangeIndex)).encode()


def download_buttons(name: str, table: pd.DataFrame | Callable[[], pd.DataFrame], data: Any = None) -> None:
    """CSV of `table` and JSON of `data` (default: the table), side by side.

    The files are generated only when a button is clicked (deferred `data` callables), so a
    page with many figures sends and stores no download bytes on ordinary reruns.
    """
    key = slug(name)
    get_table = table if callable(table) else (lambda: table)
    row = st.container(horizontal=True)  # buttons keep their natural width, even in narrow columns
    row.download_button(
        "CSV",
        lambda: csv_bytes(get_table()),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"dl_csv_{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    row.download_button(
        "JSON",
        lambda: json_bytes(get_table() if data is None else data),
        file_name=f"{key}.json",
        mime="application/json",
        key=f"dl_json_{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def show_table(
    name: str, table: pd.DataFrame | Callable[[], pd.DataFrame], data: Any = None, label: str | None = None
) -> None:
    """The table alternative in an expander (built only while open), and its downloads."""
    get_table = table if callable(table) else (lambda: table)
    expander = st.expander(label or f"Table: {name}", key=f"table_{slug(name)}", on_change="rerun")
    with expander:
        if expander.open:  # lazy: a closed expander costs nothing on a rerun
            frame = get_table()
            st.dataframe(frame, width="stretch", height=min(420, 40 + 35 * len(frame)))
    download_buttons(name, get_table, data)


def show_figure(
    fig: go.Figure,
    name: str,
    *,
    table: pd.DataFrame | None = None,
    data: Any = None,
    caption: str | None = None,
) -> None:
    """Draw `fig` (keeping its own colour scales), then its table and downloads.

    `name` must be unique on the page: it keys the chart, the table and the download buttons.
    Without `table`, the table is the figure's long-form data (`figures.figure_frame`).
    """
    st.plotly_chart(fig, theme=None, key=f"fig_{slug(name)}", config={"displaylogo": False})
    if caption:
        st.caption(caption)
    show_table(name, (lambda: figure_frame(fig)) if table is None else table, data)
