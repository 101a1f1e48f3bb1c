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


MINUS_SIGNS = "\u2212\u2013-"  # U+2212, an en dash and ASCII: people type (and paste) all three


def read_whole_number(text: Any, min_value: int | None, max_value: int | None) -> tuple[int | None, str]:
    """The number-answer field's text -> (value, "") or (None, a message naming the range).

    A text field parsed here rather than a number input: a browser number input silently clamps
    or keeps an out-of-range value, so the learner would see one number and be graded on another.
    """
    text = "" if text is None else str(text).strip()
    if min_value is not None and max_value is not None:
        wanted = f"a whole number from {min_value} to {max_value}"
    elif min_value is not None:
        wanted = f"a whole number of at least {min_value}"
    else:
        wanted = "a whole number"
    if not text:
        return None, f"Enter {wanted} first."
    normal = text.replace(",", "").replace("_", "").replace(" ", "").replace("**", "^")
    if normal[:1] in MINUS_SIGNS:
        normal = "-" + normal[1:]
    value = _integer(normal)
    if value is None:
        return None, f"`{text[:40]}` is not a whole number: enter {wanted}."
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        shown = text if len(text) <= 20 else text[:19] + "…"
        return None, f"{shown} is out of range: enter {wanted}."
    return value, ""


def _integer(text: str) -> int | None:
    """'15', '-5', '1e3', '15.0', '10^100' -> the int; anything else -> None."""
    base, power, exponent = text.partition("^")
    if power:
        b, e = _integer(base), _integer(exponent)
        if b is None or e is None or e < 0:
            return None
        return b ** min(e, 400)  # capped: only "how far out of range" matters, not the exact value
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


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

    def range_text(self) -> str:
        """'a whole number from 0 to 51' (the number field's placeholder)."""
        if self.min_value is not None and self.max_value is not None:
            return f"a whole number from {self.min_value} to {self.max_value}"
        return "a whole number"

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
    # True when the model alone makes it unposable (not the learner's list, head or token): then
    # it leaves the sidebar's count for this model ("3 of 3 (1 skipped on this model)").
    model_wide: bool = True
