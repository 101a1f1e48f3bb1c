"""The OV/QK page's figures: full OV and QK circuits, one destination's QK scores, the positional
QK circuit, the direct path and which head copies which token."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..circuits import HeadResponsibility
from .layout import (
    facet_heatmaps,
    finish_grouped_bars,
    finish_layout,
    grid_figure,
    head_colour,
    token_axis,
    vocab_labels,
)


def _per_head_token_heatmaps(
    matrices: np.ndarray,
    circuit: str,
    head_names: Sequence[str],
    x_title: str,
    y_title: str,
    title: str,
    value: str,
) -> go.Figure:
    """[head token token] circuit matrices, one panel per head, vocab labels on both axes."""
    labels = vocab_labels(matrices.shape[-1])
    facets = [f"{circuit} head {h}" for h in head_names]
    return facet_heatmaps(matrices, facets, labels, labels, x_title, y_title, title, value_name=value)


def ov_circuit_heatmaps(full_ov: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """Full OV circuit `W_E W_OV W_U` per head: a bright diagonal means the head copies."""
    title = "Full OV circuit W<sub>E</sub> W<sub>OV</sub> W<sub>U</sub>, layer 0 (a diagonal means copying)"
    return _per_head_token_heatmaps(
        full_ov, "W<sub>OV</sub>", head_names, "Predicted token", "Source token", title, "logit"
    )


def qk_circuit_heatmaps(full_qk: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """Full QK circuit `W_E W_QK W_E^T` per head: which source tokens each destination prefers."""
    title = (
        "Full QK circuit W<sub>E</sub> W<sub>QK</sub> W<sub>E</sub><sup>T</sup>, layer 0 (attention scores)"
    )
    return _per_head_token_heatmaps(
        full_qk, "W<sub>QK</sub>", head_names, "Source token", "Destination token", title, "score"
    )


def qk_bar(
    scores: np.ndarray, dest_label: str, head_names: Sequence[str], src_labels: Sequence[str] | None = None
) -> go.Figure:
    """The write-up's `qk_bar`: one destination token's QK score for every source token, per head."""
    src_labels = list(src_labels) if src_labels is not None else vocab_labels(scores.shape[-1])
    fig = go.Figure()
    for h, name in enumerate(head_names):
        fig.add_bar(name=f"head {name}", x=src_labels, y=scores[h], marker_color=head_colour(h))
    fig.update_xaxes(**token_axis(src_labels, "Source token"))
    fig.update_yaxes(title={"text": "Attention score"}, zeroline=True)
    return finish_grouped_bars(
        fig,
        f"Attention scores for destination token {dest_label}",
        height=400,
        legend_y=-0.2,
    )


def positional_qk_heatmaps(
    pos_qk: np.ndarray, position_labels: Sequence[str], head_names: Sequence[str]
) -> go.Figure:
    """`W_pos W_QK W_E^T`: how each query position biases attention to each key token."""
    return facet_heatmaps(
        pos_qk,
        [f"W<sub>QK</sub> head {h}" for h in head_names],
        vocab_labels(pos_qk.shape[-1]),
        list(position_labels),
        "Key token",
        "Query position",
        "Positional QK circuit W<sub>pos</sub> W<sub>QK</sub> W<sub>E</sub><sup>T</sup>, layer 0",
        height=440,
        value_name="score",
    )


def direct_path_heatmap(direct: np.ndarray) -> go.Figure:
    """`W_E W_U`: the logits an input token adds at its own position, skipping attention."""
    labels = vocab_labels(direct.shape[-1])
    return facet_heatmaps(
        direct[None],
        ["W<sub>E</sub> W<sub>U</sub>"],
        labels,
        labels,
        "Prediction",
        "Input token",
        "DLA from the direct path W<sub>E</sub> W<sub>U</sub>",
        height=560,
        value_name="logit",
    )


MIN_LABELLED_RUN = 6  # tokens


def _copy_strength_lines(
    copy_strength: np.ndarray, head_names: Sequence[str], **axes: str
) -> list[go.Scatter]:
    """One line per head over the value tokens (on the subplot `axes` name, if any)."""
    labels = [str(t) for t in range(copy_strength.shape[-1])]
    return [
        go.Scatter(
            x=labels,
            y=copy_strength[h],
            name=f"head {name}",
            mode="lines+markers",
            line={"color": head_colour(h)},
            **axes,
        )
        for h, name in enumerate(head_names)
    ]


def copy_strength_chart(copy_strength: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """Copy strength (OV diagonal) per head and value token, without saying which head wins:
    what the page shows before its "who copies" questions are answered."""
    labels = [str(t) for t in range(copy_strength.shape[-1])]
    fig = go.Figure(_copy_strength_lines(copy_strength, head_names))
    return finish_layout(
        fig,
        "Copy strength per head (diagonal of the full OV circuit)",
        height=360,
        xaxis=token_axis(labels, "Value token"),
        yaxis={"title": {"text": "copy strength<br>(OV diagonal)"}},
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )


def head_responsibility_strip(resp: HeadResponsibility, head_names: Sequence[str]) -> go.Figure:
    """Copy strength (OV diagonal) per head and value token, plus which head copies each token."""
    n_values = resp.copy_strength.shape[-1]
    labels = [str(t) for t in range(n_values)]
    fig, [[(x_line, y_line)], [(x_strip, y_strip)]] = grid_figure(
        2,
        1,
        x_axes=[{"type": "category"}, token_axis(labels, "Value token")],
        y_axes=[{"title": {"text": "copy strength<br>(OV diagonal)"}}, {}],
        vertical_spacing=0.06,
        row_heights=[0.78, 0.22],
        shared_xaxes=True,
    )
    traces: list[go.Scatter | go.Heatmap] = [
        *_copy_strength_lines(resp.copy_strength, head_names, xaxis=x_line, yaxis=y_line)
    ]
    n_heads = len(head_names)
    # Discrete colour per head: a stepped colourscale over integer owners.
    scale = []
    for h in range(n_heads):
        colour = head_colour(h)
        scale += [[h / n_heads, colour], [(h + 1) / n_heads, colour]]
    traces.append(
        go.Heatmap(
            z=[resp.owner],
            x=labels,
            y=["stronger copier"],
            text=[[head_names[o] for o in resp.owner]],
            name="stronger copier",
            colorscale=scale,
            zmin=-0.5,
            zmax=n_heads - 0.5,
            showscale=False,
            hovertemplate="token %{x}: head %{text}<extra></extra>",
            xaxis=x_strip,
            yaxis=y_strip,
        )
    )
    fig.add_traces(traces)
    # Name the head on every run wide enough to hold the white label: at 1280 px a token is ~12 px
    # and "head 0.0" ~50 px, and an even run's label sits half a token off its centre (assigned:
    # the grid has no titles).
    fig.layout.annotations = [
        {
            "x": labels[(r.start + r.end) // 2],
            "y": "stronger copier",
            "xref": x_strip,
            "yref": y_strip,
            "text": f"head {head_names[r.head]}",
            "showarrow": False,
            "font": {"color": "white", "size": 12},
        }
        for r in resp.ranges
        if r.end - r.start + 1 >= MIN_LABELLED_RUN
    ]
    return finish_layout(
        fig,
        "Which head copies which token (diagonal of the full OV circuit)",
        height=440,
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )
