"""ARENA-style quiz widget, and "predict, then see".

A page gets an `Exercise` from its lesson module (`sortlist_app.lessons.<page>`: question, answer
widget, grader, hints, solution, all computed from the loaded model) and calls
`render_exercise(exercise, model)`. The grader is a pure function returning `Grade(ok, nudge)`
(see `lessons/exercise.py`). Every checked attempt goes through
`progress_session.record_attempt`, which saves it in the progress store; what is solved and the
sidebar's counts are `widgets/progress_session.py`.

Predict, then see: a page draws what answers a quiz (its interpreting prose, the marked table)
only under `revealed_or_locked(model, exercise)`, true once the quiz was answered, its solution
asked for ("Show the solution"), solved before, or cannot be posed on the model.

    copier = circuits.copier_exercise(resp, names)
    render_exercise(copier, model)
    if revealed_or_locked(model, copier):
        prose.render(circuits.RESPONSIBILITY_PROSE, facts)
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from sortlist_app.lessons.exercise import Answer, Exercise, Grade, Skipped, read_whole_number
from sortlist_app.navigation import page_of_exercise
from sortlist_core.checkpoint import LoadedModel

from .progress_session import note_posed, record_attempt, render_save_status, solved_ids, unposable_ids

REVEAL_KEY = "sortlist.reveal"  # {model weights_sha256: {exercise id}} answered or solution shown
LEVELS = 5
LOCKED = (
    "🔒 *Predict, then see:* what this section concludes appears once you have answered {what} "
    "(or shown its solution)."
)


def rating(level: int, on: str, off: str = "⚪") -> str:
    """`🔴🔴⚪⚪⚪` for level 2."""
    level = max(0, min(LEVELS, level))
    return on * level + off * (LEVELS - level)


# --------------------------------------------------------------------------- predict, then see


def _revealed() -> dict[str, set[str]]:
    return st.session_state.setdefault(REVEAL_KEY, {})


def reveal(model_key: str, exercise_id: str) -> None:
    """The learner answered (any checked answer) or asked for the solution. Per exercise, not
    per instance: once predicted, another list or token shows its interpretation at once."""
    _revealed().setdefault(model_key, set()).add(exercise_id)


def is_revealed(model: LoadedModel, exercise: Exercise | Skipped | str) -> bool:
    """Whether the page may now show what answers `exercise`: it was answered or its solution
    shown in this session, it was solved before (the store: any session or device), or it
    cannot be posed on this model."""
    if isinstance(exercise, Skipped):
        return True
    exercise_id = exercise if isinstance(exercise, str) else exercise.id
    return (
        exercise_id in _revealed().get(model.weights_sha256, set())
        or exercise_id in solved_ids(model)
        or exercise_id in unposable_ids(model)
    )


def revealed_or_locked(model: LoadedModel, *exercises: Exercise | Skipped | str, what: str = "") -> bool:
    """True when every one of `exercises` is revealed (the page then draws the interpretation);
    else a short note in its place, naming what to answer (`what`, default: the exercise above)."""
    if all(is_revealed(model, e) for e in exercises):
        return True
    st.caption(LOCKED.format(what=what or "the exercise above"))
    return False


# --------------------------------------------------------------------------- widget


def _keys(exercise_id: str) -> dict[str, str]:
    base = f"exercise.{exercise_id}"
    return {k: f"{base}.{k}" for k in ("answer", "check", "feedback", "hints", "hint_button", "solution")}


def _answer_widget(answer: Answer, key: str) -> Any:
    if answer.kind == "number":
        # A text field read by `read_whole_number`: what the learner sees is what gets graded.
        return st.text_input(answer.label, key=key, placeholder=answer.range_text())
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
    answer = exercise.answer
    graded: Any = value
    problem = "" if value is not None and value != "" else "Enter an answer first."
    if answer.kind == "number":
        graded, problem = read_whole_number(value, answer.min_value, answer.max_value)
    if problem:
        grade = Grade(False, problem)
    else:
        try:
            grade = exercise.grade(graded)
        except Exception as exc:  # a grader bug must not crash the page for the learner
            grade = Grade(False, f"This answer could not be checked ({type(exc).__name__}).")
    # Stored with the value it judged: shown only while the field still holds that value.
    st.session_state[keys["feedback"]] = (grade, value, exercise.context, model_key)
    if not problem:
        reveal(model_key, exercise.id)
        record_attempt(model_key, exercise.id, str(value), grade.ok)


def _more_hints(exercise_id: str) -> None:
    key = _keys(exercise_id)["hints"]
    st.session_state[key] = st.session_state.get(key, 0) + 1


def render_exercise(exercise: Exercise | Skipped, model: LoadedModel) -> None:
    """Draw the exercise in a bordered box: header, question, answer + Check, hints, solution.
    A `Skipped` exercise (no well-posed instance on this model) shows its title and why."""
    lesson = page_of_exercise(exercise.id)
    if lesson is None or exercise.id not in lesson.quizzes:  # its page's spec lists it: progress counts it
        raise ValueError(f"exercise {exercise.id!r} is in no lesson's LESSON.quizzes (sortlist_app/lessons/)")
    if isinstance(exercise, Skipped):
        if exercise.model_wide:
            note_posed(model, exercise.id, exercise.reason)
        with st.container(border=True, key=f"exercise.{exercise.id}.skipped"):
            st.markdown(f"#### ⏭️ Exercise: {exercise.title}")
            st.info(f"**Skipped on this model.** {exercise.reason}", icon="⏭️")
        return
    note_posed(model, exercise.id)
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
            render_save_status(exercise.id)  # classroom: whether the attempt reached the store
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
            # A button, not a closed expander: the solution (and what the page holds back until
            # then, `revealed_or_locked`) is sent to the browser only once it is asked for.
            if is_revealed(model, exercise):
                with st.expander("Solution"):
                    st.markdown(exercise.solution)
            else:
                st.button(
                    "Show the solution",
                    key=keys["solution"],
                    on_click=reveal,
                    args=(model.weights_sha256, exercise.id),
                )
