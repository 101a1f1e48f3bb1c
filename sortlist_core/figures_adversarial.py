"""Plotly builders for the Adversarial, Mystery and Model pages that `figures.py` lacks.

Pure functions (no streamlit, no model runs), following `figures.py`'s conventions: Okabe-Ito
colours per head / series, the diverging scale centred on 0 for signed values, and every trace
named so `figures.figure_frame` turns the figure into its data table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .figures import HEAD_COLOURS, SIGNED_SCALE, _grid_figure, _layout


def family_failure_bar(wrong: Mapping[str, float], labels: Mapping[str, str], n_per_family: int) -> go.Figure:
    """Fraction of lists with at least one wrong prediction, per family of lists."""
    families = list(wrong)
    fig = go.Figure(
        go.Bar(
            name="lists with a wrong prediction",
            x=[labels.get(f, f) for f in families],
            y=[wrong[f] for f in families],
            marker_color=[HEAD_COLOURS[i % len(HEAD_COLOURS)] for i in range(len(families))],
            texttemplate="%{y:.1%}",
            textposition="outside",
            hovertemplate="%{x}: %{y:.2%} of lists go wrong<extra></extra>",
        )
    )
    top = max([*wrong.values(), 0.0])
    fig.update_yaxes(
        title={"text": "fraction of lists sorted wrongly"}, tickformat=".0%", range=[0, max(0.05, top * 1.2)]
    )
    fig.update_xaxes(title={"text": "family of lists"})
    return _layout(
        fig, f"How often each kind of list goes wrong ({n_per_family:,} random lists per family)", height=400
    )


def search_family_bar(scored: Mapping[str, int], wrong: Mapping[str, int]) -> go.Figure:
    """The search's candidates per family and how many of them the model got wrong."""
    families = [f for f in scored if scored[f]]
    rates = [wrong.get(f, 0) / scored[f] for f in families]
    fig = go.Figure(
        go.Bar(
            name="wrong fraction",
            x=families,
            y=rates,
            customdata=np.array([[wrong.get(f, 0), scored[f]] for f in families]),
            marker_color=HEAD_COLOURS[0],
            texttemplate="%{y:.1%}",
            textposition="outside",
            hovertemplate="%{x}: %{customdata[0]} of %{customdata[1]} candidates wrong<extra></extra>",
        )
    )
    fig.update_yaxes(
        title={"text": "candidates sorted wrongly"},
        tickformat=".0%",
        range=[0, max(0.05, max(rates or [0]) * 1.2)],
    )
    fig.update_xaxes(title={"text": "where the candidate came from"})
    return _layout(fig, "Search: share of candidates the model got wrong, by source", height=380)


def offset_profile_chart(offsets: Sequence[int], values: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """The OV circuit along its diagonals, relative to each head's own copying (offset 0 = 1,
    left out so the small off-diagonal values stay readable).

    Bars per head; offsets < 0 are predictions *smaller* than the source token."""
    keep = [i for i, o in enumerate(offsets) if o != 0]
    fig = go.Figure()
    for h, name in enumerate(head_names):
        fig.add_bar(
            name=f"head {name}",
            x=[f"{offsets[i]:+d}" for i in keep],
            y=[values[h][i] for i in keep],
            marker_color=HEAD_COLOURS[h % len(HEAD_COLOURS)],
            hovertemplate=f"head {name}<br>offset %{{x}}: %{{y:.3f}} of its own copying<extra></extra>",
        )
    fig.update_yaxes(
        title={"text": "OV value ÷ own copying (offset 0 = 1)"}, zeroline=True, zerolinecolor="#444"
    )
    fig.update_xaxes(title={"text": "offset = predicted token − source token"}, type="category")
    return _layout(
        fig,
        "What attending to token s writes to the tokens next to s (full OV circuit, tokens each head copies)",
        height=420,
        barmode="group",
        legend={"orientation": "h", "y": -0.22},
    )


def direct_path_experiment_bar(
    groups: Sequence[str], with_path: Sequence[float], without_path: Sequence[float]
) -> go.Figure:
    """Accuracy at d with and without the direct path, for cluster and control lists."""
    fig = go.Figure()
    for name, values, colour in (
        ("model intact", with_path, HEAD_COLOURS[0]),
        ("direct path removed", without_path, HEAD_COLOURS[1]),
    ):
        fig.add_bar(
            name=name,
            x=list(groups),
            y=list(values),
            marker_color=colour,
            texttemplate="%{y:.1%}",
            textposition="outside",
        )
    fig.update_yaxes(title={"text": "prediction at d is d+1"}, tickformat=".0%", range=[0, 1.12])
    fig.update_xaxes(title={"text": "lists"})
    return _layout(
        fig,
        "Accuracy at d, with and without W<sub>E</sub> W<sub>U</sub>",
        height=400,
        barmode="group",
        legend={"orientation": "h", "y": -0.2},
    )


def training_curve(
    steps: Sequence[int],
    losses: Sequence[float],
    val_steps: Sequence[int],
    val_accuracy: Sequence[float],
    title: str = "Training progress",
) -> go.Figure:
    """Training loss (log scale) and validation accuracy against the optimiser step."""
    step_axis = {"title": {"text": "step"}}
    fig, [[(x_loss, y_loss), (x_acc, y_acc)]] = _grid_figure(
        1,
        2,
        x_axes=[step_axis, step_axis],
        y_axes=[
            {"title": {"text": "cross-entropy"}, "type": "log"},
            {"title": {"text": "accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        ],
        subplot_titles=["training loss", "validation accuracy"],
        horizontal_spacing=0.12,
    )
    fig.add_traces(
        [
            go.Scatter(
                x=list(steps),
                y=list(losses),
                name="training loss",
                mode="lines",
                line={"color": HEAD_COLOURS[0]},
                xaxis=x_loss,
                yaxis=y_loss,
            ),
            go.Scatter(
                x=list(val_steps),
                y=list(val_accuracy),
                name="validation accuracy",
                mode="lines+markers",
                line={"color": HEAD_COLOURS[1]},
                xaxis=x_acc,
                yaxis=y_acc,
            ),
        ]
    )
    return _layout(fig, title, height=360, showlegend=False)


def dla_grid(dla: np.ndarray, facet_titles: Sequence[str], title: str) -> go.Figure:
    """The write-up's 2×2 DLA per list, side by side: rows = prediction (y, z), columns = source
    (y, z), each cell labelled with its value, one diverging scale centred on 0 for all panels."""
    dla = np.asarray(dla, dtype=float)
    n = dla.shape[0]
    y_axis = {"type": "category", "autorange": "reversed"}
    fig, cells = _grid_figure(
        1,
        n,
        x_axes=[{"title": {"text": "source token"}, "type": "category"}] * n,
        y_axes=[y_axis | {"title": {"text": "effect on prediction"}}] + [y_axis] * (n - 1),
        subplot_titles=list(facet_titles),
        title_size=13,
        horizontal_spacing=0.04,
        shared_yaxes=True,
    )
    bound = float(np.nanmax(np.abs(dla))) if dla.size else 1.0
    x, y = ["src = y", "src = z"], ["pred = y", "pred = z"]
    fig.add_traces(
        [
            go.Heatmap(
                z=dla[i],
                x=x,
                y=y,
                name=facet_titles[i].replace("<br>", " "),
                colorscale=SIGNED_SCALE,
                zmid=0,
                zmin=-bound,
                zmax=bound,
                showscale=i == n - 1,
                colorbar={"title": {"text": "DLA"}},
                texttemplate="%{z:+.2f}",
                textfont={"size": 15},
                hovertemplate="%{x} → %{y}: %{z:.3f}<extra></extra>",
                xaxis=x_id,
                yaxis=y_id,
            )
            for i, (x_id, y_id) in enumerate(cells[0])
        ]
    )
    fig = _layout(fig, title, height=400)
    fig.layout.margin.t = 120  # room for the panel titles under the figure title
    return fig
