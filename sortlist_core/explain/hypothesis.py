"""A learner's hypothesis of how the model sorts: what comes back from the sandbox, and the
checks that turn a malformed answer into a teaching assistant's sentence.

The learner's code defines up to three optional functions (TransformerLens names and shapes):

- `attention(tokens, head) -> [batch, query_pos, key_pos]`: each head's attention pattern;
- `handles(head) -> set[int]`: the values a head is responsible for predicting;
- `ov(head) -> [d_vocab, d_vocab]`: what attending to each source token adds to each logit.

The code runs in the sandboxed runner with `HARNESS` appended: the harness calls those functions
for every head and returns plain arrays (`.npy`, never pickled). `decode_hypothesis` reads that
answer in the trusted process and checks every array before anything is spliced into the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Runs in the sandbox after the learner's code, in the same module, so it sees their functions.
# `model` (the TransformerLens model in use) is offered to the learner's functions as a global.
HARNESS_ENTRY = "__sortlist_hypothesis__"
HARNESS = """


def __sortlist_hypothesis__(dataset, model, n_heads, mode):
    import numpy as _np
    import torch as _torch

    _g = globals()
    _g.setdefault("model", model)
    tokens = dataset.toks
    extra = _np.zeros((0,), dtype=_np.int64)
    if mode == "disagree":
        _found = _g.get("disagreement")
        if not callable(_found):
            raise NameError("define disagreement() returning (a list of values, a head index)")
        _answer = _found()
        if not isinstance(_answer, (tuple, list)) or len(_answer) != 2:
            raise TypeError("disagreement() must return (a list of values, a head index)")
        _values, _head = [int(v) for v in _answer[0]], int(_answer[1])
        from sortlist_core.data import CustomSortedListDataset

        tokens = CustomSortedListDataset([_values], dataset.max_value).toks
        extra = _np.array([_head, *_values], dtype=_np.int64)

    def _array(x, what):
        if isinstance(x, _torch.Tensor):
            x = x.detach().cpu().double().numpy()
        try:
            return _np.asarray(x, dtype=_np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{what} must return numbers (a tensor or an array): {exc}") from None

    def _per_head(fn, what):
        arrays = [_array(fn(h), what.format(h=h)) for h in range(n_heads)]
        for h, a in enumerate(arrays):
            if a.shape != arrays[0].shape:
                return a, h
        return _np.stack(arrays), -1

    empty = _np.zeros((0,))
    has, bad = [0, 0, 0], [-1, -1]
    patterns = handled = ov = empty
    attention = _g.get("attention")
    if callable(attention):
        has[0] = 1
        patterns, bad[0] = _per_head(lambda h: attention(tokens.clone(), h), "attention(tokens, head={h})")
    handles = _g.get("handles")
    if callable(handles) and mode != "attention":
        has[1] = 1
        sets = []
        for h in range(n_heads):
            try:
                sets.append(sorted({int(v) for v in handles(h)}))
            except (TypeError, ValueError) as exc:
                raise TypeError(f"handles(head={h}) must return a set of whole numbers: {exc}") from None
        width = max([len(s) for s in sets] + [1])
        handled = _np.full((n_heads, width), -1, dtype=_np.int64)
        for h, s in enumerate(sets):
            handled[h, : len(s)] = s
    ov_fn = _g.get("ov")
    if callable(ov_fn) and mode != "attention":
        has[2] = 1
        ov, bad[1] = _per_head(ov_fn, "ov(head={h})")
    meta = _np.array([*has, *bad, int(tokens.shape[0])], dtype=_np.int64)
    return (meta, patterns, handled, ov, extra)
"""

ROW_SUM_TOL = 1e-3
NEGATIVE_TOL = 1e-6
FUTURE_TOL = 1e-4


class HypothesisError(ValueError):
    """The hypothesis's arrays cannot be spliced; the message says why, as a TA would."""


@dataclass(frozen=True)
class Hypothesis:
    """What the hypothesis claims, checked. Absent pieces are None.

    patterns [head batch query key] (rows sum to 1, causal); handles[h]: the values head h is
    responsible for; ov [head d_vocab d_vocab]: the logits attending to a source token adds.
    `disagreement` is exercise 2's (list, head), when asked for."""

    patterns: np.ndarray | None = None
    handles: tuple[frozenset[int], ...] | None = None
    ov: np.ndarray | None = None
    disagreement: tuple[tuple[int, ...], int] | None = None

    @property
    def pieces(self) -> tuple[str, ...]:
        names = ("attention", "handles", "ov")
        return tuple(n for n, v in zip(names, (self.patterns, self.handles, self.ov)) if v is not None)


def harness_source(learner_source: str) -> str:
    """The learner's code with the harness appended (the job the runner runs)."""
    return learner_source.rstrip("\n") + "\n" + HARNESS


def _axis_hint(shape: tuple[int, ...], expected: tuple[int, ...], names: tuple[str, ...]) -> str:
    if len(shape) != len(expected):
        if len(shape) == len(expected) - 1 and shape == expected[1:]:
            return f"it has no {names[0]} axis: return one pattern per list in `tokens`"
        return f"it has {len(shape)} axes, not {len(expected)} ({', '.join(names)})"
    if len(shape) >= 2 and shape[-2:] == expected[-2:][::-1] and shape[-1] != shape[-2]:
        return "the last two axes look transposed"
    wrong = [f"{n} has length {s}, expected {e}" for n, s, e in zip(names, shape, expected) if s != e]
    return "; ".join(wrong)


def check_patterns(patterns: np.ndarray, n_heads: int, batch: int, seq: int) -> np.ndarray:
    """float32 [head batch q k] or HypothesisError: shape, NaN, negative, future keys, row sums."""
    expected = (batch, seq, seq)
    names = ("batch", "query_pos", "key_pos")
    if patterns.shape[1:] != expected or patterns.shape[0] != n_heads:
        raise HypothesisError(
            f"`attention(tokens, head)` returned shape {tuple(patterns.shape[1:])}; expected "
            f"[batch, query_pos, key_pos] = {expected}: {_axis_hint(tuple(patterns.shape[1:]), expected, names)}."
        )
    for h in range(n_heads):
        p = patterns[h]
        where = f"`attention(tokens, head={h})`"
        bad = ~np.isfinite(p)
        if bad.any():
            b, q, k = np.argwhere(bad)[0]
            raise HypothesisError(
                f"{where} has {int(bad.sum())} NaN or infinite weights (first: list {b}, query "
                f"position {q}, key {k}). A softmax over a row of all -inf gives NaN: leave at least "
                "one key (the query itself) unmasked."
            )
        if (p < -NEGATIVE_TOL).any():
            b, q, k = np.argwhere(p < -NEGATIVE_TOL)[0]
            raise HypothesisError(
                f"{where} has a negative weight ({p[b, q, k]:.3g} at list {b}, query {q}, key {k}): "
                "attention weights are probabilities, so each must be >= 0."
            )
        future = np.triu(np.ones((seq, seq), dtype=bool), 1)
        leak = (p * future).sum(-1)
        if (leak > FUTURE_TOL).any():
            b, q = np.argwhere(leak > FUTURE_TOL)[0]
            raise HypothesisError(
                f"{where} puts weight {leak[b, q]:.3g} on keys after the query (list {b}, query "
                f"position {q}). The model only sees earlier tokens: zero the weights above the "
                "diagonal (e.g. with `torch.tril`) before normalising."
            )
        sums = p.sum(-1)
        off = np.abs(sums - 1) > ROW_SUM_TOL
        if off.any():
            b, q = np.argwhere(off)[0]
            raise HypothesisError(
                f"{where}: the row of query position {q} in list {b} sums to {sums[b, q]:.4g}, not 1 "
                f"({int(off.sum())} rows are off). Each query's weights over the keys must sum to 1: "
                "divide each row by its sum, or build it with a softmax over the key axis."
            )
    return patterns.astype(np.float32)


def check_handles(handled: np.ndarray, n_heads: int, max_value: int) -> tuple[frozenset[int], ...]:
    if handled.ndim != 2 or handled.shape[0] != n_heads or handled.dtype.kind not in "iu":
        raise HypothesisError("`handles(head)` must return a set of whole numbers for every head.")
    sets = []
    for h in range(n_heads):
        values = [int(v) for v in handled[h] if v != -1]
        outside = [v for v in values if not 0 <= v <= max_value]
        if outside:
            raise HypothesisError(
                f"`handles(head={h})` contains {outside[0]}, which is not a value of this task "
                f"(values are 0..{max_value}; SEP is never predicted)."
            )
        sets.append(frozenset(values))
    return tuple(sets)


def check_ov(ov: np.ndarray, n_heads: int, d_vocab: int) -> np.ndarray:
    expected = (d_vocab, d_vocab)
    if ov.shape != (n_heads, *expected):
        raise HypothesisError(
            f"`ov(head)` returned shape {tuple(ov.shape[1:])}; expected [d_vocab, d_vocab] = {expected} "
            "(rows: the source token attended to, columns: the logit it moves)."
        )
    if not np.isfinite(ov).all():
        raise HypothesisError("`ov(head)` contains NaN or infinite values.")
    return ov.astype(np.float32)


def decode_hypothesis(
    value: Any, *, n_heads: int, seq: int, d_vocab: int, max_value: int, mode: str = "full"
) -> Hypothesis:
    """The runner's plain value -> a checked `Hypothesis`, or `HypothesisError`. Trusts nothing."""
    if not isinstance(value, tuple) or len(value) != 5 or not all(isinstance(v, np.ndarray) for v in value):
        raise HypothesisError("The hypothesis did not come back in the expected form; run it again.")
    meta, patterns, handled, ov, extra = value
    if meta.shape != (6,) or meta.dtype.kind not in "iu":
        raise HypothesisError("The hypothesis did not come back in the expected form; run it again.")
    has_attention, has_handles, has_ov, bad_attention, bad_ov, batch = (int(x) for x in meta)
    if not (has_attention or has_handles or has_ov):
        wanted = (
            "`attention(tokens, head)`"
            if mode == "attention"
            else ("at least one of `attention(tokens, head)`, `handles(head)` or `ov(head)`")
        )
        raise HypothesisError(f"Your code defines none of the hypothesis's functions: define {wanted}.")
    if mode == "attention" and not has_attention:
        raise HypothesisError("This exercise tests attention alone: define `attention(tokens, head)`.")
    if bad_attention >= 0:
        raise HypothesisError(
            f"`attention(tokens, head={bad_attention})` returned shape {tuple(patterns.shape)}, "
            f"unlike head 0's: every head must return [batch, query_pos, key_pos]."
        )
    if bad_ov >= 0:
        raise HypothesisError(f"`ov(head={bad_ov})` returned shape {tuple(ov.shape)}, unlike head 0's.")
    disagreement = None
    if mode == "disagree":
        if extra.ndim != 1 or extra.size < 2:
            raise HypothesisError("`disagreement()` must return (a list of values, a head index).")
        head = int(extra[0])
        if not 0 <= head < n_heads:
            raise HypothesisError(
                f"`disagreement()` names head {head}; this model's heads are 0..{n_heads - 1}."
            )
        disagreement = (tuple(int(v) for v in extra[1:]), head)
    return Hypothesis(
        patterns=check_patterns(patterns, n_heads, batch, seq) if has_attention else None,
        handles=check_handles(handled, n_heads, max_value) if has_handles else None,
        ov=check_ov(ov, n_heads, d_vocab) if has_ov else None,
        disagreement=disagreement,
    )
