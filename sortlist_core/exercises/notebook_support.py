"""What the generated notebooks import: load a model, show a statement, and `check_<name>(fn)`
functions that run the same checkers in the notebook's own process (the learner's machine).
A check prints its verdict and never raises, so a notebook always runs to the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..checkpoint import LoadedModel, load_checkpoint
from ..paths import chosen_model_path
from . import get_exercise
from .local import _tl_model, check_in_process
from .verdict import Verdict


def load(checkpoint: str | Path | None = None) -> tuple[LoadedModel, object]:
    """(the loaded checkpoint, its TransformerLens model); None = the lesson model (the app's default)."""
    loaded = load_checkpoint(chosen_model_path(checkpoint))
    return loaded, _tl_model(loaded)


def statement(exercise_id: str, loaded: LoadedModel) -> str:
    ex = get_exercise(exercise_id)
    return ex.render_statement(ex.params(loaded))


def show(exercise_id: str, loaded: LoadedModel) -> None:
    """Display the statement with this model's parameters (a head, k, n, ...)."""
    from IPython.display import Markdown, display

    display(Markdown(statement(exercise_id, loaded)))


def checker(exercise_id: str, loaded: LoadedModel) -> Callable[[Callable], Verdict]:
    """`check(fn)`: call fn on this model's fixtures, print the verdict, return it."""
    exercise = get_exercise(exercise_id)

    def check(fn: Callable) -> Verdict:
        verdict = check_in_process(exercise, loaded, fn)
        print(("PASSED: " if verdict.passed else "FAILED: ") + verdict.message)
        return verdict

    check.__name__ = f"check_{exercise.name}"
    return check
