"""Graders: right answers pass, wrong ones get a nudge that does not give the answer away."""

from __future__ import annotations

import pytest

from sortlist_app import grading as g

NAMES = ["0.0", "0.1"]


@pytest.mark.parametrize(
    "answer, expected", [(3, 3), ("3", 3), (3.0, 3), (True, None), (None, None), ("x", None), (2.5, None)]
)
def test_as_int(answer, expected):
    assert g.as_int(answer) == expected


def test_sep_prediction():
    assert g.grade_sep_prediction(4, 4, [7, 4, 9]).ok
    wrong_in_list = g.grade_sep_prediction(7, 4, [7, 4, 9])
    assert not wrong_in_list.ok and "4" not in wrong_in_list.nudge
    assert "not in the list" in g.grade_sep_prediction(50, 4, [7, 4, 9]).nudge
    assert not g.grade_sep_prediction("abc", 4, [7, 4, 9]).ok


def test_least_accurate_position_accepts_ties():
    acc = [1.0, 0.9, 0.9, 1.0]
    assert g.grade_least_accurate_position(1, acc).ok and g.grade_least_accurate_position(2, acc).ok
    assert not g.grade_least_accurate_position(0, acc).ok
    assert not g.grade_least_accurate_position(9, acc).ok


def test_top_attended():
    assert g.grade_top_attended(3, 3, 11).ok
    assert "causal" in g.grade_top_attended(12, 3, 11).nudge
    wrong = g.grade_top_attended(4, 3, 11)
    assert not wrong.ok and "3" not in wrong.nudge


def test_head_choice():
    assert g.grade_head_choice(1, 1, NAMES, "evidence").ok
    wrong = g.grade_head_choice(0, 1, NAMES, "Compare the bars.")
    assert not wrong.ok and "Compare the bars." in wrong.nudge and "0.1" not in wrong.nudge
    assert not g.grade_head_choice(5, 1, NAMES, "").ok


def test_count():
    assert g.grade_count(9, 9, "").ok
    assert "too high" in g.grade_count(10, 9, "").nudge and "too low" in g.grade_count(8, 9, "").nudge


def test_top_source():
    scores = [0.0, 0.1, 0.5, 0.9, 0.2]
    assert g.grade_top_source(3, scores, 1).ok
    assert "next larger" in g.grade_top_source(2, scores, 1).nudge
    assert not g.grade_top_source(4, scores, 1).ok
    assert not g.grade_top_source(7, scores, 1).ok
