"""Running a hypothesis's code: in the sandboxed runner (the app, the CLI), or in this process
(trusted callers only: notebooks and tests). Either way only plain arrays reach `decode_hypothesis`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checkpoint import LoadedModel, checkpoint_bytes
from .hypothesis import HARNESS_ENTRY, Hypothesis, HypothesisError, decode_hypothesis, harness_source

MODES = ("full", "attention", "disagree")
MAX_SOURCE_CHARS = 100_000
INPUTS = ("dataset", "model", "n_heads", "mode")


@dataclass(frozen=True)
class HypothesisRun:
    """A checked hypothesis, or the sentence that says why there is none; `outcome` is the
    runner's RunOutcome (status, stdout, traceback, seconds) when the code ran in the runner."""

    hypothesis: Hypothesis | None
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    status: str = "ok"
    seconds: float = 0.0


def job_params(model: LoadedModel, mode: str) -> dict:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return {"n_heads": model.config.n_heads, "mode": mode}


def decode_value(model: LoadedModel, value: Any, mode: str) -> Hypothesis:
    cfg = model.config
    return decode_hypothesis(
        value, n_heads=cfg.n_heads, seq=cfg.n_ctx, d_vocab=cfg.d_vocab, max_value=cfg.max_value, mode=mode
    )


def hypothesis_job(model: LoadedModel, source: str, mode: str = "full") -> Any:
    """The runner `Job` for a hypothesis: the learner's code with the harness appended."""
    from ..runner import Job

    return Job(
        source=harness_source(source),
        entry=HARNESS_ENTRY,
        inputs=INPUTS,
        params=job_params(model, mode),
        checkpoint=checkpoint_bytes(model.state_dict, model.config, model.metadata),
    )


def hypothesis_from_outcome(model: LoadedModel, outcome: Any, mode: str = "full") -> HypothesisRun:
    """A runner `RunOutcome` -> a checked hypothesis, or the sentence that says why not."""
    common = {"traceback": outcome.traceback, "stdout": outcome.stdout, "status": outcome.status}
    if not outcome.ok:
        return HypothesisRun(
            None, outcome.message or f"Your code did not finish ({outcome.status}).", **common
        )
    try:
        return HypothesisRun(decode_value(model, outcome.value, mode), seconds=outcome.seconds, **common)
    except HypothesisError as exc:
        return HypothesisRun(None, str(exc), seconds=outcome.seconds, **common)


def run_hypothesis(
    model: LoadedModel,
    source: str,
    *,
    mode: str = "full",
    session: str | None = None,
    timeout_s: float = 20.0,
) -> HypothesisRun:
    """Run the learner's hypothesis in the sandboxed runner and check what comes back."""
    from ..runner import run_job

    if len(source) > MAX_SOURCE_CHARS:
        return HypothesisRun(
            None,
            f"Your code is {len(source):,} characters long; at most {MAX_SOURCE_CHARS:,}.",
            status="error",
        )
    outcome = run_job(hypothesis_job(model, source, mode), session=session, timeout_s=timeout_s)
    return hypothesis_from_outcome(model, outcome, mode)


def raw_value_in_process(model: LoadedModel, namespace: dict[str, Any], mode: str) -> Any:
    """The harness run on an already-executed namespace (a notebook's globals, a test's code)."""
    from ..exercises.fixtures import build_inputs_for_model
    from ..exercises.local import _tl_model, to_plain

    params = job_params(model, mode)
    ns = dict(namespace)
    exec(compile(harness_source(""), "<harness>", "exec"), ns)  # noqa: S102 - trusted harness text
    inputs = build_inputs_for_model(INPUTS, params, model, _tl_model(model))
    return to_plain(ns[HARNESS_ENTRY](*[inputs[n] for n in INPUTS]))


def hypothesis_in_process(model: LoadedModel, source: str, mode: str = "full") -> Hypothesis:
    """Trusted callers only (tests, notebooks): exec `source` here and decode its arrays."""
    namespace: dict[str, Any] = {"__name__": "learner"}
    exec(compile(source, "<your code>", "exec"), namespace)  # noqa: S102 - trusted callers only
    return decode_value(model, raw_value_in_process(model, namespace, mode), mode)
