"""Plotly figure builders for every plot of the write-up (and the app's extra ones).

Pure functions: they take analysis results (numpy arrays, `SequencePrediction`, `AblationResult`,
...) and return `plotly.graph_objects.Figure`; nothing here imports streamlit or runs the model.

Conventions, so every figure reads the same way at 1280 px:
- signed quantities (circuits, DLA, direct path) use a colour-blind-safe diverging scale centred
  on 0 (`SIGNED_SCALE`, `zmid=0`); probabilities/fractions use a sequential scale from 0 to 1;
- heads are called by their write-up names (`0.0`, `0.1`) and the only layer is "layer 0";
- token axes are categorical with the vocab's labels (`SEP` last), ticked every `TICK_EVERY`;
- `figure_frame` turns any figure built here into a DataFrame (the table alternative / CSV).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from .ablation import AblationResult
from .attention import AttentionClaims
from .circuits import HeadResponsibility
from .metrics import SequencePrediction

SIGNED_SCALE = "RdBu"  # ColorBrewer diverging, colour-blind safe; blue = positive
PROB_SCALE = "Blues"
# Okabe-Ito: distinguishable under every common colour-vision deficiency.
HEAD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
TICK_EVERY = 5
TARGET_MARK = "○"  # the write-up's 〇 on the correct label
WRONG_MARK = "✗"  # the model's argmax where it differs from the target
# plotly's "simple_white" cut down to the trace types drawn here, built and validated once, and
# attached to each figure without re-validation (`_apply_template`): passing it through
# `update_layout` re-validated every trace type's defaults on every figure, 8-50 ms a figure and
# most of a warm page rerun (bench/profile_page.py).
TEMPLATE = go.layout.Template(
    layout=pio.templates["simple_white"].layout,
    data={kind: pio.templates["simple_white"].data[kind] for kind in ("heatmap", "bar", "scatter")},
)
FONT = {"size": 13}


# --------------------------------------------------------------------------- helpers


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


def head_label(head_names: Sequence[str], head: int) -> str:
    return f"head {head_names[head]}"


def _apply_template(fig: go.Figure) -> None:
    """Attach `TEMPLATE` as plotly attaches its default template: skipping validation, which
    the template already passed (plotly's own `_initialize_layout_template` does the same)."""
    layout = fig._layout_obj  # noqa: SLF001 -- plotly has no public "already validated" path
    layout._validate = False  # noqa: SLF001
    try:
        layout.template = TEMPLATE
    finally:
        layout._validate = fig._validate  # noqa: SLF001


def _layout(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    """The shared template, title, height, font and margins, plus any other layout `kwargs`."""
    _apply_template(fig)
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


def _grid_figure(
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


def _token_axis(labels: Sequence[str], title: str) -> dict:
    """A categorical token axis ticked sparsely (all categories still exist for hover)."""
    return {
        "title": {"text": title},
        "type": "category",
        "tickmode": "array",
        "tickvals": sparse_ticks(labels) if len(labels) > 2 * TICK_EVERY else list(labels),
        "tickangle": 0,
        "showgrid": False,
    }


def _symmetric_range(z: np.ndarray) -> float:
    bound = float(np.nanmax(np.abs(z))) if np.size(z) else 1.0
    return bound if bound > 0 else 1.0


def _signed_heatmap(z: np.ndarray, x: Sequence[str], y: Sequence[str], bound: float, **kwargs) -> go.Heatmap:
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
    text_format: str | None = None,
    token_axes: bool = True,
) -> go.Figure:
    """Side-by-side heatmaps sharing one colour scale: the write-up's `imshow(..., facet_col=0)`.

    `matrices` is [facet rows cols]; rows are the y axis (top to bottom), cols the x axis.
    With `text_format` (e.g. ".2f") each cell shows its value, as `text_auto` did.
    """
    matrices = np.asarray(matrices, dtype=float)
    n = matrices.shape[0]
    x_axis = (
        _token_axis(x_labels, x_title) if token_axes else {"title": {"text": x_title}, "type": "category"}
    )
    y_axis = (
        _token_axis(y_labels, y_title) if token_axes else {"title": {"text": y_title}, "type": "category"}
    )
    fig, cells = _grid_figure(
        1,
        n,
        x_axes=[x_axis] * n,
        # Matrices read top-down like the write-up's imshow: first row at the top.
        y_axes=[y_axis | {"autorange": "reversed"}] * n,
        subplot_titles=list(facet_titles),
        horizontal_spacing=0.08,
    )
    bound = _symmetric_range(matrices)
    traces = []
    for i, (x_id, y_id) in enumerate(cells[0]):
        common = {
            "xaxis": x_id,
            "yaxis": y_id,
            "showscale": i == n - 1,
            "name": facet_titles[i],
            "hovertemplate": f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>{value_name}: %{{z:.3f}}<extra>{facet_titles[i]}</extra>",
            "colorbar": {"title": {"text": value_name}},
        }
        if text_format:
            common |= {"texttemplate": f"%{{z:{text_format}}}", "textfont": {"size": 14}}
        if signed:
            trace = _signed_heatmap(matrices[i], x_labels, y_labels, bound, **common)
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
    return _layout(fig, title, height)


# --------------------------------------------------------------------------- predictions


def _prediction_text(pred: SequencePrediction) -> list[list[str]]:
    """[position vocab] marks: ○ on the target, ✗ on a wrong argmax."""
    text = [["" for _ in pred.vocab] for _ in pred.targets]
    for i, (target, predicted) in enumerate(zip(pred.targets, pred.predicted)):
        text[i][target] = TARGET_MARK
        if predicted != target:
            text[i][predicted] = WRONG_MARK
    return text


def _prediction_heatmap(pred: SequencePrediction, showscale: bool, **axes: str) -> go.Heatmap:
    """`axes`: the subplot's `xaxis`/`yaxis` ids, when in a grid."""
    return go.Heatmap(
        z=pred.probs,
        x=pred.vocab,
        y=pred.position_labels,
        text=_prediction_text(pred),
        texttemplate="%{text}",
        textfont={"size": 18},  # no colour: plotly picks black/white per cell for contrast
        colorscale=PROB_SCALE,
        zmin=0,
        zmax=1,
        showscale=showscale,
        colorbar={"title": {"text": "probability"}},
        hovertemplate="position %{y}<br>predicts %{x}: %{z:.3f}<extra></extra>",
        **axes,
    )


def list_title(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


def prediction_heatmap(pred: SequencePrediction, title: str | None = None) -> go.Figure:
    """The write-up's `show`: probability of each vocab item at each prediction position.

    Rows are the prediction positions (labelled `token (position)`, SEP first), columns the
    vocab; ○ marks the correct next sorted value, ✗ a wrong argmax prediction.
    """
    fig = go.Figure(_prediction_heatmap(pred, showscale=True))
    fig.update_xaxes(**_token_axis(pred.vocab, "Predicted token (vocab)"))
    fig.update_yaxes(title={"text": "Token (position)"}, type="category", autorange="reversed")
    n_wrong = len(pred.wrong)
    verdict = "all correct" if n_wrong == 0 else f"{n_wrong} wrong (✗)"
    title = title or f"Model probabilities, unsorted = {list_title(pred.unsorted)} — {verdict}"
    return _layout(fig, title, height=140 + 34 * len(pred.targets))


def multiple_prediction_heatmaps(
    preds: Sequence[SequencePrediction], titles: Sequence[str] | None = None
) -> go.Figure:
    """The write-up's `show_multiple`: one `show` panel per list, stacked, wrong positions ✗."""
    if not preds:
        return _layout(go.Figure(), "No lists", height=200)
    titles = (
        list(titles)
        if titles
        else [
            f"{list_title(p.unsorted)} — {'all correct' if p.correct else f'wrong at {len(p.wrong)} position(s) ✗'}"
            for p in preds
        ]
    )
    rows_per = len(preds[0].targets)
    fig, cells = _grid_figure(
        len(preds),
        1,
        x_axes=[
            _token_axis(p.vocab, "Predicted token" if i == len(preds) - 1 else "")
            for i, p in enumerate(preds)
        ],
        y_axes=[{"type": "category", "autorange": "reversed"}] * len(preds),
        subplot_titles=titles,
        vertical_spacing=min(0.3 / len(preds), 0.08),
    )
    fig.add_traces(
        [
            _prediction_heatmap(pred, showscale=i == 0, xaxis=x_id, yaxis=y_id)
            for i, (pred, [(x_id, y_id)]) in enumerate(zip(preds, cells))
        ]
    )
    return _layout(
        fig,
        "Model probabilities per list (○ correct token, ✗ wrong prediction)",
        height=120 + len(preds) * (60 + 26 * rows_per),
    )


def per_position_accuracy_bar(
    accuracy: Sequence[float], position_labels: Sequence[str], n_lists: int
) -> go.Figure:
    """Accuracy of each prediction position (SEP first) on a dataset."""
    fig = go.Figure(
        go.Bar(
            x=list(position_labels),
            y=list(accuracy),
            marker_color=HEAD_COLOURS[0],
            texttemplate="%{y:.1%}",
            textposition="inside",
            insidetextanchor="end",
            textfont={"color": "white"},
            hovertemplate="prediction at position %{x}: %{y:.2%}<extra></extra>",
        )
    )
    low = min(accuracy) if len(accuracy) else 0.0
    # Zoom in on the top of the scale (differences are small), but never above 100%.
    floor = max(0.0, low - max(0.02, 2 * (1 - low)))
    fig.update_xaxes(title={"text": "prediction made at position"}, type="category")
    fig.update_yaxes(
        title={"text": f"accuracy (axis starts at {floor:.0%})"}, tickformat=".1%", range=[floor, 1.0]
    )
    return _layout(fig, f"Accuracy of each prediction position ({n_lists} lists)", height=360)


# --------------------------------------------------------------------------- attention


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
            marker_color=HEAD_COLOURS[h % len(HEAD_COLOURS)],
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
    return _layout(
        fig,
        f"How often the top-attended token is the one the write-up predicts ({claims.n_lists} lists)",
        height=420,
        barmode="group",
        legend={"orientation": "h", "y": -0.15},
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
    return _layout(
        fig,
        f"Loss increase when a head's output is ablated (base loss {result.base_loss:.3f})",
        height=400,
        barmode="group",
        legend={"orientation": "h", "y": -0.2},
    )


# --------------------------------------------------------------------------- circuits


def ov_circuit_heatmaps(full_ov: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """Full OV circuit `W_E W_OV W_U` per head: a bright diagonal means the head copies."""
    labels = vocab_labels(full_ov.shape[-1])
    return facet_heatmaps(
        full_ov,
        [f"W<sub>OV</sub> head {h}" for h in head_names],
        labels,
        labels,
        "Predicted token",
        "Source token",
        "Full OV circuit W<sub>E</sub> W<sub>OV</sub> W<sub>U</sub>, layer 0 (a diagonal means copying)",
        value_name="logit",
    )


def qk_circuit_heatmaps(full_qk: np.ndarray, head_names: Sequence[str]) -> go.Figure:
    """Full QK circuit `W_E W_QK W_E^T` per head: which source tokens each destination prefers."""
    labels = vocab_labels(full_qk.shape[-1])
    return facet_heatmaps(
        full_qk,
        [f"W<sub>QK</sub> head {h}" for h in head_names],
        labels,
        labels,
        "Source token",
        "Destination token",
        "Full QK circuit W<sub>E</sub> W<sub>QK</sub> W<sub>E</sub><sup>T</sup>, layer 0 (attention scores)",
        value_name="score",
    )


def qk_bar(
    scores: np.ndarray, dest_label: str, head_names: Sequence[str], src_labels: Sequence[str] | None = None
) -> go.Figure:
    """The write-up's `qk_bar`: one destination token's QK score for every source token, per head."""
    src_labels = list(src_labels) if src_labels is not None else vocab_labels(scores.shape[-1])
    fig = go.Figure()
    for h, name in enumerate(head_names):
        fig.add_bar(
            name=f"head {name}", x=src_labels, y=scores[h], marker_color=HEAD_COLOURS[h % len(HEAD_COLOURS)]
        )
    fig.update_xaxes(**_token_axis(src_labels, "Source token"))
    fig.update_yaxes(title={"text": "Attention score"}, zeroline=True)
    return _layout(
        fig,
        f"Attention scores for destination token {dest_label}",
        height=400,
        barmode="group",
        legend={"orientation": "h", "y": -0.2},
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


def head_responsibility_strip(resp: HeadResponsibility, head_names: Sequence[str]) -> go.Figure:
    """Copy strength (OV diagonal) per head and value token, plus which head copies each token."""
    n_values = resp.copy_strength.shape[-1]
    labels = [str(t) for t in range(n_values)]
    fig, [[(x_line, y_line)], [(x_strip, y_strip)]] = _grid_figure(
        2,
        1,
        x_axes=[{"type": "category"}, _token_axis(labels, "Value token")],
        y_axes=[{"title": {"text": "copy strength<br>(OV diagonal)"}}, {}],
        vertical_spacing=0.06,
        row_heights=[0.78, 0.22],
        shared_xaxes=True,
    )
    traces: list[go.Scatter | go.Heatmap] = [
        go.Scatter(
            x=labels,
            y=resp.copy_strength[h],
            name=f"head {name}",
            mode="lines+markers",
            line={"color": HEAD_COLOURS[h % len(HEAD_COLOURS)]},
            xaxis=x_line,
            yaxis=y_line,
        )
        for h, name in enumerate(head_names)
    ]
    n_heads = len(head_names)
    # Discrete colour per head: a stepped colourscale over integer owners.
    scale = []
    for h in range(n_heads):
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
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
    # Name the head on every run wide enough to hold the label (assigned: the grid has no titles).
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
        if r.end - r.start >= 3
    ]
    return _layout(
        fig,
        "Which head copies which token (diagonal of the full OV circuit)",
        height=440,
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )


# --------------------------------------------------------------------------- mystery / adversarial


def dla_heatmaps(
    dla: np.ndarray,
    facet_titles: Sequence[str],
    x_labels: Sequence[str] = ("src = y", "src = z"),
    y_labels: Sequence[str] = ("pred = y", "pred = z"),
    title: str = "DLA for lists with (x, y, z) close together",
) -> go.Figure:
    """Small annotated heatmaps (e.g. [list 2 2] DLA from source y/z to prediction y/z)."""
    return facet_heatmaps(
        dla,
        facet_titles,
        list(x_labels),
        list(y_labels),
        "Source token",
        "Effect on prediction",
        title,
        height=380,
        value_name="DLA",
        text_format=".2f",
        token_axes=False,
    )


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    x_title: str,
    y_title: str,
    title: str,
    height: int = 400,
    zero_line: bool = True,
) -> go.Figure:
    """Generic lines, one per named (x, y) series (e.g. the OV offset profile per head)."""
    fig = go.Figure()
    for i, (name, (x, y)) in enumerate(series.items()):
        fig.add_scatter(
            x=list(x),
            y=list(y),
            name=name,
            mode="lines+markers",
            line={"color": HEAD_COLOURS[i % len(HEAD_COLOURS)]},
        )
    fig.update_xaxes(title={"text": x_title})
    fig.update_yaxes(title={"text": y_title}, zeroline=zero_line, zerolinecolor="#888")
    return _layout(fig, title, height, legend={"orientation": "h", "y": -0.2})


def accuracy_map(
    accuracy: np.ndarray,
    x_values: Sequence,
    y_values: Sequence,
    x_title: str,
    y_title: str,
    title: str,
    height: int = 480,
) -> go.Figure:
    """Heatmap of accuracies (0..1) over two parameters of a family of lists."""
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(accuracy, dtype=float),
            x=[str(v) for v in x_values],
            y=[str(v) for v in y_values],
            colorscale="Viridis",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "accuracy"}, "tickformat": ".0%"},
            hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>accuracy: %{{z:.1%}}<extra></extra>",
        )
    )
    fig.update_xaxes(title={"text": x_title}, type="category")
    fig.update_yaxes(title={"text": y_title}, type="category")
    return _layout(fig, title, height)


# --------------------------------------------------------------------------- tables


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
