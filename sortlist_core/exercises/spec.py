"""What a code exercise is: statement, starter, solution, hints, a trusted checker and the figure
its output is drawn as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..checkpoint import LoadedModel
from .verdict import Verdict

if TYPE_CHECKING:  # annotation only: the runner's worker imports this package without plotly
    import numpy as np
    import plotly.graph_objects as go


@dataclass(frozen=True)
class CodeExercise:
    """One step of the write-up that the learner writes as a Python function.

    `id` is `<page>.<name>`, and the exercise lives in `sortlist_core/exercises/<page>.py` (the
    registry finds it there). `inputs` name the fixtures passed positionally to `entry` (see
    `fixtures.build_inputs`); `params(model)` picks parameters that make the task well-posed on
    that model (a head, k, n, ...); `check(model, params, value)` runs in the trusted process on
    the decoded plain value the learner's function returned. `statement` may hold `{name}`
    placeholders filled from params by `render_statement`.
    """

    id: str
    title: str
    statement: str
    starter: str
    solution: str
    hints: tuple[str, ...]
    entry: str
    inputs: tuple[str, ...]
    params: Callable[[LoadedModel], dict]
    check: Callable[[LoadedModel, dict, Any], Verdict]
    # Trusted code appended to the learner's source that defines `entry` and calls the learner's
    # own functions (the Explain page's hypotheses); "" = the learner defines `entry` themselves.
    harness: str = ""
    # The page's own figure for an output of the reference's shape, `figure(model, params,
    # values)`: the app draws the learner's output and the reference with it. None where a plot
    # would not help (a number, a list of lists).
    figure: Callable[[LoadedModel, dict, np.ndarray], go.Figure] | None = None

    @property
    def page(self) -> str:
        """The page the exercise belongs to: `circuits` for `circuits.full_ov`."""
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The part after the page: `full_ov` for `circuits.full_ov`."""
        return self.id.split(".", 1)[1]

    def render_statement(self, params: dict) -> str:
        """The statement with this model's parameters filled in."""
        return self.statement.format(**params)
