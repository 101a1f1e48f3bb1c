"""What the runner is given (a Job) and what it answers (a RunOutcome): plain data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

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


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Defaults suit a shared 2-core server; tests shorten them."""

    cpu_s: float = 10.0  # RLIMIT_CPU (the child's own CPU seconds)
    wall_s: float = 15.0  # wall clock, then the child's whole process group is killed
    memory_mb: int = 2048  # address space the learner may add on top of the pre-imported worker
    file_size_bytes: int = 16 << 20  # RLIMIT_FSIZE: largest file the code may write
    processes: int = 32  # RLIMIT_NPROC (threads count too)
    open_files: int = 128  # RLIMIT_NOFILE
    stdout_bytes: int = 10_000  # kept from what the code prints; the rest is read and dropped
    result_bytes: int = 32 << 20  # largest encoded return value

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
