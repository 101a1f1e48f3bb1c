"""ARENA-style exercise widget and the learner's progress.

A page builds an `Exercise` (question, answer widget, grader, hints, solution: all computed
from the loaded model) and calls `render_exercise(exercise, model)`. The grader is a pure
function returning `Grade(ok, nudge)` (see `grading.py`). Progress is kept in
`st.session_state` per model fingerprint, survives page switches, and is summarised in the
sidebar by `progress_by_page`.

    render_exercise(Exercise(
        id="circuits.copier_of_token",            # must be listed in navigation.PAGES
        title="Who copies token 31?",
        question="Which head is the stronger copier of token 31?",
        answer=Answer.select([0, 1], format_func=lambda h: f"head 0.{h}"),
        grade=lambda a: grading.grade_head_choice(a, owner, names, "Compare the diagonals."),
        hints=("Look at the diagonal of each OV heatmap.", "..."),
        solution="Head 0.0: ...",
        difficulty=2, importance=4,
        context="31",                              # feedback resets when this changes
    ), model)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from sortlist_core.checkpoint import LoadedModel

from .grading import Grade
from .navigation import PAGES, page_of_exercise

PROGRESS_KEY = "sortlist.progress"  # {model weights_sha256: set of solved exercise ids}
LEVELS = 5


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


def rating(level: int, on: str, off: str = "⚪") -> str:
    """`🔴🔴⚪⚪⚪` for level 2."""
    level = max(0, min(LEVELS, level))
    return on * level + off * (LEVELS - level)


# --------------------------------------------------------------------------- progress


def _progress() -> dict[str, set[str]]:
    return st.session_state.setdefault(PROGRESS_KEY, {})


def solved_ids(model: LoadedModel) -> set[str]:
    """Exercise ids this session solved on `model`."""
    return _progress().get(model.weights_sha256, set())


def mark_solved(model_key: str, exercise_id: str) -> None:
    _progress().setdefault(model_key, set()).add(exercise_id)


def progress_by_page(model: LoadedModel) -> list[tuple[str, int, int]]:
    """(page title, solved, total) for every page that has exercises."""
    solved = solved_ids(model)
    return [(p.title, len(solved & set(p.exercises)), len(p.exercises)) for p in PAGES if p.exercises]


# --------------------------------------------------------------------------- widget


def _keys(exercise_id: str) -> dict[str, str]:
    base = f"exercise.{exercise_id}"
    return {k: f"{base}.{k}" for k in ("answer", "check", "feedback", "hints", "hint_button")}


def _answer_widget(answer: Answer, key: str) -> Any:
    if answer.kind == "number":
        return st.number_input(
            answer.label,
            min_value=answer.min_value,
            max_value=answer.max_value,
            value=None,
            step=1,
            key=key,
            placeholder="a whole number",
        )
    if answer.kind == "select":
        return st.selectbox(
            answer.label,
            answer.options,
            index=None,
            format_func=answer.format_func,
            key=key,
            placeholder="choose…",
        )
    return st.text_input(answer.label, key=key, placeholder=answer.placeholder)


def _check(exercise: Exercise, model_key: str) -> None:
    """Button callback: runs before the next script run, so the sidebar shows the new progress."""
    keys = _keys(exercise.id)
    value = st.session_state.get(keys["answer"])
    if value is None or value == "":
        grade = Grade(False, "Enter an answer first.")
    else:
        try:
            grade = exercise.grade(value)
        except Exception as exc:  # a grader bug must not crash the page for the learner
            grade = Grade(False, f"This answer could not be checked ({type(exc).__name__}).")
    st.session_state[keys["feedback"]] = (grade, value, exercise.context, model_key)
    if grade.ok:
        mark_solved(model_key, exercise.id)


def _more_hints(exercise_id: str) -> None:
    key = _keys(exercise_id)["hints"]
    st.session_state[key] = st.session_state.get(key, 0) + 1


def render_exercise(exercise: Exercise, model: LoadedModel) -> None:
    """Draw the exercise in a bordered box: header, question, answer + Check, hints, solution."""
    if page_of_exercise(exercise.id) is None:
        raise ValueError(f"exercise {exercise.id!r} is not declared in sortlist_app.navigation.PAGES")
    keys = _keys(exercise.id)
    solved = exercise.id in solved_ids(model)
    with st.container(border=True):
        st.markdown(f"#### {'✅' if solved else '🧩'} Exercise: {exercise.title}")
        st.caption(
            f"Difficulty: {rating(exercise.difficulty, '🔴')} · Importance: {rating(exercise.importance, '🔵')}"
        )
        st.markdown(exercise.question)
        value = _answer_widget(exercise.answer, keys["answer"])
        st.button(
            "Check answer",
            key=keys["check"],
            on_click=_check,
            args=(exercise, model.weights_sha256),
            type="primary",
        )
        feedback = st.session_state.get(keys["feedback"])
        # Only show feedback for the answer, question and model it was given for.
        if feedback is not None and feedback[1:] == (value, exercise.context, model.weights_sha256):
            grade = feedback[0]
            (st.success if grade.ok else st.warning)(grade.nudge, icon="✅" if grade.ok else "🤔")
        shown = min(st.session_state.get(keys["hints"], 0), len(exercise.hints))
        for i in range(shown):
            st.info(f"**Hint {i + 1}.** {exercise.hints[i]}", icon="💡")
        if shown < len(exercise.hints):
            st.button(
                f"Show hint {shown + 1} of {len(exercise.hints)}",
                key=keys["hint_button"],
                on_click=_more_hints,
                args=(exercise.id,),
            )
        if exercise.solution:
            with st.expander("Solution"):
                st.markdown(exercise.solution)
