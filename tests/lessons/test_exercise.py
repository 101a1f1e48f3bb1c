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


def test_number_answers_are_read_from_text_and_name_their_range():
    """`10^100` and out-of-range values got "Enter an answer first"; a number input
    also showed the typed value while grading a clamped or older one."""
    from sortlist_app.lessons.exercise import read_whole_number

    assert read_whole_number("15", 10, 19) == (15, "")
    assert read_whole_number(" 2**3 ", 0, 51) == (8, "") and read_whole_number("12.0", 0, 51) == (12, "")
    assert read_whole_number("−5", -10, 10) == (-5, "")  # U+2212, as the app prints it
    for text in ("10^100", "-5", "52", "1e3", "-1"):
        value, message = read_whole_number(text, 0, 51)
        assert value is None and "from 0 to 51" in message and "out of range" in message
    for text in ("abc", "15.5", "nan", "inf", "1e400"):
        value, message = read_whole_number(text, 0, 51)
        assert value is None and "not a whole number" in message and "from 0 to 51" in message
    assert read_whole_number("", 0, 51) == (None, "Enter a whole number from 0 to 51 first.")
