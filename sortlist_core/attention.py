"""Attention patterns, and the write-up's claims about them measured as fractions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from .checkpoint import LoadedModel
from .data import sequence_tokens
from .metrics import SequencePrediction
from .model import run


def attention_patterns(model: LoadedModel, toks: Int[Tensor, "batch seq"]) -> np.ndarray:
    """float32 [batch head dest src]: what circuitsvis's `attention_patterns` takes per sequence
    (`patterns[i]` is `[head dest src]`)."""
    return run(model.weights, toks).pattern.numpy().copy()


@dataclass(frozen=True)
class AttentionClaims:
    """Fractions of cases where the write-up's observations hold.

    sep_attends_min[h]: SEP's top-attended key holds the list's smallest value, for head h.
    attends_next_larger[h]: a sorted-half token's top-attended key holds the next larger value
    (positions list_len+1 .. 2*list_len-1, i.e. every sorted token that predicts something).
    `*_any` counts a case when at least one head does it (the write-up's "in at least one head").
    """

    sep_attends_min: list[float]
    sep_attends_min_any: float
    attends_next_larger: list[float]
    attends_next_larger_any: float
    n_lists: int

    @property
    def sep_best_head(self) -> int:
        """The head where SEP most often attends most to the smallest value (ties: the lower index)."""
        return int(np.argmax(self.sep_attends_min))

    @property
    def next_larger_best_head(self) -> int:
        """The head that most often attends most to the next larger value (ties: the lower index)."""
        return int(np.argmax(self.attends_next_larger))

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def attention_claims(model: LoadedModel, toks: Int[Tensor, "batch seq"]) -> AttentionClaims:
    L = model.config.list_len
    pattern = run(model.weights, toks).pattern  # [batch head dest src]
    top_src = pattern.argmax(-1)  # [batch head dest]
    top_tok = toks.gather(1, top_src.flatten(1)).view_as(top_src)  # token at the top-attended key
    sep_hits = top_tok[:, :, L] == toks[:, :L].min(-1).values[:, None]  # [batch head]
    dests = torch.arange(L + 1, 2 * L)
    next_hits = top_tok[:, :, dests] == toks[:, None, dests + 1]  # [batch head n_dest]
    return AttentionClaims(
        sep_attends_min=sep_hits.float().mean(0).tolist(),
        sep_attends_min_any=float(sep_hits.any(1).float().mean()),
        attends_next_larger=next_hits.float().mean((0, 2)).tolist(),
        attends_next_larger_any=float(next_hits.any(1).float().mean()),
        n_lists=int(toks.shape[0]),
    )


def top_attended_position(model: LoadedModel, toks: Int[Tensor, "1 seq"], dest: int, head: int) -> int:
    """The key position that `dest` attends to most in `head` (for exercises)."""
    return int(run(model.weights, toks).pattern[0, head, dest].argmax())


@dataclass(frozen=True)
class AttentionMisses:
    """Sorted-half positions (each predicting the next value) where *no* head's top-attended key
    holds the next larger value.

    n_misses: how many such positions there are, over all lists. skip_fraction: among them, the
    share where some head's top-attended key holds the 2nd or 3rd next value instead (skipping
    ahead). still_correct_fraction: among them, the share whose prediction is nevertheless right.
    With no misses both shares are vacuous: 0.0 skip ahead and 1.0 still right.
    """

    n_misses: int
    skip_fraction: float
    still_correct_fraction: float


def next_larger_misses(
    patterns: Float[np.ndarray, "list head dest src"],
    toks: Int[np.ndarray, "list seq"],
    correct: Bool[np.ndarray, "list list_len"],
    list_len: int,
) -> AttentionMisses:
    """`patterns` from `attention_patterns`; `correct[i, k]`: prediction k of list i (made at
    position list_len + k) is right."""
    dests = np.arange(list_len + 1, 2 * list_len)  # sorted tokens that predict a value
    top_src = patterns[:, :, dests, :].argmax(-1)  # [list head n_dest]
    tokens_per_head = np.broadcast_to(toks[:, None, :], (toks.shape[0], patterns.shape[1], toks.shape[1]))
    top_tok = np.take_along_axis(tokens_per_head, top_src, axis=2)  # token at the top source
    hit_any = (top_tok == toks[:, None, dests + 1]).any(1)  # [list n_dest]
    misses = ~hit_any
    # Skipping ahead: some head's top token is the 2nd or 3rd next value of the sorted list.
    seq = toks.shape[1]
    skip = np.zeros_like(misses)
    for ahead in (2, 3):
        valid = dests + ahead < seq
        target = toks[:, np.minimum(dests + ahead, seq - 1)]
        skip |= ((top_tok == target[:, None, :]).any(1)) & valid[None, :]
    still_right = correct[:, 1:][misses]  # the prediction made at dest has index dest - list_len
    return AttentionMisses(
        n_misses=int(misses.sum()),
        skip_fraction=float(skip[misses].mean()) if misses.any() else 0.0,
        still_correct_fraction=float(still_right.mean()) if still_right.size else 1.0,
    )


def next_larger_misses_on(
    patterns: Float[np.ndarray, "list head dest src"], preds: Sequence[SequencePrediction], sep_token: int
) -> AttentionMisses:
    """`next_larger_misses` for lists predicted with `metrics.predict_lists` (same order as
    `patterns`): builds their token and correctness arrays."""
    toks = np.array([sequence_tokens(p.unsorted, sep_token) for p in preds])
    correct = np.array([[t == q for t, q in zip(p.targets, p.predicted, strict=True)] for p in preds])
    return next_larger_misses(patterns, toks, correct, len(preds[0].unsorted))
