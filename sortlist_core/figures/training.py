"""The Model page's figure: training loss and validation accuracy against the step."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .layout import finish_layout, grid_figure, head_colour


def training_curve(
    steps: Sequence[int],
    losses: Sequence[float],
    val_steps: Sequence[int],
    val_accuracy: Sequence[float],
    title: str = "Training progress",
) -> go.Figure:
    """Training loss (log scale) and validation accuracy against the optimiser step."""
    step_axis = {"title": {"text": "step"}}
    fig, [[(x_loss, y_loss), (x_acc, y_acc)]] = grid_figure(
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
                line={"color": head_colour(0)},
                xaxis=x_loss,
                yaxis=y_loss,
            ),
            go.Scatter(
                x=list(val_steps),
                y=list(val_accuracy),
                name="validation accuracy",
                mode="lines+markers",
                line={"color": head_colour(1)},
                xaxis=x_acc,
                yaxis=y_acc,
            ),
        ]
    )
    return finish_layout(fig, title, height=360, showlegend=False)
