"""The Explain page's hypothesis box: reference buttons, the editor, "Test my hypothesis", and the
result kept in the session (per model) until the next test. The code runs in the sandboxed runner
(`sortlist_core.explain.run_hypothesis`); scoring runs here on the server's cached baselines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from sortlist_app.server.run_gate import RUN_GATE
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.explain import Explanation, Hypothesis, ReferenceHypothesis, explain, run_hypothesis
from sortlist_core.runner import RunnerMode, runner_mode

from . import cache, learner

try:  # the code exercises' editor (Ace, offline); a text area otherwise
    from streamlit_ace import st_ace
except ImportError:  # pragma: no cover - requirements.txt pins streamlit-ace
    st_ace = None

TEXT, VERSION, RESULT, PENDING = "explain.text", "explain.version", "explain.result", "explain.pending"


@cache.model_cached(max_entries=8)
def prepared(model: LoadedModel):
    from sortlist_core.explain import prepare

    return prepare(model)


@cache.model_cached(max_entries=8)
def references_measured(model: LoadedModel) -> tuple:
    """(reference, Explanation) for the three ready-made hypotheses on this model."""
    from sortlist_core.explain.references import reference_results

    return reference_results(prepared(model))


def _load(source: str) -> None:
    st.session_state[TEXT] = source
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def _request() -> None:
    st.session_state[PENDING] = True


def editor(references: tuple[ReferenceHypothesis, ...]) -> str:
    ss = st.session_state
    ss.setdefault(TEXT, references[0].source)
    row = st.container(horizontal=True, gap="small")
    for ref in references:
        row.button(f"Load: {ref.title}", key=f"explain.load.{ref.key}", on_click=_load, args=(ref.source,))
    key = f"explain.editor.{ss.get(VERSION, 0)}"
    if key not in ss:
        ss["explain.seed"] = ss[TEXT]
    seed = ss.get("explain.seed", ss[TEXT])
    if st_ace is not None:
        code = st_ace(
            value=seed, language="python", theme="chrome", keybinding="vscode", min_lines=20,
            max_lines=48, font_size=15, tab_size=4, wrap=True, auto_update=True, key=key,
        )  # fmt: skip
    else:
        code = st.text_area("Your hypothesis", value=seed, height=480, key=key)
    code = seed if code is None else str(code)
    ss[TEXT] = code
    return code


def test_button(model: LoadedModel, code: str) -> dict[str, Any] | None:
    """The button, the run when asked, and the last result for this model (None before any)."""
    decision = runner_mode()
    off = decision.mode is RunnerMode.OFF
    if off:
        st.info(f"Running code is turned off on this server: {decision.reason}", icon="🔒")
    st.button("Test my hypothesis", type="primary", on_click=_request, disabled=off, key="explain.test")
    if st.session_state.pop(PENDING, False) and not off:
        RUN_GATE.step_aside()  # the run waits on the sandbox: other learners' runs go first
        with st.status("Testing your hypothesis…", expanded=False) as status:
            status.update(label="Running your code in the sandbox…")
            # keyed by learner, not tab: the runner allows one check per learner at a time
            ran = run_hypothesis(model, code, session=learner.learner_key())
            result: Explanation | None = None
            if ran.hypothesis is not None:
                status.update(label="Splicing it into the model on the 500 evaluation lists…")
                result = explain(prepared(model), ran.hypothesis)
            status.update(label="Done" if result else "Your hypothesis could not be tested", state="complete")
        if ran.hypothesis is not None:  # the session keeps the routing, not ~2 MB of patterns
            ran = replace(ran, hypothesis=Hypothesis(handles=ran.hypothesis.handles))
        st.session_state[RESULT] = {"model": model.weights_sha256, "code": code, "run": ran, "result": result}
    last = st.session_state.get(RESULT)
    return last if last is not None and last["model"] == model.weights_sha256 else None
