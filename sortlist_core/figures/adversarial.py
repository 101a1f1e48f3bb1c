"""The Adversarial page's figures: failure rate per family of lists, the search's hit rate per
source, and accuracy over two parameters of a family."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from ..adversarial import AccuracyMap, FamilyRates
from .layout import finish_layout, head_colour


def family_failure_bar(rates: FamilyRates, labels: Mapping[str, str]) -> go.Figure:
    """Fraction of lists with at least one wrong prediction, per family of lists
    (`adversarial.family_failure_rates`), each family called by its label."""
    wrong = dict(zip(rates.families, rates.wrong))
    families = list(wrong)
    fig = go.Figure(
        go.Bar(
            name="lists with a wrong prediction",
            x=[labels.get(f, f) for f in families],
            y=[wrong[f] for f in families],
            marker_color=[head_colour(i) for i in range(len(families))],
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
    return finish_layout(
        fig,
        f"How often each kind of list goes wrong ({rates.n_per_family:,} random lists per family)",
        height=400,
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
            marker_color=head_colour(0),
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
    return finish_layout(fig, "Search: share of candidates the model got wrong, by source", height=380)


def accuracy_map(amap: AccuracyMap, height: int = 480) -> go.Figure:
    """Heatmap of accuracies (0..1) over two features of lists (`adversarial.family_accuracy_maps`):
    columns `amap.col_label`, rows `amap.row_label`."""
    x_title, y_title = amap.col_label, amap.row_label
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(amap.accuracy, dtype=float),
            x=[str(v) for v in amap.col_bins],
            y=[str(v) for v in amap.row_bins],
            colorscale="Viridis",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "accuracy"}, "tickformat": ".0%"},
            hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>accuracy: %{{z:.1%}}<extra></extra>",
        )
    )
    fig.update_xaxes(title={"text": x_title}, type="category")
    fig.update_yaxes(title={"text": y_title}, type="category")
    return finish_layout(fig, amap.title, height)
