"""Attention patterns, and the write-up's claims about them measured as fractions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Int
from torch import Tensor

from .checkpoint import LoadedModel
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
