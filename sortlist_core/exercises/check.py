"""Checking a learner's source through the sandboxed runner (`sortlist_core.runner`): the code
runs in a child process; only its plain-data result comes back and is checked here, in the
trusted process, against the reference computed from the loaded model."""

from __future__ import annotations

import json
from typing import Any

from ..checkpoint import LoadedModel, checkpoint_bytes
from .spec import CodeExercise
from .verdict import NOT_IMPLEMENTED, Verdict, error_verdict

DEFAULT_TIMEOUT_S = 10.0
# Runner statuses that mean no verdict on the code could be reached (the code never ran).
NOT_RUN = ("busy", "off")


def job_params(exercise: CodeExercise, model: LoadedModel) -> dict:
    """The exercise's parameters for this model, checked to be plain JSON (they cross into the child)."""
    params = exercise.params(model)
    json.dumps(params)  # TypeError here is a bug in the exercise, not the learner's
    return params


def verdict_from_outcome(exercise: CodeExercise, model: LoadedModel, params: dict, outcome: Any) -> Verdict:
    """Turn a `RunOutcome` into a verdict: check the value when the run succeeded, otherwise
    explain what stopped it (with the learner's trimmed traceback)."""
    last_line = (outcome.traceback or "").strip().splitlines()[-1:] or [""]
    if outcome.status == "error" and last_line[0].startswith("NotImplementedError"):
        return Verdict(False, NOT_IMPLEMENTED)
    if outcome.status != "ok":
        message = outcome.message or f"Your code did not finish ({outcome.status})."
        return error_verdict(message, outcome.traceback or "")
    try:
        return exercise.check(model, params, outcome.value)
    except Exception as exc:  # a value of a shape no checker anticipated: say so, never crash
        return Verdict(
            False, f"Your function returned a value the checker cannot read ({type(exc).__name__}: {exc})."
        )


def check_submission(exercise: CodeExercise, model: LoadedModel, source: str, **options: Any) -> Verdict:
    """`run_submission`'s verdict alone (`options`: its `session`, `timeout_s`)."""
    return run_submission(exercise, model, source, **options)[0]


# The longest code a check accepts, in characters: the progress store keeps at most this much of
# an answer, so a checked attempt can always be saved.
MAX_SOURCE_CHARS = 100_000


def run_submission(
    exercise: CodeExercise,
    model: LoadedModel,
    source: str,
    *,
    session: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[Verdict, Any]:
    """Run `source` (the learner's whole file) through the runner and check its result: the
    verdict and the raw `RunOutcome` (status, stdout, seconds).

    Raises `sortlist_core.runner.RunnerUnavailable` where the runner cannot run code at all;
    "off"/"busy" outcomes come back as failing verdicts whose message says so.
    """
    from ..runner import Job, RunOutcome, run_job  # imported here: the runner is a separate component

    params = job_params(exercise, model)
    if len(source) > MAX_SOURCE_CHARS:  # refused before anything runs; the editor keeps the text
        too_long = RunOutcome(
            "error",
            message=f"Your code is {len(source):,} characters long; checks take at most "
            f"{MAX_SOURCE_CHARS:,}. Nothing was run.",
        )
        return verdict_from_outcome(exercise, model, params, too_long), too_long
    job = Job(
        source=source + exercise.harness,
        entry=exercise.entry,
        inputs=tuple(exercise.inputs),
        params=params,
        checkpoint=checkpoint_bytes(model.state_dict, model.config, model.metadata),
    )
    outcome = run_job(job, session=session, timeout_s=timeout_s)
    return verdict_from_outcome(exercise, model, params, outcome), outcome
