"""Graders for the exercises: pure functions (no streamlit) of the learner's answer and the
measured truth for the loaded model. Each returns a `Grade`: whether the answer is right and a
nudge that points at the evidence without giving the answer away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


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


def grade_sep_prediction(answer: Any, predicted: int, unsorted: Sequence[int]) -> Grade:
    """What the model predicts at SEP for one list (its argmax at the SEP position)."""
    value = as_int(answer)
    if value is None:
        return Grade(False, "Enter a whole number: the token the model predicts at SEP.")
    if value == predicted:
        return Grade(True, f"{CORRECT} At SEP the model predicts {predicted}.")
    if value not in unsorted:
        return Grade(
            False,
            "That value is not in the list: the model's prediction at SEP is almost always one of the list's values.",
        )
    return Grade(
        False,
        "Not quite. Read the first row of the probability heatmap (the prediction made at SEP): which token has the highest probability?",
    )


def grade_least_accurate_position(answer: Any, per_position_accuracy: Sequence[float]) -> Grade:
    """The prediction position (0 = at SEP) with the lowest accuracy; any tied position counts."""
    value = as_int(answer)
    if value is None or not 0 <= value < len(per_position_accuracy):
        return Grade(False, f"Choose a position between 0 and {len(per_position_accuracy) - 1}.")
    lowest = min(per_position_accuracy)
    if per_position_accuracy[value] <= lowest:
        return Grade(True, f"{CORRECT} Position {value} has the lowest accuracy, {lowest:.1%}.")
    return Grade(
        False,
        f"Position {value} has accuracy {per_position_accuracy[value]:.1%}; at least one position does worse. Check the per-position accuracy table.",
    )


def grade_top_attended(answer: Any, expected: int, dest: int) -> Grade:
    """The source position that destination position `dest` attends to most in one head."""
    value = as_int(answer)
    if value is None:
        return Grade(False, "Enter a position (a whole number).")
    if value > dest:
        return Grade(False, f"Attention is causal: position {dest} can only attend to positions 0..{dest}.")
    if value == expected:
        return Grade(True, f"{CORRECT} Position {dest} attends most to position {expected}.")
    return Grade(
        False, "Not this one. Hover over the destination's row in the chosen head and find its darkest cell."
    )


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


def grade_top_source(answer: Any, scores: Sequence[float], dest: int) -> Grade:
    """The source token with the highest QK score for destination token `dest` (one head)."""
    value = as_int(answer)
    if value is None or not 0 <= value < len(scores):
        return Grade(False, f"Enter a source token between 0 and {len(scores) - 1}.")
    best = max(range(len(scores)), key=lambda t: scores[t])
    if value == best:
        return Grade(True, f"{CORRECT} Token {best} gets the highest score from destination {dest}.")
    if value == dest + 1 and best != dest + 1:
        return Grade(
            False,
            f"A natural guess (the next larger value), but for this head another source token scores higher than {value}. Look at the bar chart.",
        )
    return Grade(
        False,
        f"Token {value} scores {scores[value]:.2f}; some token scores higher. Look at the tallest bar in the chosen head.",
    )
