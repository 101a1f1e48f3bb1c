"""A learner's checks of the code exercises: running one (rate limit, run gate, runner), counting
attempts, and the last submitted code coming back from the progress store.

The widget (`widgets/code_exercise.py`) draws; this module keeps the record. Both share the
session-state keys `code.<id>.<part>` of `key`: the editor's text, the last verdict, attempts.
"""

from __future__ import annotations

import logging

import streamlit as st

from sortlist_app.server.check_rate import CHECK_RATE
from sortlist_app.server.run_gate import RUN_GATE
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.exercises import CodeExercise
from sortlist_core.exercises.check import run_submission
from sortlist_progress import CodeHistory, ProgressStoreError

from . import learner
from .progress_session import record_attempt

BUSY = "The server is busy checking other learners' code; try again in a few seconds. Your code is kept."
STORED_KEY = "sortlist.code.stored"  # {model weights_sha256: {exercise id: CodeHistory}} read once

log = logging.getLogger(__name__)


def key(exercise_id: str, part: str) -> str:
    """The session-state key of one part of an exercise's state (`text`, `verdict`, ...)."""
    return f"code.{exercise_id}.{part}"


def _stored(model: LoadedModel) -> dict[str, CodeHistory] | None:
    """This learner's code history on `model` from the store (every device and session), read
    once per session and model; None while the store cannot be read (tried again next run)."""
    cache = st.session_state.setdefault(STORED_KEY, {})
    sha = model.weights_sha256
    if sha not in cache:
        try:
            cache[sha] = learner.recorder().code_history(learner.learner_key(), sha)
        except ProgressStoreError as exc:
            log.warning("progress store: %s", exc)
            return None
        suffix = f".attempts.{sha}"  # this session's checks so far are in what was just read
        for name in [k for k in st.session_state if str(k).startswith("code.") and str(k).endswith(suffix)]:
            st.session_state[name] = 0
    return cache[sha]


def restore(ex: CodeExercise, model: LoadedModel) -> None:
    """A session's first look at this exercise: the last code the learner submitted on this
    model (on any device) goes back in the editor, and its attempts count."""
    ss = st.session_state
    restored = key(ex.id, f"restored.{model.weights_sha256}")
    if restored in ss:
        return
    stored = _stored(model)
    if stored is None:
        return
    ss[restored] = True
    history = stored.get(ex.id)
    if history is None:
        return
    if ss.get(key(ex.id, "text"), ex.starter) == ex.starter:  # never over code typed this session
        ss[key(ex.id, "text")] = history.last_code
        ss[key(ex.id, "version")] = ss.get(key(ex.id, "version"), 0) + 1  # the editor remounts with it


def attempts(ex: CodeExercise, model: LoadedModel) -> int:
    """Checks that ran, on this model: the store's (all devices) plus this session's since."""
    stored = (_stored(model) or {}).get(ex.id)
    session = st.session_state.get(key(ex.id, f"attempts.{model.weights_sha256}"), 0)
    return (stored.attempts if stored else 0) + session


def check(ex: CodeExercise, model: LoadedModel, code: str) -> None:
    """Run `code` through the runner and keep the verdict (`key(id, "verdict")`) for the widget;
    a check that ran counts as an attempt and is saved in the store."""
    rate = CHECK_RATE.try_check(learner.learner_key())
    if not rate.allowed:  # too many checks from this learner: say so, run nothing, keep the code
        st.session_state[key(ex.id, "verdict")] = {
            "status": "busy",
            "message": rate.message,
            "code": code,
            "model": model.weights_sha256,
        }
        return
    RUN_GATE.step_aside()  # in a whole-page run: the check waits on another process, others go first
    try:
        verdict, outcome = run_submission(ex, model, code, session=learner.learner_key())
    except Exception as exc:  # noqa: BLE001 - e.g. RunnerUnavailable: say so, keep the code
        st.session_state[key(ex.id, "verdict")] = {
            "status": "off",
            "message": f"Your code could not be run: {exc}",
            "code": code,
            "model": model.weights_sha256,
        }
        return
    status = outcome.status
    if status not in ("busy", "off"):  # the code ran: an attempt that counts
        record_attempt(model.weights_sha256, ex.id, code, verdict.passed, kind="code")
        counter = key(ex.id, f"attempts.{model.weights_sha256}")
        st.session_state[counter] = st.session_state.get(counter, 0) + 1
    message = verdict.message
    traceback = (outcome.traceback or "").strip()
    if traceback and message.endswith(traceback):
        message = message[: -len(traceback)].strip()
    st.session_state[key(ex.id, "verdict")] = {
        "status": status,
        "verdict": verdict,
        "message": BUSY if status == "busy" else message,
        "traceback": traceback,
        "stdout": outcome.stdout or "",
        "seconds": outcome.seconds,
        "code": code,
        "model": model.weights_sha256,
    }
