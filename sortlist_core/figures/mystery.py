"""The Mystery page's figures: the OV circuit's off-diagonal, the direct-path experiment and
the write-up's 2×2 DLA per list."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .layout import SIG_HOVER, SIGNED_SCALE, finish_grouped_bars, finish_layout, grid_figure, head_colour


def offset_profile_chart(offsets: Sequence[int], values: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """The OV circuit along its diagonals, relative to each head's own copying (offset 0 = 1,
    left out so the small off-diagonal values stay readable).

    Bars per head; offsets < 0 are predictions *smaller* than the source token."""
    keep = [i for i, o in enumerate(offsets) if o != 0]
    fig = go.Figure()
    for h, name in enumerate(head_names):
        fig.add_bar(
            name=f"head {name}",
            x=[f"{offsets[i]:+d}".replace("-", "\u2212") for i in keep],  # the axes' minus sign
            y=[values[h][i] for i in keep],
            marker_color=head_colour(h),
            hovertemplate=f"head {name}<br>offset %{{x}}: %{{y:{SIG_HOVER}}} of its own copying<extra></extra>",
        )
    # Short lines: at 1280 px the chart is ~700 px wide and 280 px tall inside its margins.
    fig.update_yaxes(
        title={"text": "OV value ÷ own copying<br>(offset 0 = 1)"},
        zeroline=True,
        zerolinecolor="#444",
        automargin=True,
    )
    fig.update_xaxes(title={"text": "offset = predicted token − source token"}, type="category")
    return finish_grouped_bars(
        fig,
        "What attending to token s writes to the tokens next to s<br>"
        "<sup>full OV circuit, over the tokens each head copies</sup>",
        height=440,
        legend_y=-0.22,
    )


def direct_path_experiment_bar(
    groups: Sequence[str], with_path: Sequence[float], without_path: Sequence[float]
) -> go.Figure:
    """Accuracy at d with and without the direct path, for cluster and control lists."""
    fig = go.Figure()
    for name, values, colour in (
        ("model intact", with_path, head_colour(0)),
        ("direct path removed", without_path, head_colour(1)),
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
    return finish_grouped_bars(
        fig,
        "Accuracy at d, with and without W<sub>E</sub> W<sub>U</sub>",
        height=400,
        legend_y=-0.2,
    )


def dla_grid(dla: np.ndarray, facet_titles: Sequence[str], title: str) -> go.Figure:
    """The write-up's 2×2 DLA per list, side by side: rows = prediction (y, z), columns = source
    (y, z), each cell labelled with its value, one diverging scale centred on 0 for all panels."""
    dla = np.asarray(dla, dtype=float)
    n = dla.shape[0]
    y_axis = {"type": "category", "autorange": "reversed"}
    fig, cells = grid_figure(
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
                hovertemplate=f"%{{x}} → %{{y}}: %{{z:{SIG_HOVER}}}<extra></extra>",
                xaxis=x_id,
                yaxis=y_id,
            )
            for i, (x_id, y_id) in enumerate(cells[0])
        ]
    )
    fig = finish_layout(fig, title, height=400)
    fig.layout.margin.t = 120  # room for the panel titles under the figure title
    return fig
