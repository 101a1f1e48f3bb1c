"""Issue 14 §4 and §6: figure text that fits at 1280 px and hovers that keep significant figures."""

from __future__ import annotations

import re

import numpy as np

from sortlist_core import figures
from sortlist_core.figures.layout import SIG_HOVER
from sortlist_core.metrics import predict_lists


def _lines(text: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", line) for line in text.split("<br>")]


def test_ov_offset_chart_title_and_axis_fit_at_1280_px():
    """The chart is ~700 px wide and ~300 px tall inside its margins at 1280 px: a title line
    over ~75 characters or a y-axis line over ~30 is cut off."""
    offsets = [-2, -1, 0, 1, 2]
    fig = figures.offset_profile_chart(offsets, np.zeros((2, 5)), ("0.0", "0.1"))
    assert all(len(line) <= 75 for line in _lines(fig.layout.title.text))
    assert all(len(line) <= 30 for line in _lines(fig.layout.yaxis.title.text))
    assert list(fig.data[0].x) == ["\u22122", "\u22121", "+1", "+2"]  # one minus sign, as on the y axis


def test_hovers_keep_significant_figures(reference_model):
    """A QK score of 0.0021 showed as 0.002 next to 0.000: hovers use the one d3 format."""
    pred = predict_lists(reference_model, [tuple(range(10))])[0]
    traces = [
        *figures.prediction_heatmap(pred).data,
        *figures.offset_profile_chart([-1, 0, 1], np.zeros((2, 3)), ("0.0", "0.1")).data,
        *figures.qk_circuit_heatmaps(np.zeros((2, 52, 52)), ("0.0", "0.1")).data,
    ]
    for trace in traces:
        assert ".3f" not in trace.hovertemplate and f":{SIG_HOVER}}}" in trace.hovertemplate
