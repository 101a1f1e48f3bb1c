"""What an exercise is, without streamlit: `Exercise` (question, `Answer` widget description,
grader, hints, solution), `Grade` and the graders several lessons share.

Each lesson module (`lessons/<page>.py`) builds its page's exercises as functions of analysis
results, e.g. `mystery.direct_path_exercise(experiment) -> Exercise`; the page passes them to
`widgets.exercise.render_exercise`. A grader is a pure function of the learner's answer and the
measured truth for the loaded model, returning a `Grade`: whether the answer is right and a
nudge that points at the evidence without giving the answer away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple


class Grade(NamedTuple):
    ok: bool
    nudge: str


CORRECT = "Correct!"


def as_int(answer: Any) -> int | None:
    """An int from a number_input / selectbox / text answer, or None if it is not one."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, int):
        return answer
    if isinstance(answer, float):
        return int(answer) if answer.is_integer() else None
    try:
        return int(str(answer).strip())
    except ValueError:
        return None


def grade_head_choice(answer: Any, expected: int, head_names: Sequence[str], evidence: str) -> Grade:
    """Which head has some property (e.g. matters more, copies a token)."""
    value = as_int(answer)
    if value is None or not 0 <= value < len(head_names):
        return Grade(False, "Choose one of the heads.")
    if value == expected:
        return Grade(True, f"{CORRECT} It is head {head_names[expected]}.")
    return Grade(False, f"Not head {head_names[value]}. {evidence}")


def grade_count(answer: Any, expected: int, evidence: str) -> Grade:
    """A count that must match exactly."""
    value = as_int(answer)
    if value is None:
        return Grade(False, "Enter a whole number.")
    if value == expected:
        return Grade(True, f"{CORRECT} {expected}.")
    direction = "too high" if value > expected else "too low"
    return Grade(False, f"{value} is {direction}. {evidence}")


@dataclass(frozen=True)
class Answer:
    """The answer widget: a number, a choice among options, or free text."""

    kind: Literal["number", "select", "text"]
    label: str = "Your answer"
    options: tuple[Any, ...] = ()
    format_func: Callable[[Any], str] = str
    min_value: int | None = None
    max_value: int | None = None
    placeholder: str = ""

    @classmethod
    def number(
        cls, min_value: int | None = None, max_value: int | None = None, label: str = "Your answer"
    ) -> Answer:
        return cls("number", label, min_value=min_value, max_value=max_value)

    @classmethod
    def select(
        cls, options: Sequence[Any], format_func: Callable[[Any], str] = str, label: str = "Your answer"
    ) -> Answer:
        return cls("select", label, options=tuple(options), format_func=format_func)

    @classmethod
    def text(cls, placeholder: str = "", label: str = "Your answer") -> Answer:
        return cls("text", label, placeholder=placeholder)


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    question: str  # markdown
    answer: Answer
    grade: Callable[[Any], Grade]
    hints: tuple[str, ...] = ()
    solution: str = ""  # markdown, shown in an expander
    difficulty: int = 1  # 1..5
    importance: int = 3  # 1..5
    context: str = ""  # identifies the question's inputs; feedback is dropped when it changes


@dataclass(frozen=True)
class Skipped:
    """An exercise with no well-posed instance on the loaded model (a tie, every position 100%
    correct, no failing list): the page shows its title and `reason` instead of a question
    (`sortlist_core.well_posed` decides)."""

    id: str
    title: str
    reason: str  # markdown, in the model's own numbers
