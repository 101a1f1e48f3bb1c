"""The Explain page's figures: the hypothesis's loss next to the baselines, its accuracy per
prediction position and per target value next to the model's, and the exhaustive pair checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..explain.pair_checks import PairCheck
from ..explain.score import ScoreCard
from .layout import finish_layout, head_colour

HYPOTHESIS_COLOUR = "#d62728"
MODEL_COLOUR = "#1f77b4"


def loss_bars(card: ScoreCard) -> go.Figure:
    """Loss of the model, the hypothesis and the two baselines on the evaluation set."""
    names = ["model", "your hypothesis", "uniform attention", "heads mean-ablated"]
    scores = [card.model, card.hypothesis, card.uniform, card.ablated]
    colours = [MODEL_COLOUR, HYPOTHESIS_COLOUR, "#9a9a9a", "#6a6a6a"]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[s.loss for s in scores],
            marker_color=colours,
            text=[f"{s.loss:.3f}<br>{s.accuracy:.1%} acc." for s in scores],
            textposition="outside",
            hovertemplate="%{x}: loss %{y:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(title="loss (cross-entropy)", range=[0, max(s.loss for s in scores) * 1.25 + 1e-9])
    return finish_layout(fig, f"Fraction of loss recovered: {card.recovered:.1%}", 360)


def _pair_bars(
    x: Sequence[str], hyp: np.ndarray, model: np.ndarray, title: str, x_title: str, y_title: str
) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=list(x), y=model, name="model", marker_color=MODEL_COLOUR)
    fig.add_bar(x=list(x), y=hyp, name="your hypothesis", marker_color=HYPOTHESIS_COLOUR)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.3})
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title=y_title, range=[0, 1.05])
    return finish_layout(fig, title, 340)


def position_accuracy_bars(labels: Sequence[str], hyp: np.ndarray, model: np.ndarray) -> go.Figure:
    return _pair_bars(labels, hyp, model, "Accuracy per prediction position", "query position", "accuracy")


def value_accuracy_lines(hyp: np.ndarray, model: np.ndarray) -> go.Figure:
    """Accuracy per target value (the value to be predicted); gaps where a value never occurs."""
    values = list(range(len(hyp)))
    fig = go.Figure()
    for name, y, colour in (("model", model, MODEL_COLOUR), ("your hypothesis", hyp, HYPOTHESIS_COLOUR)):
        fig.add_scatter(
            x=values, y=y, name=name, mode="lines+markers", marker_color=colour, line_color=colour
        )
    fig.update_layout(legend={"orientation": "h", "y": -0.3})
    fig.update_xaxes(title="target value")
    fig.update_yaxes(title="accuracy", range=[-0.02, 1.05])
    return finish_layout(fig, "Accuracy per value predicted", 340)


def pair_check_heatmaps(checks: Sequence[PairCheck]) -> go.Figure:
    """One panel per claim: green where it holds for that (query, key) pair, red where it fails."""
    fig = make_subplots(
        rows=1,
        cols=len(checks),
        subplot_titles=[f"{c.title}<br>holds on {c.fraction:.1%} of pairs" for c in checks],
        horizontal_spacing=0.06,
    )
    scale = [[0, "#d62728"], [0.5, "#d62728"], [0.5, "#2ca02c"], [1, "#2ca02c"]]
    for i, c in enumerate(checks, start=1):
        n_q, n_k = c.holds.shape
        fig.add_trace(
            go.Heatmap(
                z=c.holds,
                x=list(range(n_k)),
                y=list(range(n_q)),
                zmin=0,
                zmax=1,
                colorscale=scale,
                showscale=False,
                hovertemplate=f"{c.query_label} %{{y}}, {c.key_label} %{{x}}: %{{z}}<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.update_xaxes(title=c.key_label, row=1, col=i)
        fig.update_yaxes(title=c.query_label, autorange="reversed", row=1, col=i)
    fig.update_annotations(font_size=11)
    return finish_layout(fig, "Claims about weights, checked on every token pair", 430, margin={"t": 110})


__all__ = [
    "head_colour",
    "loss_bars",
    "pair_check_heatmaps",
    "position_accuracy_bars",
    "value_accuracy_lines",
]
