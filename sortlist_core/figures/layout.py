"""The look every figure shares: colour scales, head colours, the cut-down template, token
axes, and the subplot grid and faceted heatmaps the topic modules build on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from ..numbers import sig_figs, signed

# Hover values keep 3 significant figures (d3 format, which also draws U+2212 for minus): a QK
# score of 0.0021 must not read "0.002" next to "0.000" (`sortlist_app.lessons.wording.sig_figs`).
SIG_HOVER = ".3~g"

SIGNED_SCALE = "RdBu"  # ColorBrewer diverging, colour-blind safe; blue = positive
PROB_SCALE = "Blues"
# Okabe-Ito: distinguishable under every common colour-vision deficiency.
HEAD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
TICK_EVERY = 5
# plotly's "simple_white" cut down to the trace types drawn here, built and validated once, and
# attached to each figure without re-validation (`apply_template`): passing it through
# `update_layout` re-validated every trace type's defaults on every figure, 8-50 ms a figure and
# most of a warm page rerun (bench/profile_page.py).
TEMPLATE = go.layout.Template(
    layout=pio.templates["simple_white"].layout,
    data={kind: pio.templates["simple_white"].data[kind] for kind in ("heatmap", "bar", "scatter")},
)
FONT = {"size": 13}


def vocab_labels(d_vocab: int) -> list[str]:
    """Token labels `0 .. max_value, SEP` for a vocab of `d_vocab` items."""
    return [str(i) for i in range(d_vocab - 1)] + ["SEP"]


def sparse_ticks(labels: Sequence[str], every: int = TICK_EVERY) -> list[str]:
    """Every `every`-th label plus the last one (`SEP`), so 52 tokens stay readable."""
    ticks = [label for i, label in enumerate(labels) if i % every == 0]
    last = labels[-1] if labels else None
    if last is not None and last not in ticks:
        # Drop a numeric tick that would collide with the final label.
        if len(labels) >= 2 and (len(labels) - 2) % every == 0 and len(ticks) > 1:
            ticks.pop()
        ticks.append(last)
    return ticks


def head_colour(index: int) -> str:
    """The colour of head (or series) `index`; the palette repeats past its seven colours."""
    return HEAD_COLOURS[index % len(HEAD_COLOURS)]


def apply_template(fig: go.Figure) -> None:
    """Attach `TEMPLATE` as plotly attaches its default template: skipping validation, which
    the template already passed (plotly's own `_initialize_layout_template` does the same)."""
    layout = fig._layout_obj  # noqa: SLF001 -- plotly has no public "already validated" path
    layout._validate = False  # noqa: SLF001
    try:
        layout.template = TEMPLATE
    finally:
        layout._validate = fig._validate  # noqa: SLF001


def finish_layout(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    """The shared template, title, height, font and margins, plus any other layout `kwargs`."""
    apply_template(fig)
    settings = {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "height": height,
        "font": FONT,
        "margin": {"l": 70, "r": 30, "t": 80, "b": 60},
        **kwargs,
    }
    # Assigned rather than merged by `update_layout`, whose batched-relayout bookkeeping costs
    # ~4 ms a figure (~0.5 ms here); no builder has set any of these keys before this call.
    for key, value in settings.items():
        fig.layout[key] = value
    return fig


def grid_figure(
    rows: int,
    cols: int,
    *,
    x_axes: Sequence[Mapping[str, object]],
    y_axes: Sequence[Mapping[str, object]],
    subplot_titles: Sequence[str] = (),
    title_size: int = 16,
    horizontal_spacing: float = 0.0,
    vertical_spacing: float = 0.0,
    row_heights: Sequence[float] | None = None,
    shared_xaxes: bool = False,
    shared_yaxes: bool = False,
) -> tuple[go.Figure, list[list[tuple[str, str]]]]:
    """A `rows` × `cols` grid of x/y subplots placed exactly as `make_subplots` places them.

    `x_axes`/`y_axes` hold each cell's axis settings, row-major from the top left, as do the
    `subplot_titles` (centred above their cell; empty ones are skipped). `row_heights` are
    relative, top to bottom. `shared_xaxes` matches each column to its bottom cell and
    `shared_yaxes` each row to its first cell, hiding the other cells' tick labels.
    Returns the figure and the [row][col] axis ids (e.g. `("x2", "y2")`) for the traces'
    `xaxis`/`yaxis`.

    Why not `make_subplots`: it and one `update_xaxes(row=, col=)` per axis re-validate the
    layout on every call (5-50 ms each, most of a warm page rerun); one layout dict given to
    `go.Figure` is validated once (~1 ms).
    """
    n = rows * cols
    ids = [(f"x{i + 1}", f"y{i + 1}") if i else ("x", "y") for i in range(n)]
    cells = [ids[r * cols : (r + 1) * cols] for r in range(rows)]
    free_x = 1.0 - horizontal_spacing * (cols - 1)
    free_y = 1.0 - vertical_spacing * (rows - 1)
    widths = [free_x / cols] * cols
    relative = list(row_heights) if row_heights else [1.0] * rows
    heights = [free_y * h / float(sum(relative)) for h in relative][::-1]  # bottom up, as paper y
    layout: dict[str, object] = {}
    titles = []
    for i, (x_id, y_id) in enumerate(ids):
        r, c = divmod(i, cols)
        below = rows - 1 - r  # rows under this one
        x0 = sum(widths[:c]) + c * horizontal_spacing
        y0 = sum(heights[:below]) + below * vertical_spacing
        x_domain = [x0, x0 + widths[c]]
        # Clipped as make_subplots does: the sums can leave [0, 1] by float error.
        y_domain = [min(max(y, 0.0), 1.0) for y in (y0, y0 + heights[below])]
        x_axis: dict[str, object] = {"anchor": y_id, "domain": x_domain}
        y_axis: dict[str, object] = {"anchor": x_id, "domain": y_domain}
        if shared_xaxes and below:
            x_axis |= {"matches": cells[-1][c][0], "showticklabels": False}
        if shared_yaxes and c:
            y_axis |= {"matches": cells[r][0][1], "showticklabels": False}
        layout[x_id.replace("x", "xaxis")] = x_axis | dict(x_axes[i])
        layout[y_id.replace("y", "yaxis")] = y_axis | dict(y_axes[i])
        if i < len(subplot_titles) and subplot_titles[i]:
            titles.append(
                {
                    "text": subplot_titles[i],
                    "x": sum(x_domain) / 2.0,
                    "y": y_domain[1],
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": title_size},
                }
            )
    if titles:
        layout["annotations"] = titles
    return go.Figure(layout=layout), cells


def token_axis(labels: Sequence[str], title: str) -> dict:
    """A categorical token axis ticked sparsely (all categories still exist for hover)."""
    return {
        "title": {"text": title},
        "type": "category",
        "tickmode": "array",
        "tickvals": sparse_ticks(labels) if len(labels) > 2 * TICK_EVERY else list(labels),
        "tickangle": 0,
        "showgrid": False,
    }


def cell_text(z: np.ndarray, explicit_sign: bool = True) -> list[list[str]]:
    """Each heatmap cell's label with the one number formatter (`sortlist_core.numbers`):
    3 significant figures and U+2212, so −1.53 never reads "1.5" and the cell says what the
    prose next to it says."""
    fmt = signed if explicit_sign else sig_figs
    return [[fmt(v) for v in row] for row in np.asarray(z, dtype=float)]


def symmetric_range(z: np.ndarray) -> float:
    bound = float(np.nanmax(np.abs(z))) if np.size(z) else 1.0
    return bound if bound > 0 else 1.0


def signed_heatmap(z: np.ndarray, x: Sequence[str], y: Sequence[str], bound: float, **kwargs) -> go.Heatmap:
    return go.Heatmap(
        z=z,
        x=list(x),
        y=list(y),
        colorscale=SIGNED_SCALE,
        zmid=0,
        zmin=-bound,
        zmax=bound,
        **kwargs,
    )


def facet_heatmaps(
    matrices: np.ndarray,
    facet_titles: Sequence[str],
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    x_title: str,
    y_title: str,
    title: str,
    height: int = 520,
    value_name: str = "value",
    signed: bool = True,
    cell_labels: bool = False,
    token_axes: bool = True,
) -> go.Figure:
    """Side-by-side heatmaps sharing one colour scale: the write-up's `imshow(..., facet_col=0)`.

    `matrices` is [facet rows cols]; rows are the y axis (top to bottom), cols the x axis.
    With `cell_labels` each cell shows its value (`cell_text`: the one number formatter).
    """
    matrices = np.asarray(matrices, dtype=float)
    n = matrices.shape[0]
    x_axis = token_axis(x_labels, x_title) if token_axes else {"title": {"text": x_title}, "type": "category"}
    y_axis = token_axis(y_labels, y_title) if token_axes else {"title": {"text": y_title}, "type": "category"}
    fig, cells = grid_figure(
        1,
        n,
        x_axes=[x_axis] * n,
        # Matrices read top-down like the write-up's imshow: first row at the top.
        y_axes=[y_axis | {"autorange": "reversed"}] * n,
        subplot_titles=list(facet_titles),
        horizontal_spacing=0.08,
    )
    bound = symmetric_range(matrices)
    traces = []
    for i, (x_id, y_id) in enumerate(cells[0]):
        common = {
            "xaxis": x_id,
            "yaxis": y_id,
            "showscale": i == n - 1,
            "name": facet_titles[i],
            "hovertemplate": f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>{value_name}: %{{z:{SIG_HOVER}}}<extra>{facet_titles[i]}</extra>",
            "colorbar": {"title": {"text": value_name}},
        }
        if cell_labels:
            common |= {
                "text": cell_text(matrices[i], signed),
                "texttemplate": "%{text}",
                "textfont": {"size": 14},
            }
        if signed:
            trace = signed_heatmap(matrices[i], x_labels, y_labels, bound, **common)
        else:
            trace = go.Heatmap(
                z=matrices[i],
                x=list(x_labels),
                y=list(y_labels),
                colorscale=PROB_SCALE,
                zmin=0,
                zmax=1,
                **common,
            )
        traces.append(trace)
    fig.add_traces(traces)
    return finish_layout(fig, title, height)


def finish_grouped_bars(fig: go.Figure, title: str, height: int, legend_y: float = -0.2) -> go.Figure:
    """`finish_layout` for bars grouped side by side per category, the legend in a row below."""
    return finish_layout(fig, title, height, barmode="group", legend={"orientation": "h", "y": legend_y})
