"""The exercise types and the graders several lessons share: right answers pass, wrong ones get a
nudge that does not give the answer away."""

from __future__ import annotations

import pytest

from sortlist_app.lessons.exercise import Answer, Exercise, Grade, as_int, grade_count, grade_head_choice

NAMES = ["0.0", "0.1"]


@pytest.mark.parametrize(
    "answer, expected", [(3, 3), ("3", 3), (3.0, 3), (True, None), (None, None), ("x", None), (2.5, None)]
)
def test_as_int(answer, expected):
    assert as_int(answer) == expected


def test_head_choice():
    assert grade_head_choice(1, 1, NAMES, "evidence").ok
    wrong = grade_head_choice(0, 1, NAMES, "Compare the bars.")
    assert not wrong.ok and "Compare the bars." in wrong.nudge and "0.1" not in wrong.nudge
    assert not grade_head_choice(5, 1, NAMES, "").ok


def test_count():
    assert grade_count(9, 9, "").ok
    assert "too high" in grade_count(10, 9, "").nudge and "too low" in grade_count(8, 9, "").nudge


def test_answer_and_exercise_are_plain_data():
    answer = Answer.select(range(2), lambda h: f"head {NAMES[h]}", "Head")
    assert answer.kind == "select" and answer.options == (0, 1) and answer.format_func(1) == "head 0.1"
    assert Answer.number(0, 5).kind == "number" and Answer.text("e.g.").placeholder == "e.g."
    ex = Exercise("x.y", "t", "q", answer, grade=lambda a: Grade(a == 1, "n"))
    assert ex.grade(1).ok and not ex.grade(0).ok and ex.difficulty == 1 and ex.context == ""
