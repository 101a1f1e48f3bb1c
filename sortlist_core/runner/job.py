"""What the runner is given (a Job) and what it answers (a RunOutcome): plain data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .policy import Limits  # one place for the policy; re-exported here

Status = Literal["ok", "error", "timeout", "memory", "output", "crashed", "busy", "off"]


@dataclass(frozen=True)
class Job:
    """One submission: the learner's source, the function to call and its fixtures."""

    source: str  # the learner's whole file / editor text
    entry: str  # name of the function to call, e.g. "full_ov"
    inputs: tuple[str, ...]  # fixture names, positional args in this order
    params: dict[str, Any] = field(default_factory=dict)  # JSON-able fixture parameters
    checkpoint: bytes = b""  # sortlist_core.checkpoint.checkpoint_bytes(...), weights_only-loadable


@dataclass(frozen=True)
class RunOutcome:
    """The answer to a Job. `value` is decoded plain data (ndarray, tuple of ndarrays, or
    JSON values) when status == "ok"; otherwise `message` is a sentence for the learner."""

    status: Status
    value: np.ndarray | tuple[np.ndarray, ...] | Any | None = None
    message: str = ""
    traceback: str = ""  # trimmed to the learner's frames (<your code>)
    stdout: str = ""  # first 10 kB of what the code printed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


__all__ = ["Job", "Limits", "RunOutcome", "Status"]
