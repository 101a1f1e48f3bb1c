"""Learner code's file name and its traceback, shared by the runner's child (the app, the CLI)
and the in-process checker (notebooks, trusted tests), so both show the same trimmed text."""

from __future__ import annotations

import traceback

LEARNER_FILENAME = "<your code>"
TRACEBACK_CHARS = 8000


def compile_learner_code(source: str):
    """The learner's source compiled under LEARNER_FILENAME (frames the trimmer keeps)."""
    return compile(source, LEARNER_FILENAME, "exec")


def trimmed_traceback(exc: BaseException) -> str:
    """The traceback of `exc` with only the learner's own frames, then the exception line; the
    runner's and the libraries' frames are noise to a learner (and name server paths)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == LEARNER_FILENAME]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-TRACEBACK_CHARS:]
