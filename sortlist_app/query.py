"""A page's view state <-> URL query parameters, as pure functions (no streamlit).

A link such as `/attention?lists=3-1-2-9-8-7-6-5-4-0_11-12-13-14-15-16-17-18-19-20&head=1&pos=13`
reproduces what the learner saw. Decoding never raises: every value that is missing, malformed
or out of range for the loaded model falls back to its default and adds a warning sentence for
the page to show.

Parameters (each page uses the ones it needs; `encode_query` writes only non-defaults):
- `lists`: the learner's own lists, values joined by `-`, lists by `_`
- `idx`: dataset indices joined by `-` (the first is the Problem page's sequence)
- `seed`: dataset seed
- `head`: head index (0 = head `0.0`)
- `dest`: destination *token* (OV/QK page)
- `pos`: destination *position* (Attention page)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sortlist_core.config import ModelConfig
from sortlist_core.data import EVAL_SEED, EVAL_SIZE, InvalidListError, parse_unsorted_list

MAX_LISTS = 8  # own lists per link: keeps URLs and pages small
MAX_INDICES = 10
MAX_PARAM_CHARS = 1000  # longer values are rejected outright (no parsing of huge inputs)
MAX_SEED = 2**31 - 1
DATASET_SIZE = EVAL_SIZE  # the dataset explorer shows lists 0 .. DATASET_SIZE-1 of any seed

_LIST_SEP = re.compile(r"[_|;]")
_VALUE_SEP = re.compile(r"[-,.\s+]")
_INT = re.compile(r"\d{1,10}")


@dataclass(frozen=True)
class QueryState:
    """Everything a link can carry. `dest`/`pos` None means "the page's default"."""

    lists: tuple[tuple[int, ...], ...] = ()
    indices: tuple[int, ...] = (0,)
    seed: int = EVAL_SEED
    head: int = 0
    dest: int | None = None
    pos: int | None = None


DEFAULT_STATE = QueryState()
KNOWN_KEYS = ("lists", "idx", "seed", "head", "dest", "pos")


def _shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last(value: str | Sequence[str]) -> str:
    """Streamlit gives the last value of a repeated key; accept lists of values the same way."""
    if isinstance(value, str):
        return value
    values = list(value)
    return str(values[-1]) if values else ""


def _int_in(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def encode_lists(lists: Sequence[Sequence[int]]) -> str:
    return "_".join("-".join(str(v) for v in values) for values in lists)


def decode_lists(text: str, cfg: ModelConfig) -> tuple[tuple[tuple[int, ...], ...], list[str]]:
    """Valid lists in `text` (at most MAX_LISTS), and one warning per list dropped."""
    lists: list[tuple[int, ...]] = []
    warnings: list[str] = []
    chunks = [c for c in _LIST_SEP.split(text) if c.strip()]
    for n, chunk in enumerate(chunks, start=1):
        if len(lists) == MAX_LISTS:
            warnings.append(f"Only the first {MAX_LISTS} lists in the link are used.")
            break
        values = " ".join(v for v in _VALUE_SEP.split(chunk) if v)
        try:
            parsed = parse_unsorted_list(values, cfg.list_len, cfg.max_value)
        except InvalidListError as exc:
            warnings.append(f"Ignored list {n} in the link (`{_shorten(chunk)}`): {exc}.")
            continue
        lists.append(tuple(parsed))
    return tuple(lists), warnings


def decode_query(params: Mapping[str, str | Sequence[str]], cfg: ModelConfig) -> tuple[QueryState, list[str]]:
    """The state a link describes for a model with config `cfg`, plus warnings; never raises."""
    state = DEFAULT_STATE
    warnings: list[str] = []
    try:
        raw = {key: _last(params[key]) for key in KNOWN_KEYS if key in params}
    except Exception:  # a mapping that misbehaves: treat as an empty link
        return DEFAULT_STATE, ["The link's parameters could not be read; showing the defaults."]

    def bad(key: str, why: str, default: str) -> None:
        warnings.append(f"Ignored `{key}={_shorten(raw[key])}` in the link: {why}; showing {default}.")

    for key, text in raw.items():
        if len(text) > MAX_PARAM_CHARS:
            warnings.append(f"Ignored `{key}` in the link: it is longer than {MAX_PARAM_CHARS} characters.")
            continue
        if key == "lists":
            lists, list_warnings = decode_lists(text, cfg)
            warnings += list_warnings
            state = replace(state, lists=lists)
        elif key == "idx":
            items = [t for t in _VALUE_SEP.split(text) if t]
            if not items:  # `idx=`: the learner deselected every sequence
                state = replace(state, indices=())
                continue
            values = [_int_in(t, 0, DATASET_SIZE - 1) for t in items[:MAX_INDICES]]
            good = tuple(dict.fromkeys(v for v in values if v is not None))  # dedupe, keep order
            if None in values:
                bad(
                    key,
                    f"dataset indices must be whole numbers in 0..{DATASET_SIZE - 1}",
                    "the valid ones" if good else "list 0",
                )
            if len(items) > MAX_INDICES:
                warnings.append(f"Only the first {MAX_INDICES} dataset indices in the link are used.")
            if good:
                state = replace(state, indices=good)
        elif key == "seed":
            value = _int_in(text, 0, MAX_SEED)
            if value is None:
                bad(key, f"the seed must be a whole number in 0..{MAX_SEED}", f"seed {EVAL_SEED}")
            else:
                state = replace(state, seed=value)
        elif key == "head":
            value = _int_in(text, 0, cfg.n_heads - 1)
            if value is None:
                names = ", ".join(str(h) for h in range(cfg.n_heads))
                bad(key, f"this model's heads are numbered {names}", f"head {cfg.head_names[0]}")
            else:
                state = replace(state, head=value)
        elif key == "dest":
            value = _int_in(text, 0, cfg.max_value)
            if value is None:
                bad(key, f"the destination token must be in 0..{cfg.max_value}", "the default token")
            else:
                state = replace(state, dest=value)
        elif key == "pos":
            value = _int_in(text, 0, cfg.n_ctx - 1)
            if value is None:
                bad(key, f"positions are 0..{cfg.n_ctx - 1}", "the default position")
            else:
                state = replace(state, pos=value)
    return state, warnings


def encode_query(state: QueryState) -> dict[str, str]:
    """URL parameters for `state`, leaving out every field at its default (short links)."""
    out: dict[str, str] = {}
    if state.lists:
        out["lists"] = encode_lists(state.lists)
    if state.indices != DEFAULT_STATE.indices:
        out["idx"] = "-".join(str(i) for i in state.indices)
    if state.seed != DEFAULT_STATE.seed:
        out["seed"] = str(state.seed)
    if state.head != DEFAULT_STATE.head:
        out["head"] = str(state.head)
    if state.dest is not None:
        out["dest"] = str(state.dest)
    if state.pos is not None:
        out["pos"] = str(state.pos)
    return out
