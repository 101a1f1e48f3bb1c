"""The Model page's figure: training loss and validation accuracy against the step."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from ..numbers import sig_figs
from .layout import finish_layout, grid_figure, head_colour


def log_ticks(values: Sequence[float]) -> tuple[list[float], list[str]]:
    """Ticks for a log axis over `values`, each labelled with its plain value ("0.01", "0.1",
    "1"): plotly's own labels repeat "5, 2" between the decades ("5, 2, 1, 5, 2, 0.1"). Decades,
    plus 2× and 5× when the data spans three decades or fewer."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return [], []
    lo, hi = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    hi = max(hi, lo + 1)
    steps = (1, 2, 5) if hi - lo <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in steps]
    ticks = [t for t in ticks if min(positive) / 10 <= t <= max(positive) * 10] or ticks
    return ticks, [sig_figs(t, 1) for t in ticks]


def training_curve(
    steps: Sequence[int],
    losses: Sequence[float],
    val_steps: Sequence[int],
    val_accuracy: Sequence[float],
    title: str = "Training progress",
) -> go.Figure:
    """Training loss (log scale) and validation accuracy against the optimiser step."""
    step_axis = {"title": {"text": "step"}}
    tickvals, ticktext = log_ticks(losses)
    loss_axis = {"title": {"text": "cross-entropy"}, "type": "log"}
    if tickvals:
        loss_axis |= {"tickmode": "array", "tickvals": tickvals, "ticktext": ticktext}
    fig, [[(x_loss, y_loss), (x_acc, y_acc)]] = grid_figure(
        1,
        2,
        x_axes=[step_axis, step_axis],
        y_axes=[
            loss_axis,
            {"title": {"text": "accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        ],
        subplot_titles=["training loss", "validation accuracy"],
        horizontal_spacing=0.12,
    )
    panels = (  # (name, x, y, mode, axes): loss left, validation accuracy right
        ("training loss", steps, losses, "lines", (x_loss, y_loss)),
        ("validation accuracy", val_steps, val_accuracy, "lines+markers", (x_acc, y_acc)),
    )
    fig.add_traces(
        [
            go.Scatter(
                x=list(x), y=list(y), name=name, mode=mode, line={"color": head_colour(i)}, xaxis=xa, yaxis=ya
            )
            for i, (name, x, y, mode, (xa, ya)) in enumerate(panels)
        ]
    )
    return finish_layout(fig, title, height=360, showlegend=False)
