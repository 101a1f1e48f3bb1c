"""The Mystery page's figures: the OV circuit's off-diagonal, the direct-path experiment and
the write-up's 2×2 DLA per list."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..mystery import DirectPathExperiment, MysteryCase
from .layout import (
    SIG_HOVER,
    SIGNED_SCALE,
    cell_text,
    finish_grouped_bars,
    finish_layout,
    grid_figure,
    head_colour,
)


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


def direct_path_experiment_bar(experiment: DirectPathExperiment) -> go.Figure:
    """Accuracy at d with and without the direct path, for cluster and control lists."""
    groups = ["with d, d+1, d+2", "control (no d+2)"]
    fig = go.Figure()
    for name, values, colour in (
        ("model intact", [experiment.cluster_acc_with, experiment.control_acc_with], head_colour(0)),
        (
            "direct path removed",
            [experiment.cluster_acc_without, experiment.control_acc_without],
            head_colour(1),
        ),
    ):
        fig.add_bar(
            name=name,
            x=groups,
            y=values,
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


DLA_COLUMNS = 2  # panels per row: two stay readable from ~440 px (beside a reference) up


def case_dla_grid(cases: Sequence[MysteryCase], panel_titles: Sequence[str]) -> go.Figure:
    """`dla_grid` of the cases' 2×2 DLA (`mystery.dla_yz`), one panel per case."""
    return dla_grid(
        np.stack([c.dla for c in cases]),  # [case pred src]
        panel_titles,
        "DLA at x from source y/z to prediction y/z, per list (x, y, z)",
    )


def dla_grid(
    dla: np.ndarray, facet_titles: Sequence[str], title: str, columns: int = DLA_COLUMNS
) -> go.Figure:
    """The write-up's 2×2 DLA per list, `columns` panels to a row: rows = prediction (y, z),
    columns = source (y, z), each cell labelled with its value by the one number formatter
    (`cell_text`: −1.53, never "1.5"), one diverging scale centred on 0 for all panels.

    Readable at the width it gets: panel titles sit in their own band above each row, axis
    titles once per figure (not per panel), and the colour bar outside the panels."""
    dla = np.asarray(dla, dtype=float)
    n = dla.shape[0]
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    title_lines = max((t.count("<br>") + 1 for t in facet_titles), default=1)
    panel_px, title_px = 200, 22 * title_lines
    height = rows * (panel_px + title_px + 40) + 90
    y_axis = {"type": "category", "autorange": "reversed", "tickfont": {"size": 12}}
    x_axis = {"type": "category", "tickfont": {"size": 12}}
    fig, cells = grid_figure(
        rows,
        cols,
        x_axes=[x_axis] * (rows * cols),
        y_axes=[y_axis] * (rows * cols),
        subplot_titles=list(facet_titles),
        title_size=12,
        horizontal_spacing=0.08,
        vertical_spacing=(title_px + 40) / height if rows > 1 else 0.0,  # tick labels, then titles
        shared_yaxes=True,
    )
    bound = float(np.nanmax(np.abs(dla))) if dla.size else 1.0
    bound = bound if bound > 0 else 1.0
    x, y = ["src y", "src z"], ["pred y", "pred z"]
    flat = [cell for row in cells for cell in row]
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
                showscale=i == 0,
                colorbar={"title": {"text": "DLA"}, "thickness": 12, "len": 0.8},
                text=cell_text(dla[i]),
                texttemplate="%{text}",
                textfont={"size": 13},
                hovertemplate=f"%{{x}} → %{{y}}: %{{z:{SIG_HOVER}}}<extra></extra>",
                xaxis=x_id,
                yaxis=y_id,
            )
            for i, (x_id, y_id) in enumerate(flat[:n])
        ]
    )
    for x_id, y_id in flat[n:]:  # an empty last cell: no axes drawn
        fig.layout[x_id.replace("x", "xaxis")].visible = False
        fig.layout[y_id.replace("y", "yaxis")].visible = False
    fig = finish_layout(fig, title, height=height)
    fig.layout.margin = {"l": 60, "r": 20, "t": 60 + title_px, "b": 80}
    # one caption for the axes, under the panels: per-panel axis titles collide at half width
    fig.add_annotation(
        text="columns: source y / z<br>rows: effect on prediction y / z",
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-45,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": 12},
    )
    return fig
