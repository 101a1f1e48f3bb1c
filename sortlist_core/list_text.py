"""Reading what a learner types: lists, one per line (the Adversarial page's editor), and a list
with its (x, y, z) triple (the Mystery page's own case).

Pure and total: bad input raises `InvalidListError` naming the problem (`parse_custom`) or is
reported line by line (`parse_editor`, which never raises). `parse_unsorted_list` (in `data`)
reads one list; `split_values` reads the separators people type between values, also in links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from .config import ModelConfig
from .data import InvalidListError, format_list, parse_unsorted_list
from .mystery import check_xyz

MAX_EDITOR_LISTS = 10
MAX_EDITOR_CHARS = 4_000  # a text area longer than this is not parsed (keeps the page fast)

# Between values: commas, spaces, brackets, `/`, or a hyphen after a value (`14-15-17`, the
# canonical link form). A hyphen that starts a number is a minus sign: `idx=-1` stays `-1` and is
# refused, instead of silently becoming list 1.
_VALUE_SEP = re.compile(r"(?<=\w)-|-(?!\d)|[,.\s+()\[\]/]")


def split_values(text: str) -> list[str]:
    """`14,15,17`, `14-15-17`, `14 15 17`, `(14, 15, 17)`, `14%2C15%2C17` (a link whose commas
    were percent-encoded) -> ['14', '15', '17']; `-1` -> ['-1'] (refused by the caller)."""
    return [t for t in _VALUE_SEP.split(unquote(text)) if t]


# --------------------------------------------------------------------------- a list and (x, y, z)


@dataclass(frozen=True)
class CustomInput:
    unsorted: tuple[int, ...]
    xyz: tuple[int, int, int]


def parse_custom(list_text: str, xyz_text: str, cfg: ModelConfig) -> CustomInput:
    """The learner's list and (x, y, z); `InvalidListError` names the problem."""
    try:
        values = tuple(parse_unsorted_list(list_text, cfg.list_len, cfg.max_value))
    except InvalidListError as exc:
        raise InvalidListError(f"the list: {exc}") from None
    items = split_values(str(xyz_text))
    if len(items) != 3:
        raise InvalidListError(f"(x, y, z): enter three values such as `14, 15, 17`, got {len(items)}")
    try:
        x, y, z = (int(t) for t in items)
    except ValueError:
        raise InvalidListError("(x, y, z): the three values must be whole numbers") from None
    check_xyz(values, x, y, z)
    return CustomInput(values, (x, y, z))


def suggest_xyz(unsorted: Sequence[int]) -> tuple[int, int, int] | None:
    """The tightest consecutive sorted triple of a list: a natural (x, y, z) to try."""
    s = sorted(unsorted)
    if len(s) < 3:
        return None
    i = min(range(len(s) - 2), key=lambda k: s[k + 2] - s[k])
    return s[i], s[i + 1], s[i + 2]


def custom_input(list_text: str, xyz_text: str, cfg: ModelConfig) -> tuple[CustomInput, bool]:
    """The learner's list and (x, y, z), and whether the triple was suggested: without (x, y, z),
    the list's tightest triple (`suggest_xyz`). `InvalidListError` names the problem."""
    if xyz_text.strip():
        return parse_custom(list_text, xyz_text, cfg), False
    values = tuple(parse_unsorted_list(list_text, cfg.list_len, cfg.max_value))
    triple = suggest_xyz(values)
    return parse_custom(list_text, ", ".join(map(str, triple)), cfg), True


# --------------------------------------------------------------------------- lists, one per line


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based line number in the text area
    text: str
    message: str

    def sentence(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return f"Line {self.line} (`{shown}`): {self.message}."


@dataclass(frozen=True)
class EditorParse:
    lists: tuple[tuple[int, ...], ...]  # the valid lists, in order, duplicates dropped
    errors: tuple[LineError, ...]
    notes: tuple[str, ...]  # not errors: e.g. a repeated list that was dropped


def parse_editor(text: str, cfg: ModelConfig, max_lists: int = MAX_EDITOR_LISTS) -> EditorParse:
    """One list per non-empty line; every bad line is reported with its number and the reason.

    Never raises. Lines after the `max_lists`-th list are reported as errors (not silently cut).
    """
    if not isinstance(text, str):
        return EditorParse((), (LineError(1, "", "expected text"),), ())
    if len(text) > MAX_EDITOR_CHARS:
        return EditorParse(
            (), (LineError(1, text[:40], f"the text is longer than {MAX_EDITOR_CHARS:,} characters"),), ()
        )
    lists: list[tuple[int, ...]] = []
    errors: list[LineError] = []
    notes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            values = tuple(parse_unsorted_list(line, cfg.list_len, cfg.max_value))
        except InvalidListError as exc:
            errors.append(LineError(number, line, str(exc)))
            continue
        if values in lists:
            notes.append(f"Line {number} repeats an earlier list; it is shown once.")
            continue
        if len(lists) == max_lists:
            errors.append(
                LineError(number, line, f"at most {max_lists} lists at a time: delete a line to add this one")
            )
            continue
        lists.append(values)
    return EditorParse(tuple(lists), tuple(errors), tuple(notes))


def editor_text(lists: Sequence[Sequence[int]]) -> str:
    """The text area's content for `lists` (parsed back unchanged by `parse_editor`)."""
    return "\n".join(format_list(values) for values in lists)
