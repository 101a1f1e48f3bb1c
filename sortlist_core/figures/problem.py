"""The Problem page's figures: the model's probabilities per prediction position (the write-up's
`show` / `show_multiple`) and its accuracy at each position."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..metrics import Metrics, SequencePrediction
from ..positions import position_label, prediction_positions
from .layout import PROB_SCALE, SIG_HOVER, finish_layout, grid_figure, head_colour, token_axis

TARGET_MARK = "○"  # the write-up's 〇 on the correct label
WRONG_MARK = "✗"  # the model's argmax where it differs from the target


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
        hovertemplate=f"token (position) %{{y}}<br>predicts %{{x}}: %{{z:{SIG_HOVER}}}<extra></extra>",
        **axes,
    )


def _verdict(p: SequencePrediction) -> str:
    """'all correct', 'wrong at 1 position ✗', 'wrong at 2 positions ✗'."""
    n = len(p.wrong)
    return "all correct" if n == 0 else f"wrong at {n} position{'' if n == 1 else 's'} ✗"


def list_title(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


def prediction_heatmap(pred: SequencePrediction, title: str | None = None) -> go.Figure:
    """The write-up's `show`: probability of each vocab item at each prediction position.

    Rows are the prediction positions (labelled `token (position)`, SEP first), columns the
    vocab; ○ marks the correct next sorted value, ✗ a wrong argmax prediction.
    """
    fig = go.Figure(_prediction_heatmap(pred, showscale=True))
    fig.update_xaxes(**token_axis(pred.vocab, "Predicted token (vocab)"))
    fig.update_yaxes(title={"text": "Token (position)"}, type="category", autorange="reversed")
    n_wrong = len(pred.wrong)
    verdict = "all correct" if n_wrong == 0 else f"{n_wrong} wrong (✗)"
    title = title or f"Model probabilities, unsorted = {list_title(pred.unsorted)} — {verdict}"
    return finish_layout(fig, title, height=140 + 34 * len(pred.targets))


def multiple_prediction_heatmaps(
    preds: Sequence[SequencePrediction], titles: Sequence[str] | None = None
) -> go.Figure:
    """The write-up's `show_multiple`: one `show` panel per list, stacked, wrong positions ✗."""
    if not preds:
        return finish_layout(go.Figure(), "No lists", height=200)
    titles = list(titles) if titles else [f"{list_title(p.unsorted)} — {_verdict(p)}" for p in preds]
    rows_per = len(preds[0].targets)
    fig, cells = grid_figure(
        len(preds),
        1,
        x_axes=[
            token_axis(p.vocab, "Predicted token" if i == len(preds) - 1 else "") for i, p in enumerate(preds)
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
    return finish_layout(
        fig,
        "Model probabilities per list (○ correct token, ✗ wrong prediction)",
        height=120 + len(preds) * (60 + 26 * rows_per),
    )


def per_position_accuracy_bar(metrics: Metrics) -> go.Figure:
    """Accuracy of each prediction position (SEP first) on a dataset, labelled by sequence
    position (`positions`: '10 (SEP)', '11', ...)."""
    accuracy, n_lists = metrics.per_position_accuracy, metrics.n_lists
    list_len = len(accuracy)
    position_labels = [position_label(p, list_len) for p in prediction_positions(list_len)]
    fig = go.Figure(
        go.Bar(
            x=list(position_labels),
            y=list(accuracy),
            marker_color=head_colour(0),
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
    return finish_layout(fig, f"Accuracy of each prediction position ({n_lists} lists)", height=360)
