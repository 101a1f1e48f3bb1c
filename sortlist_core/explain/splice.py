"""Splicing a hypothesis into the real model: the patched forward pass, in the trusted process.

Pure functions of the model's `Weights` and a token batch (no hooks, nothing shared is mutated),
restricted to the prediction positions (SEP .. second-to-last), the only ones that matter in a
1-layer model. Three edits, each optional, per head:

- attention: the head's pattern is replaced by the hypothesis's; its values and OV stay the model's;
- handles: at a position whose target value is outside the head's set, the head's output is
  replaced by its mean over the batch at that position (the model's own mean);
- ov: the head's direct contribution to the logits becomes `sum_k pattern[q, k] * ov[token_k]`
  (the final LayerNorm's scale is the patched pass's own; the other heads are unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

from ..model import TokenTables, Weights, _layer_norm, token_tables


@dataclass(frozen=True)
class SpliceContext:
    """What every splice on one batch shares: the model's keys/values/patterns at the prediction
    positions, and each head's mean output there (for mean ablation). Build once per batch."""

    weights: Weights
    toks: Tensor  # [batch seq]
    list_len: int
    resid: Tensor  # [batch pos d_model] residual before attention, prediction positions
    v: Tensor  # [batch head seq d_head]
    model_pattern: Tensor  # [batch head pos seq]
    mean_out: Tensor  # [pos head d_model]
    targets: Tensor  # [batch pos]

    @property
    def positions(self) -> slice:
        return slice(self.list_len, 2 * self.list_len)


@torch.inference_mode()
def splice_context(
    weights: Weights,
    toks: Int[Tensor, "batch seq"],
    list_len: int,
    tables: TokenTables | None = None,
    mean_out: Tensor | None = None,
) -> SpliceContext:
    """`mean_out` [pos head d_model]: the means used for mean ablation; default this batch's own
    (a few lists are scored against the evaluation set's means instead)."""
    w = weights
    t = tables if tables is not None else token_tables(w)
    seq = toks.shape[1]
    d_head = w.W_Q.shape[2]
    pos = torch.arange(seq)
    dest = pos[list_len : 2 * list_len]
    k = t.k[pos, toks].transpose(1, 2)  # [batch head seq d_head]
    v = t.v[pos, toks].transpose(1, 2)
    q = t.q[dest, toks[:, dest]].transpose(1, 2)  # [batch head pos d_head]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d_head)
    pattern = scores.masked_fill(dest[:, None] < pos[None, :], float("-inf")).softmax(-1)
    head_out = torch.einsum("bhpe,hed->bphd", pattern @ v, w.W_O)
    return SpliceContext(
        weights=w,
        toks=toks,
        list_len=list_len,
        resid=t.resid[dest, toks[:, dest]],
        v=v,
        model_pattern=pattern,
        mean_out=head_out.mean(0) if mean_out is None else mean_out,
        targets=toks[:, list_len + 1 : 2 * list_len + 1],
    )


def uniform_patterns(n_heads: int, batch: int, seq: int) -> Float[np.ndarray, "head batch q k"]:
    """Every query attends equally to itself and every earlier key."""
    causal = np.tril(np.ones((seq, seq), dtype=np.float32))
    rows = causal / causal.sum(-1, keepdims=True)
    return np.broadcast_to(rows, (n_heads, batch, seq, seq))


@torch.inference_mode()
def spliced_logits(
    ctx: SpliceContext,
    patterns: Float[np.ndarray, "head batch q k"] | None = None,
    handles: tuple[frozenset[int], ...] | None = None,
    ov: Float[np.ndarray, "head vocab vocab"] | None = None,
    *,
    ablate_all: bool = False,
    heads: tuple[int, ...] | None = None,
) -> Float[Tensor, "batch pos vocab"]:
    """Logits at the prediction positions with the hypothesis's pieces spliced in.

    `heads` limits the splice to those heads (the others stay the model's); `ablate_all` replaces
    every head's output by its mean (the mean-ablation baseline). No piece: the model's logits.
    """
    w = ctx.weights
    n_heads = w.W_Q.shape[0]
    spliced = set(range(n_heads) if heads is None else heads)
    P = ctx.positions
    pattern = ctx.model_pattern
    if patterns is not None:
        hyp = torch.as_tensor(np.ascontiguousarray(patterns[:, :, P, :]), dtype=torch.float32).transpose(0, 1)
        chosen = torch.tensor([h in spliced for h in range(n_heads)])[None, :, None, None]
        pattern = torch.where(chosen, hyp, pattern)
    head_out = torch.einsum("bhpe,hed->bphd", pattern @ ctx.v, w.W_O)  # [batch pos head d_model]
    keep = torch.ones(head_out.shape[:3], dtype=torch.bool)
    if ablate_all:
        keep[:] = False
    elif handles is not None:
        d_vocab = w.W_E.shape[0]
        table = torch.zeros(n_heads, d_vocab, dtype=torch.bool)
        for h, values in enumerate(handles):
            table[h, list(values)] = True
            if h not in spliced:
                table[h, :] = True
        keep = table[:, ctx.targets].permute(1, 2, 0)  # [batch pos head]
    head_out = torch.where(keep[..., None], head_out, ctx.mean_out[None])
    resid_post = ctx.resid + head_out.sum(2) + w.b_O
    if w.normalized:
        final, scale = _layer_norm(resid_post)
    else:
        final, scale = resid_post, torch.ones_like(resid_post[..., :1])
    logits = final @ w.W_U + w.b_U
    if ov is not None and not ablate_all:
        key_toks = ctx.toks  # [batch seq]
        for h in sorted(spliced):
            table = torch.as_tensor(ov[h], dtype=torch.float32)
            own = (head_out[:, :, h] / scale) @ w.W_U
            claimed = torch.einsum("bpk,bkv->bpv", pattern[:, h], table[key_toks])
            claimed = torch.where(keep[:, :, h, None], claimed, claimed.mean(0, keepdim=True))
            logits = logits - own + claimed
    return logits
