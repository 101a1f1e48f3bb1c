"""Comparing a learner's result with the reference, and explaining a difference the way a
teaching assistant would: which axis has the wrong length, a transpose, a sign, a constant
factor, a layer axis left in, a reduced axis, another head's answer, NaN, or where the largest
error is."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NOT_IMPLEMENTED = "Not implemented yet: replace the `raise NotImplementedError` with your code."
RTOL = 1e-3
ATOL_FRACTION = 1e-4  # absolute tolerance as a fraction of the reference's largest magnitude


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    expected: np.ndarray | None = None  # for plotting next to the learner's output
    got: np.ndarray | None = None


def as_array(value: Any) -> np.ndarray | None:
    """The learner's decoded value as a real-valued array, or None when it is not numeric."""
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, bool | int | float | np.generic) or (
        isinstance(value, list | tuple) and len(value) > 0
    ):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            return None
    else:
        return None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None
    if np.iscomplexobj(arr):
        return None
    return arr


PERCENT = 100.0  # the factor between a percentage and the fraction an exercise asks for


def _is_fraction(values: np.ndarray) -> bool:
    """Whether the reference is a fraction (every value in [0, 1]): a learner's ×100 is a percentage."""
    return bool(values.size) and bool(((values >= 0) & (values <= 1)).all())


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _shape(shape: Sequence[int], axes: Sequence[str]) -> str:
    if len(shape) == len(axes) and axes:
        return "[" + ", ".join(f"{a}={n}" for a, n in zip(axes, shape)) + "]"
    return str(list(shape))


def _where(index: Sequence[int], axes: Sequence[str]) -> str:
    if not index:
        return ""
    names = list(axes) if len(axes) == len(index) else [f"axis {i}" for i in range(len(index))]
    return " at [" + ", ".join(f"{a} {i}" for a, i in zip(names, index)) + "]"


def _tolerance(expected: np.ndarray, atol: float | None = None) -> tuple[float, float]:
    if atol is not None:
        return RTOL, atol
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    return RTOL, 1e-6 + ATOL_FRACTION * max(scale, 1e-2)


def _close(got: np.ndarray, expected: np.ndarray, atol: float | None = None) -> bool:
    if got.shape != expected.shape:
        return False
    rtol, atol = _tolerance(expected, atol)
    return bool(np.allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol))


def _named_factor(c: float, factors: Mapping[str, float]) -> str | None:
    for name, value in factors.items():
        if value != 0 and abs(c / value - 1) < 0.01:
            return name
    return None


def compare(
    got: Any,
    expected: np.ndarray,
    axes: Sequence[str] = (),
    *,
    alternatives: Mapping[str, np.ndarray] | None = None,
    factors: Mapping[str, float] | None = None,
    exact: bool = False,
    atol: float | None = None,
) -> Verdict:
    """Compare the learner's value with `expected` (whose axes are named by `axes`).

    alternatives: message -> array; when the learner's value matches one of these (e.g. another
    head's reference, zero- instead of mean-ablation) that message is the verdict. factors:
    name -> value of constant factors worth naming (e.g. "1/sqrt(d_head)"). exact: integer
    answers (no tolerance; differences are counted instead of measured). atol: absolute
    tolerance, for values of different scales (default: a fraction of the largest magnitude).
    """
    expected = np.asarray(expected)
    axes = tuple(axes)
    alternatives = dict(alternatives or {})
    factors = dict(factors or {})
    arr = as_array(got)
    if arr is None:
        what = type(got).__name__ if not isinstance(got, list | tuple) or got else "an empty list"
        return Verdict(
            False,
            f"Your function returned {what}; expected numbers of shape {_shape(expected.shape, axes)}.",
            expected,
        )
    if arr.ndim == 0 and expected.ndim == 0:
        pass
    bad = ~np.isfinite(arr.astype(np.float64))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        kind = "NaN" if np.isnan(arr.astype(np.float64)).any() else "inf"
        return Verdict(
            False,
            f"Your output contains {kind}: {int(bad.sum())} of {arr.size} values are not finite, the first"
            f"{_where(first, axes) or ''}. Look for a division by zero or a log of zero.",
            expected,
            arr,
        )
    if arr.shape != expected.shape:
        return _shape_verdict(arr, expected, axes, alternatives)
    if (exact and np.array_equal(arr, expected)) or (not exact and _close(arr, expected, atol)):
        largest = float(np.abs(arr.astype(np.float64) - expected).max()) if arr.size else 0.0
        detail = (
            "exactly" if exact or largest == 0 else f"within tolerance (largest difference {largest:.2g})"
        )
        return Verdict(True, f"Correct: your output matches the reference {detail}.", expected, arr)
    return Verdict(False, _diagnose(arr, expected, axes, alternatives, factors, exact, atol), expected, arr)


def _shape_verdict(arr: np.ndarray, expected: np.ndarray, axes: tuple[str, ...], alternatives) -> Verdict:
    want = _shape(expected.shape, axes)
    msg = None
    if arr.ndim == expected.ndim + 1 and arr.shape[1:] == expected.shape and arr.shape[0] == 1:
        msg = (
            f"Your output has shape {list(arr.shape)}: a leading axis of length 1 is left in - the layer "
            f"axis of TransformerLens weights such as model.W_V [n_layers, n_heads, ...]. Index layer 0 "
            f"(e.g. model.W_V[0]) to get {want}."
        )
        if _close(arr[0], expected):
            msg += " Apart from that axis your values are right."
    elif arr.ndim == expected.ndim - 1:
        if arr.shape == expected.shape[1:]:
            matches = [h for h in range(expected.shape[0]) if _close(arr, expected[h])]
            if matches:
                first = axes[0] if axes else "axis 0"
                msg = (
                    f"Your output is the reference for {first} {matches[0]} alone: return every {first}, "
                    f"stacked along the first axis, {want}."
                )
        for i, name in enumerate(axes or [f"axis {i}" for i in range(expected.ndim)]):
            if msg is not None:
                break
            if expected.shape[:i] + expected.shape[i + 1 :] != arr.shape:
                continue
            for verb, reduced in (("summed", expected.sum(i)), ("averaged", expected.mean(i))):
                if _close(arr, reduced):
                    msg = f"You {verb} over the {name} axis, which should be kept: expected {want}, got {list(arr.shape)}."
                    break
            if msg is None:
                msg = f"Your output has no {name} axis: expected {want}, got {list(arr.shape)}."
            break
    elif arr.ndim == expected.ndim and sorted(arr.shape) == sorted(expected.shape) and axes:
        for perm in itertools.permutations(range(expected.ndim)):
            if tuple(expected.shape[p] for p in perm) == arr.shape and _close(
                np.transpose(arr, np.argsort(perm)), expected
            ):
                return Verdict(False, _transposed(perm, axes), expected, arr)
    if msg is None and arr.ndim == expected.ndim:
        names = axes if len(axes) == arr.ndim else tuple(f"axis {i}" for i in range(arr.ndim))
        diffs = []
        for name, g, e in zip(names, arr.shape, expected.shape):
            if g != e:
                note = " (off by one: check your slicing)" if abs(g - e) == 1 else ""
                diffs.append(f"{g} instead of {e} along the {name} axis{note}")
        msg = f"Wrong shape: {'; '.join(diffs)}. Expected {want}."
    if msg is None:
        msg = f"Wrong shape: got {list(arr.shape)}, expected {want}."
    return Verdict(False, msg, expected, arr)


def _transposed(perm: Sequence[int], axes: tuple[str, ...]) -> str:
    yours = ", ".join(axes[p] for p in perm)
    return (
        f"Transposed: your axes are ({yours}) but should be ({', '.join(axes)}). "
        "Check the order of the factors in your product or the output pattern of your einsum."
    )


def _diagnose(arr, expected, axes, alternatives, factors, exact, atol=None) -> str:
    g = arr.astype(np.float64)
    e = expected.astype(np.float64)
    for message, alt in alternatives.items():
        alt = np.asarray(alt, dtype=np.float64)
        if alt.shape == g.shape and _close(g, alt, atol) and not _close(alt, e, atol):
            return message
    if axes and g.ndim >= 2:
        for perm in itertools.permutations(range(g.ndim)):
            if list(perm) != list(range(g.ndim)) and _close(np.transpose(g, np.argsort(perm)), e):
                return _transposed(perm, axes)
    if not exact and np.abs(e).max() > 0:
        if _close(-g, e):
            return "Wrong sign: your values are the negative of the expected ones."
        c = float((g * e).sum() / (e * e).sum())
        if _is_fraction(e) and abs(c / PERCENT - 1) < 0.01 and _close(g / PERCENT, e):
            return (
                f"Off by a factor of 100: you returned a percentage ({_fmt(float(g.flat[0]))}) where a "
                f"fraction in [0, 1] is expected ({_fmt(float(e.flat[0]))}). Drop the `* 100`."
            )
        name = _named_factor(c, factors) if c != 0 else None
        # any two arrays of one value differ by a factor: for those only a named factor says something
        if c != 0 and (g.size > 1 or name) and _close(g / c, e):
            known = f" - that is {name} = {_fmt(factors[name])}" if name else ""
            return f"Off by a constant factor: your values are {_fmt(c)} times the expected ones{known}."
        if g.ndim >= 2 and axes:
            flat_g, flat_e = g.reshape(g.shape[0], -1), e.reshape(e.shape[0], -1)
            denom = (flat_e * flat_e).sum(1)
            if (denom > 0).all():
                cs = (flat_g * flat_e).sum(1) / denom
                if (cs != 0).all() and _close(g / cs.reshape((-1,) + (1,) * (g.ndim - 1)), e):
                    return (
                        f"Each {axes[0]} is off by its own factor (between {_fmt(cs.min())} and "
                        f"{_fmt(cs.max())}): something that varies along the {axes[0]} axis, such as a "
                        "LayerNorm scale, is missing or applied twice."
                    )
    diff = np.abs(g - e)
    idx = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape)) if g.ndim else ()
    if g.ndim == 0:
        return f"Not quite: you got {_fmt(float(g))}, expected {_fmt(float(e))}."
    if exact:
        n_bad = int((g != e).sum())
        return (
            f"{n_bad} of {g.size} values are wrong, e.g.{_where(idx, axes)}: yours "
            f"{_fmt(float(g[idx]))}, expected {_fmt(float(e[idx]))}."
        )
    rtol, atol = _tolerance(expected, atol)
    n_bad = int((diff > atol + rtol * np.abs(e)).sum())
    return (
        f"Outside tolerance: {n_bad} of {g.size} values differ; the largest error is {_fmt(float(diff[idx]))}"
        f"{_where(idx, axes)} (yours {_fmt(float(g[idx]))}, expected {_fmt(float(e[idx]))})."
    )


def error_verdict(message: str, traceback: str = "") -> Verdict:
    """A run that ended without a value (exception, timeout, ...): the message plus the
    learner's own traceback, trimmed by the runner to frames in their code."""
    text = message.strip()
    if traceback.strip():
        text += "\n\n" + traceback.rstrip()
    return Verdict(False, text)
