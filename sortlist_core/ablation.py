"""Head ablation: how much the loss rises when one head's output is replaced."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor

from .checkpoint import LoadedModel
from .metrics import correct_logprobs
from .model import run


@dataclass(frozen=True)
class AblationResult:
    """Loss increase per head (index = head) for mean ablation (each head's output replaced by
    its mean over the batch, per position, as the write-up does) and zero ablation."""

    base_loss: float
    mean: list[float]
    zero: list[float]

    def to_dict(self) -> dict:
        return {
            "base_loss": self.base_loss,
            "mean": self.mean,
            "zero": self.zero,
            "most_important_head": self.most_important_head,
        }

    @property
    def most_important_head(self) -> int:
        return max(range(len(self.mean)), key=self.mean.__getitem__)


@dataclass(frozen=True)
class ImportanceContrast:
    """The heads that cost the most and the least loss when mean-ablated, and the ratio of those
    costs (inf when the least important head's cost is not positive)."""

    most_important: int
    least_important: int
    cost_ratio: float


def importance_contrast(result: AblationResult) -> ImportanceContrast:
    """Ties: the most important is the lowest index among the costliest heads, the least
    important the highest index among the cheapest."""
    order = sorted(range(len(result.mean)), key=lambda h: result.mean[h], reverse=True)
    top, low = order[0], order[-1]
    ratio = result.mean[top] / result.mean[low] if result.mean[low] > 0 else float("inf")
    return ImportanceContrast(top, low, ratio)


def head_ablation(model: LoadedModel, toks: Int[Tensor, "batch seq"]) -> AblationResult:
    L = model.config.list_len
    w = model.weights
    base = run(w, toks)
    base_lp = correct_logprobs(base.logits, toks, L)
    mean_out = base.head_out.mean(0)  # [seq head d_model]

    def loss_increase(head: int, replacement: Tensor) -> float:
        def edit(head_out: Tensor) -> Tensor:
            head_out = head_out.clone()
            head_out[:, :, head] = replacement
            return head_out

        lp = correct_logprobs(run(w, toks, edit).logits, toks, L)
        return float((base_lp - lp).mean())

    heads = range(model.config.n_heads)
    return AblationResult(
        base_loss=float(-base_lp.mean()),
        mean=[loss_increase(h, mean_out[:, h]) for h in heads],
        zero=[loss_increase(h, torch.zeros_like(mean_out[:, h])) for h in heads],
    )
