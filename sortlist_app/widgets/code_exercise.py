"""The code-exercise widget: the learner writes one step of the write-up as a Python function and
the app checks it on the loaded model.

A page calls `render(exercises.FULL_OV, model)` (the `CodeExercise` of
`sortlist_core/exercises/<page>.py`, listed in its lesson's `LESSON.code`) right after the
figure the exercise reproduces. The learner's code never runs here: `code_attempts.check` sends
it to `sortlist_core.runner` (a sandboxed child process) and compares the plain-data result with
the reference in this process; the output is drawn with the exercise's own `figure`.

State lives in `st.session_state` under `code.<id>.*` plain keys (not widget keys), so the code
survives reruns and page switches; the editor's own key carries a version that "Reset" bumps.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sortlist_app.navigation import page_of_exercise
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.exercises import CodeExercise, get_exercise
from sortlist_core.exercises.check import job_params
from sortlist_core.exercises.verdict import Verdict
from sortlist_core.runner import RunnerMode, default_runner, runner_mode

from . import cache
from .code_attempts import attempts, check, key, restore
from .progress_session import note_posed, render_save_status, solved_ids

EDITOR_LINES = (10, 40)  # the editor grows with the code between these line counts
PARAMS_KEY = "sortlist.code.params"  # {(model sha, exercise id): params} (shared dicts, never changed)
# Side by side only while every panel keeps this width in half the main column at 1280 px
# (~850 px wide next to the sidebar): the 4-panel DLA grids and 52x52 heatmaps stack.
MIN_PANEL_PX = 250
HALF_COLUMN_PX = 425


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


def _plots(ex: CodeExercise, model: LoadedModel, params: dict, verdict: Verdict) -> None:
    """Yours next to the reference, drawn only when the shapes match (else the message says why)."""
    got, expected, figure = verdict.got, verdict.expected, ex.figure
    if figure is None or got is None or expected is None:  # no figure, or nothing to draw
        return
    if np.shape(got) != np.shape(expected) or not np.isfinite(got).all():
        return
    try:
        # The learner's output stays this session's own (built only when it differs). The
        # reference is shared by every session.
        mine = None
        if not verdict.passed:
            mine = _titled(figure(model, params, np.asarray(got, dtype=float)), "Your output")
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
    """The page's figure of the reference output, titled "Reference" (keyed by the exercise's id,
    so the shared figure cache can tell exercises apart)."""
    figure = get_exercise(exercise_id).figure
    return None if figure is None else _titled(figure(model, params, values), "Reference")


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
    """Whether the page renders this exercise first (its lesson's spec lists them in render order)."""
    lesson = page_of_exercise(ex.id)
    return lesson is not None and lesson.code[:1] == (ex,)


def _reset(ex: CodeExercise) -> None:
    """Button callback: back to the starter; the editor remounts (new key) with it."""
    st.session_state[key(ex.id, "text")] = ex.starter
    st.session_state[key(ex.id, "version")] = st.session_state.get(key(ex.id, "version"), 0) + 1
    st.session_state.pop(key(ex.id, "verdict"), None)


def _request_check(ex: CodeExercise) -> None:
    st.session_state[key(ex.id, "pending")] = True


def _more_hints(ex: CodeExercise) -> None:
    hints = key(ex.id, "hints")
    st.session_state[hints] = st.session_state.get(hints, 0) + 1


def _editor(ex: CodeExercise) -> str:
    """The editor, seeded with the learner's last code; returns the current text."""
    ss = st.session_state
    text = ss.setdefault(key(ex.id, "text"), ex.starter)
    editor_key = key(ex.id, f"editor.{ss.get(key(ex.id, 'version'), 0)}")
    if editor_key not in ss:  # a fresh mount (first visit, back from another page, reset)
        ss[key(ex.id, "seed")] = text
    seed = ss.get(key(ex.id, "seed"), text)
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
    ss[key(ex.id, "text")] = code
    return code


# --------------------------------------------------------------------------- widget


def render(ex: CodeExercise, model: LoadedModel) -> None:
    """Draw one code exercise in a bordered box: statement, editor, Check/Reset, verdict (with
    the output plotted next to the reference), hints, and the solution after one attempt."""
    lesson = page_of_exercise(ex.id)
    if lesson is None or ex not in lesson.code:  # its page's spec lists it, so progress counts it
        raise ValueError(f"code exercise {ex.id!r} is in no lesson's LESSON.code (sortlist_app/lessons/)")
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
    restore(ex, model)
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
        key=key(ex.id, "check"),
        on_click=_request_check,
        args=(ex,),
        type="primary",
        disabled=off,
        help="Checking is off on this server (see above)" if off else None,
    )
    buttons.button("Reset to starter code", key=key(ex.id, "reset"), on_click=_reset, args=(ex,))
    # A request flag, not the button's value: it survives a rerun that happens before this line.
    if ss.pop(key(ex.id, "pending"), False) and not off:
        was_solved = ex.id in solved_ids(model)
        running = st.empty()  # at once (st.spinner waits 0.5 s; a warm check takes ~0.1 s)
        where = "in the sandbox" if decision.mode is RunnerMode.SANDBOX else "in a separate process"
        running.info(f"Running your code {where}…", icon="⏳")
        check(ex, model, code)
        running.empty()
        if ex.id in solved_ids(model) and not was_solved:
            _header(header, ex, model)  # ✅ now; the sidebar's count follows at the next page run
    _feedback(ex, model, params, code)
    _hints(ex)
    if attempts(ex, model) > 0:
        with st.expander("Reference solution"):
            st.code(ex.solution, language="python")


def _header(slot: Any, ex: CodeExercise, model: LoadedModel) -> None:
    solved = ex.id in solved_ids(model)
    slot.markdown(f"#### {'✅' if solved else '✍️'} Write the analysis yourself: {ex.title}")


def _feedback(ex: CodeExercise, model: LoadedModel, params: dict, code: str) -> None:
    last: dict[str, Any] | None = st.session_state.get(key(ex.id, "verdict"))
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
    shown = min(st.session_state.get(key(ex.id, "hints"), 0), len(ex.hints))
    for i in range(shown):
        st.info(f"**Hint {i + 1}.** {ex.hints[i]}", icon="💡")
    if shown < len(ex.hints):
        st.button(
            f"Show hint {shown + 1} of {len(ex.hints)}",
            key=key(ex.id, "hint_button"),
            on_click=_more_hints,
            args=(ex,),
        )
