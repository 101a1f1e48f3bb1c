"""Scoring a spliced hypothesis on the evaluation set, next to two baselines from the same model:
mean ablation of every head, and uniform attention. The headline number is the fraction of loss
recovered, (L_ablated - L_hypothesis) / (L_ablated - L_model): 1 when the hypothesis does what
the model does, 0 when it is no better than removing the heads' information."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from .hypothesis import Hypothesis
from .splice import SpliceContext, spliced_logits, uniform_patterns


@dataclass(frozen=True)
class Score:
    """Mean cross-entropy loss and accuracy over every prediction position of the batch."""

    loss: float
    accuracy: float

    def to_dict(self) -> dict:
        return {"loss": self.loss, "accuracy": self.accuracy}


@dataclass(frozen=True)
class PerToken:
    """Loss [batch pos] and correctness [batch pos] of one set of logits, plus its log-probs."""

    loss: Tensor
    correct: Tensor
    logprobs: Tensor  # [batch pos vocab]

    @property
    def score(self) -> Score:
        return Score(float(self.loss.mean()), float(self.correct.float().mean()))


def per_token(logits: Float[Tensor, "batch pos vocab"], targets: Tensor) -> PerToken:
    logprobs = logits.log_softmax(-1)
    loss = -logprobs.gather(-1, targets[..., None])[..., 0]
    return PerToken(loss, logits.argmax(-1) == targets, logprobs)


@dataclass(frozen=True)
class Baselines:
    """The model itself, every head mean-ablated, and uniform attention in every head."""

    model: PerToken
    ablated: PerToken
    uniform: PerToken


def baselines(ctx: SpliceContext) -> Baselines:
    n_heads = ctx.weights.W_Q.shape[0]
    batch, seq = ctx.toks.shape
    return Baselines(
        model=per_token(spliced_logits(ctx), ctx.targets),
        ablated=per_token(spliced_logits(ctx, ablate_all=True), ctx.targets),
        uniform=per_token(spliced_logits(ctx, uniform_patterns(n_heads, batch, seq)), ctx.targets),
    )


def recovered_fraction(ablated: float, hypothesis: float, model: float) -> float:
    """(L_ablated - L_hypothesis) / (L_ablated - L_model); nan when ablating costs nothing."""
    gap = ablated - model
    return (ablated - hypothesis) / gap if gap > 0 else float("nan")


def hypothesis_logits(ctx: SpliceContext, hyp: Hypothesis, heads: tuple[int, ...] | None = None) -> Tensor:
    return spliced_logits(ctx, hyp.patterns, hyp.handles, hyp.ov, heads=heads)


@dataclass(frozen=True)
class ScoreCard:
    """The hypothesis and the baselines on one batch, and the recovered fractions."""

    hypothesis: Score
    model: Score
    ablated: Score
    uniform: Score
    recovered: float
    uniform_recovered: float
    n_lists: int

    def to_dict(self) -> dict:
        return {
            "hypothesis": self.hypothesis.to_dict(),
            "model": self.model.to_dict(),
            "mean_ablated": self.ablated.to_dict(),
            "uniform_attention": self.uniform.to_dict(),
            "recovered": self.recovered,
            "uniform_recovered": self.uniform_recovered,
            "n_lists": self.n_lists,
        }


def score_card(hyp: PerToken, base: Baselines) -> ScoreCard:
    h, m, a, u = hyp.score, base.model.score, base.ablated.score, base.uniform.score
    return ScoreCard(
        hypothesis=h,
        model=m,
        ablated=a,
        uniform=u,
        recovered=recovered_fraction(a.loss, h.loss, m.loss),
        uniform_recovered=recovered_fraction(a.loss, u.loss, m.loss),
        n_lists=int(hyp.loss.shape[0]),
    )


def kl_from_model(model: PerToken, hyp: PerToken) -> Float[Tensor, "batch pos"]:
    """KL(model || hypothesis) of the predicted distributions at each position."""
    p = model.logprobs.exp()
    return (p * (model.logprobs - hyp.logprobs)).sum(-1).clamp_min(0)


def per_value(loss: Tensor, correct: Tensor, targets: Tensor, n_values: int) -> tuple[np.ndarray, ...]:
    """(count, mean loss, accuracy) per target value 0..n_values-1 (nan where a value never occurs)."""
    t = targets.flatten()
    count = torch.bincount(t, minlength=n_values)[:n_values].double()
    loss_sum = torch.bincount(t, weights=loss.flatten().double(), minlength=n_values)[:n_values]
    right = torch.bincount(t, weights=correct.flatten().double(), minlength=n_values)[:n_values]
    with np.errstate(invalid="ignore", divide="ignore"):
        c = count.numpy()
        return c, loss_sum.numpy() / c, right.numpy() / c
