"""What a code exercise is: statement, starter, solution, hints, and a trusted checker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..checkpoint import LoadedModel
from .verdict import Verdict

PAGES = ("problem", "attention", "circuits", "adversarial", "mystery", "explain")


@dataclass(frozen=True)
class CodeExercise:
    """One step of the write-up that the learner writes as a Python function.

    `inputs` name the fixtures passed positionally to `entry` (see `fixtures.build_inputs`);
    `params(model)` picks parameters that make the task well-posed on that model (a head, k, n,
    ...); `check(model, params, value)` runs in the trusted process on the decoded plain value
    the learner's function returned. `statement` may hold `{name}` placeholders filled from
    params by `render_statement`.
    """

    id: str
    page: str
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

    @property
    def name(self) -> str:
        """The part after the page: `full_ov` for `circuits.full_ov`."""
        return self.id.split(".", 1)[1]

    def render_statement(self, params: dict) -> str:
        """The statement with this model's parameters filled in."""
        return self.statement.format(**params)
