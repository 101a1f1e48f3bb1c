"""Which level of isolation learner code gets: SORTLIST_CODE_EXERCISES and SORTLIST_HOSTED, both
read through `sortlist_core.settings` (one flag parser: HOSTED=true means what HOSTED=1 means)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .. import settings
from . import sandbox

ENV_MODE = settings.CODE_EXERCISES
ENV_HOSTED = settings.HOSTED


class RunnerMode(str, Enum):  # noqa: UP042 - the contract's spelling
    OFF = "off"
    PROCESS = "process"  # a child process with rlimits, scrubbed env, unprivileged uid
    SANDBOX = "sandbox"  # the same inside bubblewrap


@dataclass(frozen=True)
class ModeDecision:
    mode: RunnerMode
    reason: str  # why this mode (shown by the page when it is OFF)


def runner_mode(env: Mapping[str, str] = os.environ) -> ModeDecision:
    """The mode the runner uses: honours SORTLIST_CODE_EXERCISES (off | process | sandbox) and
    SORTLIST_HOSTED (1/true/yes/on: learner code only inside the sandbox); default sandbox where
    bubblewrap works, else process."""
    requested = settings.text(ENV_MODE, "", env).lower()
    hosted = settings.hosted(env)
    if requested not in ("", "off", "process", "sandbox"):
        return ModeDecision(
            RunnerMode.OFF,
            f"{ENV_MODE}={requested!r} is not one of off, process, sandbox; code exercises are off.",
        )
    if requested == "off":
        return ModeDecision(RunnerMode.OFF, f"Code exercises are turned off on this server ({ENV_MODE}=off).")
    if not sys.platform.startswith("linux"):
        return ModeDecision(RunnerMode.OFF, "Code exercises need Linux to run learner code safely.")
    if hosted and requested == "process":
        return ModeDecision(
            RunnerMode.OFF,
            f"This hosted server runs learner code only inside the sandbox ({ENV_HOSTED}=1), "
            f"so {ENV_MODE}=process is refused; code exercises are off.",
        )
    if requested == "process":
        return ModeDecision(
            RunnerMode.PROCESS, f"Learner code runs in a limited child process ({ENV_MODE}=process)."
        )
    works, why = sandbox.probe()
    if works:
        return ModeDecision(RunnerMode.SANDBOX, "Learner code runs inside bubblewrap.")
    if hosted or requested == "sandbox":
        who = (
            "This hosted server runs learner code only inside the sandbox"
            if hosted
            else f"{ENV_MODE}=sandbox"
        )
        return ModeDecision(
            RunnerMode.OFF, f"{who}, which is unavailable here: {why}. Code exercises are off."
        )
    return ModeDecision(RunnerMode.PROCESS, f"Learner code runs in a limited child process ({why}).")
