"""The learner's progress in this session: what is solved, saving attempts, the sidebar's counts.

Every checked attempt (a quiz answer or code) goes through `record_attempt`, which saves it in
the progress store under this browser's learner key (`widgets/learner.py`); progress is per
learner key and model fingerprint, survives reloads, restarts and devices, and is summarised in
the sidebar by `progress_by_page`, which counts only what the model can pose (`note_posed`).
The quiz widget that asks is `widgets/exercise.py`; code exercises are `widgets/code_exercise.py`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import streamlit as st

from sortlist_app.navigation import PAGES
from sortlist_core.checkpoint import LoadedModel
from sortlist_progress import ProgressStoreError, SaveResult

from . import learner

PROGRESS_KEY = "sortlist.progress"  # {model weights_sha256: set of ids solved in this session}
STORED_KEY = "sortlist.progress.stored"  # {model weights_sha256: ids the store had solved}
SAVE_KEY = "sortlist.progress.save"  # {exercise id: SaveResult or a message} of the last attempt
LEARNER_KEY = "sortlist.progress.learner"  # the learner key the two above belong to

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- progress


def _forget_another_learners_progress() -> None:
    """A resume link switched this browser to another learner key: what this session remembered
    (the store's answer and this session's passes) was the previous learner's, so read again.
    Checked here rather than signalled by `learner`, which then needs to know nothing of it."""
    key = learner.learner_key()
    if st.session_state.setdefault(LEARNER_KEY, key) != key:
        st.session_state.pop(STORED_KEY, None)
        st.session_state.pop(PROGRESS_KEY, None)
        st.session_state[LEARNER_KEY] = key


def _progress() -> dict[str, set[str]]:
    _forget_another_learners_progress()
    return st.session_state.setdefault(PROGRESS_KEY, {})


def _stored(model_key: str) -> set[str]:
    """What the store says this learner solved on the model (read once per session and model;
    nothing while the store cannot be read, then tried again on the next run)."""
    _forget_another_learners_progress()
    cache = st.session_state.setdefault(STORED_KEY, {})
    if model_key not in cache:
        try:
            cache[model_key] = frozenset(learner.recorder().solved(learner.learner_key(), model_key))
        except ProgressStoreError as exc:
            log.warning("progress store: %s", exc)
            return set()
    return set(cache[model_key])


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
