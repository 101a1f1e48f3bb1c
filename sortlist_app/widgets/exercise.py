"""ARENA-style exercise widget and the learner's progress.

A page gets an `Exercise` from its lesson module (`sortlist_app.lessons.<page>`: question, answer
widget, grader, hints, solution, all computed from the loaded model) and calls
`render_exercise(exercise, model)`. The grader is a pure function returning `Grade(ok, nudge)`
(see `lessons/exercise.py`). Every checked attempt goes through
`record_attempt`, which saves it in the progress store (`widgets/learner.py`); progress is per
learner key and model fingerprint, survives reloads, restarts and devices, and is summarised in
the sidebar by `progress_by_page`, which counts only what the model can pose (`note_posed`).

Predict, then see: a page draws what answers a quiz (its interpreting prose, the marked table)
only under `revealed_or_locked(model, exercise)`, true once the quiz was answered, its solution
asked for ("Show the solution"), solved before, or cannot be posed on the model.

    copier = circuits.copier_exercise(resp, names)
    render_exercise(copier, model)
    if revealed_or_locked(model, copier):
        prose.render("circuits_responsibility", facts)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st

from sortlist_app.lessons.exercise import Answer, Exercise, Grade, Skipped, read_whole_number
from sortlist_app.navigation import PAGES, page_of_exercise
from sortlist_core.checkpoint import LoadedModel
from sortlist_progress import ProgressStoreError, SaveResult

from . import learner

PROGRESS_KEY = "sortlist.progress"  # {model weights_sha256: set of ids solved in this session}
STORED_KEY = "sortlist.progress.stored"  # {model weights_sha256: ids the store had solved}
SAVE_KEY = "sortlist.progress.save"  # {exercise id: SaveResult or a message} of the last attempt
REVEAL_KEY = "sortlist.reveal"  # {model weights_sha256: {exercise id}} answered or solution shown
LEVELS = 5
LOCKED = (
    "🔒 *Predict, then see:* what this section concludes appears once you have answered {what} "
    "(or shown its solution)."
)

log = logging.getLogger(__name__)


def rating(level: int, on: str, off: str = "⚪") -> str:
    """`🔴🔴⚪⚪⚪` for level 2."""
    level = max(0, min(LEVELS, level))
    return on * level + off * (LEVELS - level)


# --------------------------------------------------------------------------- progress


def _progress() -> dict[str, set[str]]:
    return st.session_state.setdefault(PROGRESS_KEY, {})


def _stored(model_key: str) -> set[str]:
    """What the store says this learner solved on the model (read once per session and model;
    nothing while the store cannot be read, then tried again on the next run)."""
    cache = st.session_state.setdefault(STORED_KEY, {})
    if model_key not in cache:
        try:
            cache[model_key] = frozenset(learner.recorder().solved(learner.learner_key(), model_key))
        except ProgressStoreError as exc:
            log.warning("progress store: %s", exc)
            return set()
    return set(cache[model_key])


def forget_stored_progress() -> None:
    """Read the store again (another learner key was adopted)."""
    st.session_state.pop(STORED_KEY, None)
    st.session_state.pop(PROGRESS_KEY, None)


def solved_ids(model: LoadedModel) -> set[str]:
    """Exercise ids this learner solved on `model`: the store's (every device and session) plus
    this session's passes, saved or still waiting to be saved."""
    key = model.weights_sha256
    return _stored(key) | _progress().get(key, set())


def mark_solved(model_key: str, exercise_id: str) -> None:
    _progress().setdefault(model_key, set()).add(exercise_id)


def record_attempt(model_key: str, exercise_id: str, answer: str, passed: bool, kind: str = "answer") -> None:
    """Every checked attempt (a quiz answer or code) goes through here: the one place that keeps
    the learner's progress. It is written to the progress store; the exercise shows "saved" only
    once the store has committed it, else why not, with a Retry button."""
    if passed:
        mark_solved(model_key, exercise_id)
    try:
        result: SaveResult | str = learner.recorder().record(
            learner.learner_key(), model_key, exercise_id, answer, passed, kind
        )
    except ValueError as exc:  # an answer the store refuses (e.g. too long): retrying won't help
        result = f"This answer was not saved: {exc}."
    st.session_state.setdefault(SAVE_KEY, {})[exercise_id] = result


def _retry(exercise_id: str) -> None:
    st.session_state.setdefault(SAVE_KEY, {})[exercise_id] = learner.recorder().retry()


def render_save_status(exercise_id: str) -> None:
    """Under an exercise's feedback: saved, or why not (with Retry)."""
    result = st.session_state.get(SAVE_KEY, {}).get(exercise_id)
    if result is None:
        return
    if isinstance(result, str):
        st.warning(result, icon="💾")
    elif result.saved:
        st.caption("💾 Saved: your progress is kept for next time (see the sidebar for a resume link).")
    else:
        st.warning(result.message, icon="💾")
        st.button("Retry saving", key=f"exercise.{exercise_id}.retry", on_click=_retry, args=(exercise_id,))


# --------------------------------------------------------------------------- what can be posed


@st.cache_resource(show_spinner=False)
def _unposable_registry() -> tuple[threading.Lock, dict[str, dict[str, str]]]:
    """Server-wide {model weights_sha256: {exercise id: why}}: exercises this model alone makes
    unposable, learnt as pages draw them (the same for every learner on the model)."""
    return threading.Lock(), {}


def note_posed(model: LoadedModel, exercise_id: str, unposable_reason: str | None = None) -> None:
    """A page drew `exercise_id` on `model`: posed (None) or, for the model alone, not (why)."""
    lock, registry = _unposable_registry()
    with lock:
        entry = registry.setdefault(model.weights_sha256, {})
        if unposable_reason is None:
            entry.pop(exercise_id, None)
        else:
            entry[exercise_id] = unposable_reason


def unposable_ids(model: LoadedModel) -> set[str]:
    """Exercises known to be unposable on `model` (skipped there, whoever drew the page)."""
    lock, registry = _unposable_registry()
    with lock:
        return set(registry.get(model.weights_sha256, {}))


@dataclass(frozen=True)
class PageProgress:
    title: str
    solved: int  # among the exercises that can be posed on the model
    total: int  # the exercises that can be posed on the model
    skipped: int  # the page's exercises this model cannot pose

    @property
    def complete(self) -> bool:
        return self.solved == self.total

    def line(self) -> str:
        """'Problem: 3 of 3 (1 skipped on this model)'."""
        skipped = f" ({self.skipped} skipped on this model)" if self.skipped else ""
        return f"{self.title}: {self.solved} of {self.total}{skipped}"


def progress_by_page(model: LoadedModel) -> list[PageProgress]:
    """Solved / posable / skipped for every page that has exercises: an exercise this model
    cannot pose counts neither as solved nor in the total, so everything posable = complete."""
    solved, skipped = solved_ids(model), unposable_ids(model)
    rows = []
    for p in PAGES:
        if not p.exercises:
            continue
        posable = set(p.exercises) - skipped
        rows.append(
            PageProgress(p.title, len(solved & posable), len(posable), len(p.exercises) - len(posable))
        )
    return rows


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
    if page_of_exercise(exercise.id) is None:
        raise ValueError(f"exercise {exercise.id!r} is not declared in sortlist_app.navigation.PAGES")
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
