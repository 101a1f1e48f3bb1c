"""Results and figures shared by every session of the server process, each keyed by the function
that makes it and by its arguments: there are no hand-written cache keys.

- `computed(fn, model, *args)` is `fn(model, *args)` for any function of a model (a
  `sortlist_core` analysis, or one of `analyses`' adapters), made once per model fingerprint
  (`model.weights_sha256`), function and arguments:

      ov = cache.computed(circuits.full_ov, model)
      preds = cache.computed(metrics.predict_lists, model, lists)

- `figure(fn, *args)` is `fn(*args)` for a pure figure builder, made once per builder and
  arguments (numpy arrays by their content):

      fig = cache.figure(figures.ov_circuit_heatmaps, ov, names)

- `model_cached()` decorates one of the app's own functions of a model so that every call
  goes through `computed` (for an adapter many places call, e.g. `analyses.eval_metrics`).

A function is known by its module and qualified name, so a builder must be a module-level
function (a lambda, a nested function or a page script's function is refused: two of them could
share a name). Arguments are keyed by value through `fingerprint` (numbers, strings, tuples,
lists, dicts in order, dataclasses, numpy arrays by shape, dtype and bytes, a model by its
fingerprint); anything else is refused rather than keyed by its identity.

Shared means read-only: arrays in a result come back with `writeable=False` (`read_only`),
result types are frozen dataclasses, figures are drawn and never changed, and callers copy a
list or dict before changing it. Every cache is bounded (`max_entries`), so memory levels off
however many inputs learners try. `st.cache_resource` holds the results (one object shared by
every session: `st.cache_data` would pickle and unpickle it on every call). The core functions
are pure (no TransformerLens hooks), so sessions may call them from their threads at once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import struct
import threading
import types
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import streamlit as st

from sortlist_core.checkpoint import LoadedModel

P = ParamSpec("P")
R = TypeVar("R")

# A function's bound follows from its signature: the model alone, or inputs as well.
PER_MODEL = 16  # results of the model alone: a few bundled models plus this server's uploads
PER_INPUT = 64  # a function with a required input besides the model (a learner's lists, a widget value)
# Results too large, or too slow to be wanted for many models at once, keep fewer entries.
SMALLER_BOUNDS = {
    "sortlist_core.accuracy_maps.family_accuracy_maps": 8,
    "sortlist_core.adversarial.family_failure_rates": 8,
    "sortlist_core.adversarial.search_adversarial": 8,
    "sortlist_core.mystery.ov_offset_profile": 8,
    "sortlist_core.direct_path.direct_path_experiment": 8,
    "sortlist_core.report.build_report": 4,
}
FIGURES = 256  # ~30-110 KB a figure: every page's figures of a few models, plus the lists learners try


# --------------------------------------------------------------------------- keys


def function_id(fn: Callable[..., Any]) -> str:
    """`module.qualname` of a module-level function: what its cache entries are keyed by."""
    name = getattr(fn, "__qualname__", "")
    if not isinstance(fn, types.FunctionType) or "<" in name or fn.__module__ == "__main__":
        raise ValueError(
            f"{fn!r} cannot key a shared cache: pass a module-level function (a lambda, a nested "
            "function or a page script's function has no name of its own)"
        )
    return f"{fn.__module__}.{name}"


def fingerprint(*values: Any) -> str:
    """A digest of `values` by content: equal values give equal digests, and a different type,
    order, shape, dtype or byte gives another. Raises TypeError for a value it cannot read."""
    parts: list[bytes | memoryview] = []
    for value in values:
        _encode(parts, value)
    return hashlib.blake2b(b"".join(parts), digest_size=20).hexdigest()


def _encode(parts: list, value: Any) -> None:
    # Each value is written as a type tag and a length-prefixed body: ("ab",) and ("a", "b"),
    # 1 and 1.0 and True, a list and a tuple all differ.
    if value is None or isinstance(value, bool):
        parts.append(b"N" if value is None else b"T" if value else b"F")
    elif isinstance(value, str):
        body = value.encode("utf-8", "surrogatepass")
        parts += (b"s", _LENGTH.pack(len(body)), body)
    elif isinstance(value, int):
        body = str(value).encode()
        parts += (b"i", _LENGTH.pack(len(body)), body)
    elif isinstance(value, float):
        parts += (b"f", _FLOAT.pack(value))
    elif isinstance(value, bytes):
        parts += (b"b", _LENGTH.pack(len(value)), value)
    elif isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("an object array cannot key a shared cache")
        header = f"{array.dtype.str}{array.shape}".encode()
        body = memoryview(np.ascontiguousarray(array)).cast("B")
        parts += (b"A", _LENGTH.pack(len(header)), header, _LENGTH.pack(len(body)), body)
    elif isinstance(value, LoadedModel):  # by its weights' fingerprint, not tensor by tensor
        parts += (b"m", value.weights_sha256.encode())
    elif isinstance(value, tuple | list):
        parts += (b"t" if isinstance(value, tuple) else b"l", _LENGTH.pack(len(value)))
        for item in value:
            _encode(parts, item)
    elif isinstance(value, dict):  # in order: a figure may draw a dict's items in that order
        parts += (b"d", _LENGTH.pack(len(value)))
        for key, item in value.items():
            _encode(parts, key)
            _encode(parts, item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        _encode(parts, f"{type(value).__module__}.{type(value).__qualname__}")
        parts += (b"c", _LENGTH.pack(len(fields)))
        for field in fields:
            _encode(parts, field.name)
            _encode(parts, getattr(value, field.name))
    else:
        raise TypeError(f"a {type(value).__qualname__} cannot key a shared cache")


_LENGTH, _FLOAT = struct.Struct("<Q"), struct.Struct("<d")


# --------------------------------------------------------------------------- results of a model


def read_only(value: R) -> R:
    """`value` with every numpy array inside it (dataclass fields, lists, tuples, dict values)
    made read-only in place, so a result shared by all sessions cannot be changed by one."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, list | tuple):
        for item in value:
            read_only(item)
    elif isinstance(value, dict):
        for item in value.values():
            read_only(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            read_only(getattr(value, field.name))
    return value


_UNCACHED = "_uncached"  # a `model_cached` function's undecorated body
_bounds: dict[str, int] = dict(SMALLER_BOUNDS)  # function id -> max_entries, where not the default
_caches: dict[str, Callable[..., Any]] = {}
_caches_lock = threading.Lock()


def max_entries_of(fn: Callable[..., Any]) -> int:
    """How many results of `fn` are kept: `SMALLER_BOUNDS` or `model_cached`'s own bound, else
    `PER_INPUT` when `fn` takes a required argument besides the model, else `PER_MODEL`."""
    fn_id = function_id(fn)
    if fn_id in _bounds:
        return _bounds[fn_id]
    required = [
        p
        for p in list(inspect.signature(fn).parameters.values())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    return PER_INPUT if required else PER_MODEL


def _cache_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The bounded `st.cache_resource` of one function's results (one per function, so a
    function's bound is its own)."""
    fn_id = function_id(fn)
    cached = _caches.get(fn_id)
    if cached is not None:
        return cached
    with _caches_lock:
        cached = _caches.get(fn_id)
        if cached is None:

            def compute(
                key: str, _fn: Callable[..., Any], _model: LoadedModel, _args: tuple, _kwargs: dict
            ) -> Any:
                return read_only(_fn(_model, *_args, **_kwargs))

            # Streamlit tells caches apart by module + qualname: one name per function.
            compute.__qualname__ = f"computed[{fn_id}]"
            bound = max_entries_of(fn)
            cached = _caches[fn_id] = st.cache_resource(max_entries=bound, show_spinner=False)(compute)
    return cached


def computed(
    fn: Callable[Concatenate[LoadedModel, P], R], model: LoadedModel, *args: P.args, **kwargs: P.kwargs
) -> R:
    """`fn(model, *args, **kwargs)`, made once per model fingerprint, function and arguments,
    and shared (read-only) by every session."""
    fn = getattr(fn, _UNCACHED, fn)  # a `model_cached` function: its own body, not a second look-up
    key = fingerprint(model.weights_sha256, args, dict(sorted(kwargs.items())))
    return _cache_of(fn)(key, fn, model, args, kwargs)


def model_cached(max_entries: int | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: every call of `fn(model, *args)` goes through `computed` (keyed by `fn`
    itself). `max_entries` overrides the bound `max_entries_of` gives it."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        fn_id = function_id(fn)
        if max_entries is not None:
            _bounds[fn_id] = max_entries

        @functools.wraps(fn)
        def call(model: LoadedModel, *args: Any, **kwargs: Any) -> Any:
            return computed(fn, model, *args, **kwargs)  # type: ignore[arg-type]

        setattr(call, _UNCACHED, fn)
        call.clear = lambda: clear(fn)  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate


def clear(fn: Callable[..., Any]) -> None:
    """Forget `fn`'s shared results (tests)."""
    cached = _caches.get(function_id(fn))
    if cached is not None:
        cached.clear()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- figures


@st.cache_resource(max_entries=FIGURES, show_spinner=False)
def _figure(key: str, _build: Callable[..., Any], _args: tuple, _kwargs: dict) -> Any:
    return _build(*_args, **_kwargs)


def figure(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn(*args, **kwargs)` (a pure figure builder), made once per builder and arguments and
    shared by every session: a class opening a page builds each figure once. Pages draw the
    figure and never change it (a title or layout change belongs in the builder)."""
    return _figure(fingerprint(function_id(fn), args, dict(sorted(kwargs.items()))), fn, args, kwargs)


def clear_figures() -> None:
    """Forget every shared figure (tests)."""
    _figure.clear()
