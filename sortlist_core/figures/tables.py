"""Any figure built here as a table: the accessible alternative and the CSV download."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

_HTML_TAG = re.compile(r"<[^>]+>")


def _axis_title(fig: go.Figure, trace: go.BaseTraceType, axis: str, default: str) -> str:
    ref = getattr(trace, f"{axis}axis", None) or axis
    layout_key = ref.replace("x", "xaxis").replace("y", "yaxis")
    layout_axis = getattr(fig.layout, layout_key, None)
    text = layout_axis.title.text if layout_axis is not None and layout_axis.title is not None else None
    return _HTML_TAG.sub("", text) if text else default


def figure_frame(fig: go.Figure) -> pd.DataFrame:
    """Long-form data of any figure built here: one row per cell / bar / point.

    Columns: `panel` (trace name or facet title), the x and y axis titles (or `x`/`y`) and
    `value` for heatmaps. Text marks (○/✗) come along as `mark` when present.
    """
    frames = []
    for trace in fig.data:
        panel = _HTML_TAG.sub("", trace.name or "")
        x_name = _axis_title(fig, trace, "x", "x")
        y_name = _axis_title(fig, trace, "y", "y")
        if x_name == y_name:
            x_name, y_name = f"{x_name} (x)", f"{y_name} (y)"
        if isinstance(trace, go.Heatmap):
            z = np.asarray(trace.z, dtype=float)
            rows = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
            cols = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
            frame = pd.DataFrame(
                {
                    "panel": panel,
                    y_name: np.repeat(rows, len(cols)),
                    x_name: np.tile(cols, len(rows)),
                    "value": z.reshape(-1),
                }
            )
            if trace.text is not None:
                marks = np.asarray(trace.text, dtype=object).reshape(-1)
                if marks.size == z.size:
                    frame["mark"] = marks
        else:
            x = list(trace.x) if trace.x is not None else []
            y = list(trace.y) if trace.y is not None else []
            frame = pd.DataFrame({"panel": panel, x_name: x, y_name: y})
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def matrix_frame(
    matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], row_title: str = ""
) -> pd.DataFrame:
    """A wide table of one heatmap (rows × columns), the easiest layout to read as a table."""
    frame = pd.DataFrame(np.asarray(matrix), index=list(row_labels), columns=list(col_labels))
    frame.index.name = row_title or None
    return frame
