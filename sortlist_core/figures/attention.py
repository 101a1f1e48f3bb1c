"""The Attention page's figures: how often the write-up's attention claims hold, attention
patterns as heatmaps (the circuitsvis fallback) and head ablation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..ablation import AblationResult
from ..attention import AttentionClaims
from .layout import PROB_SCALE, SIG_HOVER, facet_heatmaps, finish_grouped_bars, finish_layout, head_colour


def attention_claims_bar(claims: AttentionClaims, head_names: Sequence[str]) -> go.Figure:
    """Fraction of cases where each of the write-up's attention observations holds, per head."""
    groups = ["SEP attends to the smallest value", "token attends to the next larger value"]
    fig = go.Figure()
    per_head = [claims.sep_attends_min, claims.attends_next_larger]
    for h, name in enumerate(head_names):
        fig.add_bar(
            name=f"head {name}",
            x=groups,
            y=[per_head[0][h], per_head[1][h]],
            marker_color=head_colour(h),
            texttemplate="%{y:.1%}",
            textposition="outside",
        )
    fig.add_bar(
        name="at least one head",
        x=groups,
        y=[claims.sep_attends_min_any, claims.attends_next_larger_any],
        marker_color="#999999",
        texttemplate="%{y:.1%}",
        textposition="outside",
    )
    fig.update_yaxes(title={"text": "fraction of cases"}, range=[0, 1.12], tickformat=".0%")
    return finish_grouped_bars(
        fig,
        f"How often the top-attended token is the one the write-up predicts ({claims.n_lists} lists)",
        height=420,
        legend_y=-0.15,
    )


def attention_heatmaps(
    pattern: np.ndarray, tokens: Sequence[str], head_names: Sequence[str], title: str
) -> go.Figure:
    """[head dest src] attention of one sequence as heatmaps: the circuitsvis fallback."""
    labels = [f"{tok} ({i})" for i, tok in enumerate(tokens)]
    return facet_heatmaps(
        pattern,
        [f"head {h}" for h in head_names],
        labels,
        labels,
        "Source position",
        "Destination position",
        title,
        height=560,
        value_name="attention",
        signed=False,
        token_axes=False,
    )


def focus_attention_heatmap(
    pattern: np.ndarray, tokens: Sequence[str], head_name: str, focus: int | None, title: str
) -> go.Figure:
    """One head's [dest src] attention with *every* row and column labelled `token (position)`
    (circuitsvis's zoomed view labels every other row when space is short) and the row
    `focus` outlined: the position an exercise asks about."""
    labels = [f"{tok} ({i})" for i, tok in enumerate(tokens)]
    n = len(labels)
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(pattern, dtype=float),
            x=labels,
            y=labels,
            colorscale=PROB_SCALE,
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "attention"}, "thickness": 12},
            hovertemplate=f"destination %{{y}}<br>source %{{x}}<br>attention: %{{z:{SIG_HOVER}}}<extra>head {head_name}</extra>",
        )
    )
    every = {
        "type": "category",
        "tickmode": "array",
        "tickvals": labels,
        "ticktext": labels,
        "tickfont": {"size": 11},
    }
    fig.update_xaxes(every | {"title": {"text": "source token (position)"}, "tickangle": -60})
    fig.update_yaxes(every | {"title": {"text": "destination token (position)"}, "autorange": "reversed"})
    if focus is not None and 0 <= focus < n:
        fig.add_shape(
            type="rect",
            xref="x",
            yref="y",
            x0=-0.5,
            x1=focus + 0.5,  # causal: the row's cells up to the diagonal
            y0=focus - 0.5,
            y1=focus + 0.5,
            line={"color": "#D55E00", "width": 3},
            fillcolor="rgba(0,0,0,0)",
            layer="above",
        )
    # 22 px a row: every label fits (Plotly, like Chart.js, drops labels that would overlap)
    fig = finish_layout(fig, title, height=max(420, 22 * n + 190))
    fig.layout.margin.l = 110  # the labels and the axis title, unclipped
    return fig


def ablation_bar(result: AblationResult, head_names: Sequence[str]) -> go.Figure:
    """Loss increase from mean- and zero-ablating each head's output."""
    fig = go.Figure()
    heads = [f"head {h}" for h in head_names]
    for kind, values, colour in (
        ("mean ablation", result.mean, "#0072B2"),
        ("zero ablation", result.zero, "#E69F00"),
    ):
        fig.add_bar(
            name=kind, x=heads, y=values, marker_color=colour, texttemplate="%{y:.3f}", textposition="outside"
        )
    top = max([*result.mean, *result.zero, 0.0])
    fig.update_yaxes(
        title={"text": "loss increase (nats)"},
        range=[min(0.0, *result.mean, *result.zero), top * 1.15 + 1e-9],
    )
    fig.update_xaxes(title={"text": "ablated head (layer 0)"})
    return finish_grouped_bars(
        fig,
        f"Loss increase when a head's output is ablated (base loss {result.base_loss:.3f})",
        height=400,
        legend_y=-0.2,
    )
