"""The code-exercise widget: the learner writes one step of the write-up as a Python function and
the app checks it on the loaded model.

A page calls `render("circuits.full_ov", model)` right after the figure the exercise reproduces.
The learner's code never runs here: `check_submission` sends it to `sortlist_core.runner` (a
sandboxed child process) and compares the plain-data result with the reference in this process.

State lives in `st.session_state` under `code.<id>.*` plain keys (not widget keys), so the code
survives reruns and page switches; the editor's own key carries a version that "Reset" bumps.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sortlist_app.navigation import page_of_exercise
from sortlist_app.server.check_rate import CHECK_RATE
from sortlist_app.server.run_gate import RUN_GATE
from sortlist_core import figures
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.circuits import position_labels
from sortlist_core.exercises import CodeExercise, get_exercise
from sortlist_core.exercises.check import job_params, run_submission
from sortlist_core.exercises.verdict import Verdict
from sortlist_core.runner import RunnerMode, default_runner, runner_mode
from sortlist_progress import CodeHistory, ProgressStoreError

from . import cache, learner
from .progress_session import note_posed, record_attempt, render_save_status, solved_ids

BUSY = "The server is busy checking other learners' code; try again in a few seconds. Your code is kept."
EDITOR_LINES = (10, 40)  # the editor grows with the code between these line counts
PARAMS_KEY = "sortlist.code.params"  # {(model sha, exercise id): params} (shared dicts, never changed)
STORED_KEY = "sortlist.code.stored"  # {model weights_sha256: {exercise id: CodeHistory}} read once
# Side by side only while every panel keeps this width in half the main column at 1280 px
# (~850 px wide next to the sidebar): the 4-panel DLA grids and 52x52 heatmaps stack.
MIN_PANEL_PX = 250
HALF_COLUMN_PX = 425

log = logging.getLogger(__name__)


def _ace() -> Any:
    """Ace's `st_ace` (react-ace, JS bundled in the wheel: works offline), or None for a plain
    text area. Imported in a script run, not with this module: a component registers itself
    with the server only when declared inside a session's run (`sortlist_app.server.warm_start`
    imports this module in a thread that has none)."""
    try:
        from streamlit_ace import st_ace
    except ImportError:  # pragma: no cover - requirements.txt pins streamlit-ace
        return None
    return st_ace


# --------------------------------------------------------------------------- runner


@st.cache_resource(show_spinner=False)
def warm_up_runner() -> threading.Thread | None:
    """Start the runner's worker (imports torch/TransformerLens: seconds) once per server
    process, in the background, so a learner's first check is fast. `app.py` calls it after the
    first page's run: a check before then starts the worker itself."""
    if runner_mode().mode is RunnerMode.OFF:
        return None
    thread = threading.Thread(target=_warm, name="sortlist-runner-warm-up", daemon=True)
    thread.start()
    return thread


WORKER_START_DELAY_S = 2.0  # after the first page's run: its charts draw before the worker imports


def _warm() -> None:
    time.sleep(WORKER_START_DELAY_S)
    try:
        default_runner().warm_up()
    except Exception:  # noqa: BLE001 - a failed warm-up shows up, explained, at the first check
        pass


@cache.model_cached()
def exercise_params(model: LoadedModel, exercise_id: str) -> dict:
    """The exercise's well-posed parameters on this model (the adversarial ones search: seconds)."""
    return job_params(get_exercise(exercise_id), model)


# --------------------------------------------------------------------------- plots


def _figure(ex: CodeExercise, model: LoadedModel, params: dict, values: np.ndarray) -> go.Figure | None:
    """The page's own figure for this exercise's output, or None where a plot would not help."""
    names = model.config.head_names
    if ex.id == "circuits.full_ov":
        return figures.ov_circuit_heatmaps(values, names)
    if ex.id == "circuits.full_qk":
        return figures.qk_circuit_heatmaps(values, names)
    if ex.id == "circuits.positional_qk":
        labels = position_labels(model.config.list_len)
        labels = labels if len(labels) == values.shape[1] else [str(p) for p in range(values.shape[1])]
        return figures.positional_qk_heatmaps(values, labels, names)
    if ex.id == "mystery.dla_yz":
        titles = [
            f"x={x}, y={y}, z={z}" for x, y, z in zip(params["x_list"], params["y_list"], params["z_list"])
        ]
        return figures.dla_grid(values, titles, "Direct logit attribution at x")
    return None


def _plots(ex: CodeExercise, model: LoadedModel, params: dict, verdict: Verdict) -> None:
    """Yours next to the reference, drawn only when the shapes match (else the message says why)."""
    got, expected = verdict.got, verdict.expected
    if got is None or expected is None or np.shape(got) != np.shape(expected) or not np.isfinite(got).all():
        return
    try:
        # The learner's output stays this session's own (built only when it differs). The
        # reference is shared by every session.
        mine = None
        if not verdict.passed:
            mine = _titled(_figure(ex, model, params, np.asarray(got, dtype=float)), "Your output")
        ref = cache.figure(reference_figure, ex.id, model, params, np.asarray(expected, dtype=float))
    except Exception:  # noqa: BLE001 - a plot is a bonus; the verdict above already explains
        return
    if ref is None:
        return
    if verdict.passed:  # equal to the reference within tolerance: one figure says it all
        st.caption("Your output matches the reference:")
        st.plotly_chart(ref, key=f"code.{ex.id}.plot.Reference", width="stretch")
        return
    if mine is None:
        return
    places = st.columns(2) if side_by_side(mine, ref) else (st.container(), st.container())
    for column, fig, caption in zip(places, (mine, ref), ("Your output", "Reference")):
        column.plotly_chart(fig, key=f"code.{ex.id}.plot.{caption}", width="stretch")


def reference_figure(
    exercise_id: str, model: LoadedModel, params: dict, values: np.ndarray
) -> go.Figure | None:
    """The page's figure of the reference output, titled "Reference"."""
    return _titled(_figure(get_exercise(exercise_id), model, params, values), "Reference")


def _titled(fig: go.Figure | None, caption: str) -> go.Figure | None:
    if fig is not None:
        fig.update_layout(title={"text": caption})
    return _slim(fig)


def _slim(fig: go.Figure | None) -> go.Figure | None:
    """Heatmap values as float32: plotly sends numpy arrays as typed binary, so this halves what
    a verdict's figures weigh; a colour and a hover with 4 significant digits lose nothing."""
    if fig is not None:
        for trace in fig.data:
            z = getattr(trace, "z", None)
            if z is not None:
                trace.z = np.asarray(z, dtype=np.float32)
    return fig


def _panels(fig: go.Figure) -> int:
    return max(1, sum(1 for key in fig.layout.to_plotly_json() if key.startswith("xaxis")))


def side_by_side(*figs: go.Figure) -> bool:
    """Whether these figures fit next to each other at 1280 px (else they stack)."""
    return all(_panels(f) * MIN_PANEL_PX <= HALF_COLUMN_PX for f in figs)


# --------------------------------------------------------------------------- state


def _first_on_page(ex: CodeExercise) -> bool:
    """Whether the page renders this exercise first (its lesson lists them in render order)."""
    lesson = importlib.import_module(f"sortlist_app.lessons.{ex.page}")
    return lesson.CODE_EXERCISES[:1] == (ex.id,)


def _key(exercise_id: str, part: str) -> str:
    return f"code.{exercise_id}.{part}"


def _reset(ex: CodeExercise) -> None:
    """Button callback: back to the starter; the editor remounts (new key) with it."""
    st.session_state[_key(ex.id, "text")] = ex.starter
    st.session_state[_key(ex.id, "version")] = st.session_state.get(_key(ex.id, "version"), 0) + 1
    st.session_state.pop(_key(ex.id, "verdict"), None)


def _request_check(ex: CodeExercise) -> None:
    st.session_state[_key(ex.id, "pending")] = True


def _more_hints(ex: CodeExercise) -> None:
    key = _key(ex.id, "hints")
    st.session_state[key] = st.session_state.get(key, 0) + 1


def _editor(ex: CodeExercise) -> str:
    """The editor, seeded with the learner's last code; returns the current text."""
    ss = st.session_state
    text = ss.setdefault(_key(ex.id, "text"), ex.starter)
    editor_key = _key(ex.id, f"editor.{ss.get(_key(ex.id, 'version'), 0)}")
    if editor_key not in ss:  # a fresh mount (first visit, back from another page, reset)
        ss[_key(ex.id, "seed")] = text
    seed = ss.get(_key(ex.id, "seed"), text)
    # room to write below the stub: the frame does not always grow as the code does
    n_lines = min(max(seed.count("\n") + 8, EDITOR_LINES[0]), EDITOR_LINES[1])
    st_ace = _ace()
    if st_ace is not None:
        code = st_ace(
            value=seed,
            language="python",
            theme="chrome",
            keybinding="vscode",
            min_lines=n_lines,
            max_lines=EDITOR_LINES[1],
            font_size=15,  # at 14 px Ace clips the underscores (W_OV reads "W OV")
            tab_size=4,
            wrap=True,  # long signatures stay visible without scrolling sideways
            auto_update=True,
            key=editor_key,
        )
    else:
        code = st.text_area("Your code", value=seed, height=22 * n_lines, key=editor_key)
    code = seed if code is None else str(code)
    ss[_key(ex.id, "text")] = code
    return code


# --------------------------------------------------------------------------- widget


def render(exercise_id: str, model: LoadedModel) -> None:
    """Draw one code exercise in a bordered box: statement, editor, Check/Reset, verdict (with
    the output plotted next to the reference), hints, and the solution after one attempt."""
    if page_of_exercise(exercise_id) is None:
        raise ValueError(f"code exercise {exercise_id!r} is not declared in sortlist_app.navigation.PAGES")
    ex = get_exercise(exercise_id)
    with st.container(border=True):
        _body(ex, model)


@st.fragment
def _body(ex: CodeExercise, model: LoadedModel) -> None:
    # A fragment: typing and checking rerun this box only, never the page (its analyses, figures,
    # the other exercises and the sidebar stay as they are: the sidebar's count of a first solve
    # shows at the next page run). Writing into the sidebar from here was tried: Streamlit 1.67's
    # frontend then failed now and then ("Cannot set a node at a delta path"). Fragment runs do
    # not pass through app.py, so the run gate never holds them.
    ss = st.session_state
    _restore(ex, model)
    header = st.empty()  # redrawn after a check, so a first solve shows ✅ in this same run
    _header(header, ex, model)
    known = ss.setdefault(PARAMS_KEY, {})  # this session's look-ups: no spinner (a timer thread) per rerun
    params = known.get((model.weights_sha256, ex.id))
    if params is None:
        with st.spinner("Choosing this exercise's parameters for the model in use…"):
            try:
                params = exercise_params(model, ex.id)
            except Exception as exc:  # noqa: BLE001 - one exercise must not take the page down
                note_posed(model, ex.id, str(exc))  # leaves the sidebar's count for this model
                st.info(f"This exercise cannot be posed on the model in use ({exc}).", icon="ℹ️")
                return
        known[(model.weights_sha256, ex.id)] = params
    note_posed(model, ex.id)
    st.markdown(ex.render_statement(params))
    decision = runner_mode()
    off = decision.mode is RunnerMode.OFF
    if off and _first_on_page(ex):  # the reason once per page, above its first code exercise
        st.info(f"Checking code is turned off on this server: {decision.reason}", icon="🔒")
    code = _editor(ex)
    buttons = st.container(horizontal=True, gap="small")
    buttons.button(
        "Check my code",
        key=_key(ex.id, "check"),
        on_click=_request_check,
        args=(ex,),
        type="primary",
        disabled=off,
        help="Checking is off on this server (see above)" if off else None,
    )
    buttons.button("Reset to starter code", key=_key(ex.id, "reset"), on_click=_reset, args=(ex,))
    # A request flag, not the button's value: it survives a rerun that happens before this line.
    if ss.pop(_key(ex.id, "pending"), False) and not off:
        was_solved = ex.id in solved_ids(model)
        running = st.empty()  # at once (st.spinner waits 0.5 s; a warm check takes ~0.1 s)
        where = "in the sandbox" if decision.mode is RunnerMode.SANDBOX else "in a separate process"
        running.info(f"Running your code {where}…", icon="⏳")
        _check(ex, model, code)
        running.empty()
        if ex.id in solved_ids(model) and not was_solved:
            _header(header, ex, model)  # ✅ now; the sidebar's count follows at the next page run
    _feedback(ex, model, params, code)
    _hints(ex)
    if _attempts(ex, model) > 0:
        with st.expander("Reference solution"):
            st.code(ex.solution, language="python")


def _header(slot: Any, ex: CodeExercise, model: LoadedModel) -> None:
    solved = ex.id in solved_ids(model)
    slot.markdown(f"#### {'✅' if solved else '✍️'} Write the analysis yourself: {ex.title}")


# --------------------------------------------------------------------------- stored attempts


def _stored(model: LoadedModel) -> dict[str, CodeHistory] | None:
    """This learner's code history on `model` from the store (every device and session), read
    once per session and model; None while the store cannot be read (tried again next run)."""
    cache = st.session_state.setdefault(STORED_KEY, {})
    key = model.weights_sha256
    if key not in cache:
        try:
            cache[key] = learner.recorder().code_history(learner.learner_key(), key)
        except ProgressStoreError as exc:
            log.warning("progress store: %s", exc)
            return None
        suffix = f".attempts.{key}"  # this session's checks so far are in what was just read
        for name in [k for k in st.session_state if str(k).startswith("code.") and str(k).endswith(suffix)]:
            st.session_state[name] = 0
    return cache[key]


def _restore(ex: CodeExercise, model: LoadedModel) -> None:
    """A session's first look at this exercise: the last code the learner submitted on this
    model (on any device) goes back in the editor, and its attempts count."""
    ss = st.session_state
    restored = _key(ex.id, f"restored.{model.weights_sha256}")
    if restored in ss:
        return
    stored = _stored(model)
    if stored is None:
        return
    ss[restored] = True
    history = stored.get(ex.id)
    if history is None:
        return
    if ss.get(_key(ex.id, "text"), ex.starter) == ex.starter:  # never over code typed this session
        ss[_key(ex.id, "text")] = history.last_code
        ss[_key(ex.id, "version")] = ss.get(_key(ex.id, "version"), 0) + 1  # the editor remounts with it


def _attempts(ex: CodeExercise, model: LoadedModel) -> int:
    """Checks that ran, on this model: the store's (all devices) plus this session's since."""
    stored = (_stored(model) or {}).get(ex.id)
    session = st.session_state.get(_key(ex.id, f"attempts.{model.weights_sha256}"), 0)
    return (stored.attempts if stored else 0) + session


def _check(ex: CodeExercise, model: LoadedModel, code: str) -> None:
    rate = CHECK_RATE.try_check(learner.learner_key())
    if not rate.allowed:  # too many checks from this learner: say so, run nothing, keep the code
        st.session_state[_key(ex.id, "verdict")] = {
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
        st.session_state[_key(ex.id, "verdict")] = {
            "status": "off",
            "message": f"Your code could not be run: {exc}",
            "code": code,
            "model": model.weights_sha256,
        }
        return
    status = outcome.status
    if status not in ("busy", "off"):  # the code ran: an attempt that counts
        record_attempt(model.weights_sha256, ex.id, code, verdict.passed, kind="code")
        counter = _key(ex.id, f"attempts.{model.weights_sha256}")
        st.session_state[counter] = st.session_state.get(counter, 0) + 1
    message = verdict.message
    traceback = (outcome.traceback or "").strip()
    if traceback and message.endswith(traceback):
        message = message[: -len(traceback)].strip()
    st.session_state[_key(ex.id, "verdict")] = {
        "status": status,
        "verdict": verdict,
        "message": BUSY if status == "busy" else message,
        "traceback": traceback,
        "stdout": outcome.stdout or "",
        "seconds": outcome.seconds,
        "code": code,
        "model": model.weights_sha256,
    }


def _feedback(ex: CodeExercise, model: LoadedModel, params: dict, code: str) -> None:
    last: dict[str, Any] | None = st.session_state.get(_key(ex.id, "verdict"))
    if last is None or last["model"] != model.weights_sha256:
        return
    if last["status"] in ("busy", "off"):
        st.warning(last["message"], icon="⏳")
        return
    verdict: Verdict = last["verdict"]
    if verdict.passed:
        st.success(last["message"], icon="✅")
    else:
        st.warning(last["message"], icon="🤔")
    render_save_status(ex.id)  # "Saved" once the store committed it, else why not, with Retry
    if last["code"] != code:
        st.caption("This verdict is for the code you checked last; you have edited it since.")
    if last["traceback"]:
        st.code(last["traceback"], language="text")
    if last["stdout"].strip():
        st.caption("What your code printed:")
        st.code(last["stdout"], language="text")
    _plots(ex, model, params, verdict)


def _hints(ex: CodeExercise) -> None:
    shown = min(st.session_state.get(_key(ex.id, "hints"), 0), len(ex.hints))
    for i in range(shown):
        st.info(f"**Hint {i + 1}.** {ex.hints[i]}", icon="💡")
    if shown < len(ex.hints):
        st.button(
            f"Show hint {shown + 1} of {len(ex.hints)}",
            key=_key(ex.id, "hint_button"),
            on_click=_more_hints,
            args=(ex,),
        )
