"""Figure text that fits at 1280 px and hovers that keep significant figures."""

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


def test_dla_cells_use_the_one_formatter_and_fit_half_the_page(reference_model):
    """Two 4-panel DLA grids side by side at 1280 px overlapped their titles and
    clipped their cells, and −1.53 read "1.5". Two panels to a row, one axis caption, every cell
    labelled by `sortlist_core.numbers.signed` (U+2212)."""
    from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, dla_yz
    from sortlist_core.numbers import signed

    cases = [dla_yz(reference_model, lst, *xyz) for lst, xyz in DEFAULT_MYSTERY_LISTS]
    titles = [f"x={c.x}, y={c.y}, z={c.z}" for c in cases]
    fig = figures.dla_grid(np.stack([c.dla for c in cases]), titles, "Direct logit attribution at x")
    cells = [label for trace in fig.data for row in trace.text for label in row]
    assert "\u22121.53" in cells and "+1.80" in cells and not any("-" in c for c in cells)
    for trace, case in zip(fig.data, cases):
        assert [list(r) for r in trace.text] == [[signed(v) for v in row] for row in case.dla]
        assert trace.texttemplate == "%{text}"
    # two panels a row: 2 distinct x domains, titles short enough for a ~180 px panel
    domains = {tuple(fig.layout[f"xaxis{i + 1 if i else ''}"].domain) for i in range(4)}
    assert len(domains) == 2
    assert all(len(a.text) <= 24 for a in fig.layout.annotations if "<br>" not in a.text and "x=" in a.text)
    # no per-panel axis titles to collide
    assert not any(fig.layout[f"xaxis{i + 1 if i else ''}"].title.text for i in range(4))


def test_log_axis_ticks_are_plain_values():
    """The training loss chart read "5, 2, 1, 5, 2, 0.1, 5, 2"."""
    fig = figures.training_curve([1, 2, 3, 4], [3.9, 1.2, 0.3, 0.04], [4], [0.9])
    axis = fig.layout.yaxis
    assert axis.type == "log" and axis.tickmode == "array"
    shown = [t for v, t in zip(axis.tickvals, axis.ticktext) if 0.04 <= v <= 3.9]
    assert shown == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    wide = figures.training_curve([1, 2], [40.0, 0.0004], [2], [0.9]).layout.yaxis
    assert list(wide.ticktext) == ["0.0001", "0.001", "0.01", "0.1", "1", "10", "100"]
    assert len(set(axis.ticktext)) == len(axis.ticktext)


def test_focus_attention_labels_every_row_and_outlines_the_asked_one():
    """The zoomed circuitsvis view labelled every other row; position 11 had none."""
    tokens = [str(t) for t in range(10)] + ["SEP"] + [str(t) for t in range(10)]
    pattern = np.tril(np.ones((21, 21)))
    pattern /= pattern.sum(-1, keepdims=True)
    fig = figures.focus_attention_heatmap(pattern, tokens, "0.0", 11, "t")
    assert list(fig.layout.yaxis.tickvals) == [f"{t} ({i})" for i, t in enumerate(tokens)]
    assert "0 (11)" in fig.layout.yaxis.ticktext
    assert fig.layout.height >= 22 * 21
    (shape,) = fig.layout.shapes
    assert (shape.y0, shape.y1) == (10.5, 11.5)


def test_the_copier_strip_names_a_head_only_on_runs_wide_enough_for_its_white_label():
    """A 4-token run at the strip's left edge showed "ead 0.0": the white label overflowed its run."""
    from sortlist_core.circuits import responsibility_from_copy_strength
    from sortlist_core.figures.circuits import MIN_LABELLED_RUN

    owner = [0] * 4 + [1] * 12 + [0] * (MIN_LABELLED_RUN - 1) + [1] * MIN_LABELLED_RUN + [0] * 5
    diag = np.zeros((2, len(owner)))
    diag[owner, np.arange(len(owner))] = 1.0
    resp = responsibility_from_copy_strength(diag)
    fig = figures.head_responsibility_strip(resp, ("0.0", "0.1"))
    labelled = [(a.text, int(a.x)) for a in fig.layout.annotations]
    # only the 12-token run (4..15) and the MIN_LABELLED_RUN-token run of head 0.1 are wide enough
    last = 4 + 12 + MIN_LABELLED_RUN - 1
    assert labelled == [("head 0.1", (4 + 15) // 2), ("head 0.1", (2 * last + MIN_LABELLED_RUN - 1) // 2)]


def test_the_copy_strength_chart_does_not_mark_a_winner(reference_model):
    """Drawn before the "who copies" questions are answered: the curves, no strip, no head labels."""
    from sortlist_core.circuits import head_responsibility

    resp = head_responsibility(reference_model)
    fig = figures.copy_strength_chart(resp.copy_strength, ("0.0", "0.1"))
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    assert [list(t.y) for t in fig.data] == resp.copy_strength.tolist()
    assert not fig.layout.annotations
