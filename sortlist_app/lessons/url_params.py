"""A page's view state <-> URL query parameters, as pure functions (no streamlit).

A link such as `/attention?lists=3-1-2-9-8-7-6-5-4-0_11-12-13-14-15-16-17-18-19-20&head=1&pos=13`
reproduces what the learner saw. Each lesson module declares its page's parameters as a tuple of
`Param`s (`URL_PARAMS`), each binding one URL key to one widget key; `widgets/url.py` presets the
widgets from a link and writes their state back. Decoding never raises: every value that is
missing, malformed or out of range for the loaded model falls back to its default and adds a
warning sentence for the page to show.

The codecs of every page live here too: lists (`14,15,17`, `14-15-17`, `14 15 17` inside a
list, lists joined by `_`; `split_values` reads the separators), one list, the editor's lists,
an (x, y, z) triple, dataset indices, seeds, heads (or "auto") and positions. A lesson's
`URL_PARAMS` is built from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sortlist_core.config import ModelConfig
from sortlist_core.data import EVAL_SEED, EVAL_SIZE, InvalidListError, format_list, parse_unsorted_list
from sortlist_core.list_text import editor_text, parse_editor, split_values

MAX_LISTS = 8  # own lists per link on the Problem and Attention pages: keeps URLs and pages small
MAX_INDICES = 10
MAX_PARAM_CHARS = 1000  # longer values are rejected outright (no parsing of huge inputs)
MAX_SEED = 2**31 - 1
DATASET_SIZE = EVAL_SIZE  # the dataset explorer shows lists 0 .. DATASET_SIZE-1 of any seed

_LIST_SEP = re.compile(r"[_|;]")
_INT = re.compile(r"\d{1,10}")


class BadParam(ValueError):
    """A URL value that cannot be used: `why` for the warning, `showing` names the fallback."""

    def __init__(self, why: str, showing: str = "the default") -> None:
        super().__init__(why)
        self.why, self.showing = why, showing


Decoded = tuple[Any, list[str]]  # (widget value, warnings)


@dataclass(frozen=True)
class Param:
    """One URL key bound to one widget key.

    decode(text, cfg) -> (widget value, warnings); raises `BadParam` (or `ValueError`) when unusable.
    encode(widget value, cfg) -> text, or None to leave the key out (its default).
    """

    key: str
    widget: str
    default: Callable[[ModelConfig], Any]
    decode: Callable[[str, ModelConfig], Decoded]
    encode: Callable[[Any, ModelConfig], str | None]


def shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_params(
    params: Sequence[Param], url: Mapping[str, str], cfg: ModelConfig
) -> tuple[dict[str, Any], list[str]]:
    """Widget values (by widget key) for every parameter, from the link `url`, and warnings."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    try:
        url = {p.key: str(url[p.key]) for p in params if p.key in url}
    except Exception:  # a mapping that misbehaves: treat as an empty link
        url = {}
        warnings.append("The link's parameters could not be read; showing the defaults.")
    for p in params:
        value = p.default(cfg)
        text = url.get(p.key)
        if text is not None:
            if len(text) > MAX_PARAM_CHARS:
                warnings.append(
                    f"Ignored `{p.key}` in the link: it is longer than {MAX_PARAM_CHARS} characters."
                )
            else:
                try:
                    value, more = p.decode(text, cfg)
                    warnings += more
                except ValueError as exc:
                    showing = exc.showing if isinstance(exc, BadParam) else "the default"
                    warnings.append(
                        f"Ignored `{p.key}={shorten(text)}` in the link: {exc}; showing {showing}."
                    )
                    value = p.default(cfg)
        values[p.widget] = value
    return values, warnings


def encode_params(params: Sequence[Param], widgets: Mapping[str, Any], cfg: ModelConfig) -> dict[str, str]:
    """URL parameters for the widgets' values, leaving out every default (short links)."""
    out: dict[str, str] = {}
    for p in params:
        if p.widget in widgets:
            text = p.encode(widgets[p.widget], cfg)
            if text is not None:
                out[p.key] = text
    return out


# --------------------------------------------------------------------------- codecs


def int_in(text: str, low: int, high: int, why: str, showing: str = "the default") -> int:
    """A whole number in low..high, else `BadParam(why, showing)`."""
    text = text.strip()
    if not _INT.fullmatch(text) or not low <= int(text) <= high:
        raise BadParam(why, showing)
    return int(text)


def encode_lists(lists: Sequence[Sequence[int]]) -> str:
    return "_".join("-".join(str(v) for v in values) for values in lists)


def decode_lists(
    text: str, cfg: ModelConfig, max_lists: int = MAX_LISTS
) -> tuple[list[tuple[int, ...]], list[str]]:
    """`3-1-2_9-8-7` -> valid lists (at most `max_lists`) and one warning per list dropped."""
    lists: list[tuple[int, ...]] = []
    warnings: list[str] = []
    for n, chunk in enumerate((c for c in _LIST_SEP.split(text) if c.strip()), start=1):
        if len(lists) == max_lists:
            warnings.append(f"Only the first {max_lists} lists in the link are used.")
            break
        try:
            values = parse_unsorted_list(" ".join(split_values(chunk)), cfg.list_len, cfg.max_value)
        except InvalidListError as exc:
            warnings.append(f"Ignored list {n} in the link (`{shorten(chunk)}`): {exc}.")
            continue
        lists.append(tuple(values))
    return lists, warnings


def valid_lists(texts: Sequence[str], cfg: ModelConfig, max_lists: int = MAX_LISTS) -> list[tuple[int, ...]]:
    """The lists among `texts` (one per item) that parse, at most `max_lists`."""
    out: list[tuple[int, ...]] = []
    for text in texts:
        try:
            out.append(tuple(parse_unsorted_list(text, cfg.list_len, cfg.max_value)))
        except InvalidListError:
            continue
    return out[:max_lists]


def seed_param(widget: str) -> Param:
    """`seed`: a dataset seed (default: the evaluation set's)."""
    return Param(
        "seed",
        widget,
        default=lambda c: EVAL_SEED,
        decode=lambda t, c: (
            int_in(t, 0, MAX_SEED, f"the seed must be a whole number in 0..{MAX_SEED}", f"seed {EVAL_SEED}"),
            [],
        ),
        encode=lambda v, c: None if int(v) == EVAL_SEED else str(int(v)),
    )


def decode_indices(text: str) -> tuple[list[int], list[str]]:
    """`idx=3-17`: dataset indices, deduplicated; the valid ones are kept. `idx=` is no index."""
    items = split_values(text)
    warnings: list[str] = []
    values: list[int | None] = []
    for t in items[:MAX_INDICES]:
        try:
            values.append(int_in(t, 0, DATASET_SIZE - 1, ""))
        except BadParam:
            values.append(None)
    good = list(dict.fromkeys(v for v in values if v is not None))  # dedupe, keep order
    if None in values:
        showing = "the valid ones" if good else "list 0"
        warnings.append(
            f"Ignored `idx={shorten(text)}` in the link: dataset indices must be whole numbers in "
            f"0..{DATASET_SIZE - 1}; showing {showing}."
        )
    if len(items) > MAX_INDICES:
        warnings.append(f"Only the first {MAX_INDICES} dataset indices in the link are used.")
    if items and not good:
        good = [0]
    return good, warnings


def index_param(key: str, widget: str) -> Param:
    """`idx=4`: one dataset index (default 0; of several, the first valid one)."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        indices, warnings = decode_indices(text)
        return (indices or [0])[0], warnings

    return Param(
        key, widget, default=lambda c: 0, decode=decode, encode=lambda v, c: str(int(v)) if v else None
    )


def indices_param(key: str, widget: str) -> Param:
    """`idx=4-0`: dataset indices (default [0]; `idx=` is no index)."""
    return Param(
        key,
        widget,
        default=lambda c: [0],
        decode=lambda t, c: decode_indices(t),
        encode=lambda v, c: None if list(v) == [0] else "-".join(str(i) for i in v),
    )


def head_param(widget: str) -> Param:
    """`head`: a head index (0 = head `0.0`)."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        names = ", ".join(str(h) for h in range(cfg.n_heads))
        why = f"this model's heads are numbered {names}"
        return int_in(text, 0, cfg.n_heads - 1, why, f"head {cfg.head_names[0]}"), []

    return Param(
        "head", widget, default=lambda c: 0, decode=decode, encode=lambda v, c: str(v) if v else None
    )


def int_param(
    key: str,
    widget: str,
    default: Callable[[ModelConfig], int],
    decode: Callable[[str, ModelConfig], Decoded],
) -> Param:
    """A whole-number widget whose default (which depends on the model) stays out of the link."""
    return Param(
        key, widget, default=default, decode=decode, encode=lambda v, c: None if v == default(c) else str(v)
    )


def token_param(key: str, widget: str, default: Callable[[ModelConfig], int], what: str) -> Param:
    """`dest=40`: a value token in 0..max_value; `what` names it in the warning."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        why = f"{what} must be in 0..{cfg.max_value}"
        return int_in(text, 0, cfg.max_value, why, "the default token"), []

    return int_param(key, widget, default, decode)


def prediction_position_param(key: str, widget: str, default: Callable[[ModelConfig], int]) -> Param:
    """`pos=13`: a position that makes a prediction; another position of the sequence shows the
    default (a number outside the sequence is warned about)."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        pos = int_in(text, 0, cfg.n_ctx - 1, f"positions are 0..{cfg.n_ctx - 1}", "the default position")
        return (pos if cfg.list_len <= pos < 2 * cfg.list_len else default(cfg)), []

    return int_param(key, widget, default, decode)


def list_text_param(
    key: str, widget: str, max_lists: int, joiner: str, default: Callable[[ModelConfig], str]
) -> Param:
    """A text widget holding lists (one per line, or one list) <-> `lists=3-1-2_9-8-7`."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        lists, warnings = decode_lists(text, cfg, max_lists)
        return joiner.join(format_list(x) for x in lists), warnings

    def encode(value: str, cfg: ModelConfig) -> str | None:
        return encode_lists(valid_lists(str(value).splitlines(), cfg, max_lists)) or None

    return Param(key, widget, default=default, decode=decode, encode=encode)


def _encode_one_list(value: str, cfg: ModelConfig) -> str | None:
    return encode_lists(valid_lists([str(value)], cfg)) or None


def single_list_param(key: str, widget: str) -> Param:
    """A text widget holding one list (default empty) <-> `lists=3-1-2`: a link without a valid
    list is refused with the reason."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        lists, warnings = decode_lists(text, cfg, 1)
        if not lists:
            raise BadParam(warnings[0].removesuffix(".") if warnings else "no valid list")
        return format_list(lists[0]), warnings[1:]

    return Param(key, widget, default=lambda c: "", decode=decode, encode=_encode_one_list)


def first_list_param(key: str, widget: str) -> Param:
    """A text widget holding one list (default empty) <-> `lists=3-1-2`: the link's first valid
    list, or an empty box (each list dropped is warned about)."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        lists, warnings = decode_lists(text, cfg)
        return (format_list(lists[0]) if lists else ""), warnings

    return Param(key, widget, default=lambda c: "", decode=decode, encode=_encode_one_list)


def editor_lists_param(
    key: str, widget: str, max_lists: int, default: Callable[[ModelConfig], Sequence[Sequence[int]]]
) -> Param:
    """A list editor's text area (`list_text.parse_editor`: one list per line, repeats shown
    once) <-> `lists=3-1-2_9-8-7`. Its lists always go into the link, so it can be shared."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        lists, warnings = decode_lists(text, cfg, max_lists)
        return editor_text(lists), warnings

    return Param(
        key,
        widget,
        default=lambda c: editor_text(default(c)),
        decode=decode,
        encode=lambda value, c: encode_lists(parse_editor(value, c).lists) or None,
    )


def triple_param(key: str, widget: str) -> Param:
    """A text widget holding three values (default empty) <-> `xyz=14-15-17`."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        items = split_values(text.replace("_", "-"))
        why = f"x, y and z must be whole numbers in 0..{cfg.max_value}"
        values = [int_in(t, 0, cfg.max_value, why) for t in items]
        if len(values) != 3:
            raise BadParam("give three values, e.g. `xyz=14-15-17`")
        return ", ".join(map(str, values)), []

    def encode(value: str, cfg: ModelConfig) -> str | None:
        items = split_values(str(value))
        return "-".join(items) if len(items) == 3 and all(t.isdigit() for t in items) else None

    return Param(key, widget, default=lambda c: "", decode=decode, encode=encode)


def head_or_auto_param(key: str, widget: str, auto: str) -> Param:
    """A head index, or `auto` (the default: the page picks the head)."""

    def decode(text: str, cfg: ModelConfig) -> Decoded:
        if text.strip().lower() == auto:
            return auto, []
        return int_in(
            text, 0, cfg.n_heads - 1, f"the head must be a whole number in 0..{cfg.n_heads - 1}"
        ), []

    return Param(
        key, widget, default=lambda c: auto, decode=decode, encode=lambda v, c: None if v == auto else str(v)
    )
