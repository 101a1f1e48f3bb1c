"""Where a spliced hypothesis breaks: by prediction position, by target value, the value ranges
it gets wrong, the lists on which it differs most from the model, and two known weak spots of the
simple story measured on the model (SEP, and queries whose head attends past the next value)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..circuits import HeadRange, head_responsibility
from ..data import eval_dataset
from ..model import token_tables
from .hypothesis import Hypothesis
from .score import (
    Baselines,
    PerToken,
    ScoreCard,
    baselines,
    hypothesis_logits,
    kl_from_model,
    per_token,
    score_card,
)
from .score import per_value as per_value_stats
from .splice import SpliceContext, splice_context

WORST_LISTS = 5
# A value counts as "got wrong" where the hypothesis's accuracy is this far below the model's.
VALUE_GAP = 0.10


@dataclass(frozen=True)
class Prepared:
    """The evaluation batch with the model's own run and the baselines: computed once per model,
    then every hypothesis is scored against it (the server's warm path)."""

    model: LoadedModel
    ctx: SpliceContext
    base: Baselines


def prepare(model: LoadedModel, toks: torch.Tensor | None = None) -> Prepared:
    toks = eval_dataset(model.config).toks if toks is None else toks
    ctx = splice_context(model.weights, toks, model.config.list_len, token_tables(model.weights))
    return Prepared(model, ctx, baselines(ctx))


@dataclass(frozen=True)
class WorstList:
    """One evaluation list where the hypothesis differs most from the model (summed KL)."""

    index: int
    unsorted: tuple[int, ...]
    divergence: float
    model_predicted: tuple[int, ...]
    hypothesis_predicted: tuple[int, ...]
    targets: tuple[int, ...]
    worst_position: int  # 0 = the prediction made at SEP

    @property
    def differing_positions(self) -> tuple[int, ...]:
        return tuple(
            i for i, (a, b) in enumerate(zip(self.model_predicted, self.hypothesis_predicted)) if a != b
        )

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "list": list(self.unsorted),
            "divergence": self.divergence,
            "model_predicted": list(self.model_predicted),
            "hypothesis_predicted": list(self.hypothesis_predicted),
            "targets": list(self.targets),
            "worst_position": self.worst_position,
        }


@dataclass(frozen=True)
class BeyondNext:
    """Queries (not SEP) whose responsible head puts more weight on a larger value than on the
    next value up (the write-up's d → d+2 puzzle): how often, and the loss there."""

    fraction: float
    count: int
    model_loss: float
    hypothesis_loss: float


@dataclass(frozen=True)
class Explanation:
    """Everything the page and the CLI report about one hypothesis on the evaluation set."""

    card: ScoreCard
    pieces: tuple[str, ...]
    position_accuracy: tuple[np.ndarray, np.ndarray]  # (hypothesis, model) per prediction position
    position_loss: tuple[np.ndarray, np.ndarray]
    value_count: np.ndarray
    value_accuracy: tuple[np.ndarray, np.ndarray]  # (hypothesis, model) per target value
    value_loss: tuple[np.ndarray, np.ndarray]
    wrong_ranges: tuple[tuple[int, int], ...]  # target values the hypothesis gets wrong, as runs
    worst_lists: tuple[WorstList, ...]
    beyond_next: BeyondNext

    @property
    def sep_accuracy(self) -> tuple[float, float]:
        return float(self.position_accuracy[0][0]), float(self.position_accuracy[1][0])

    @property
    def worst_position(self) -> int:
        """The prediction position where the hypothesis loses most accuracy against the model."""
        return int(np.argmax(self.position_accuracy[1] - self.position_accuracy[0]))

    def to_dict(self) -> dict:
        def r(a: np.ndarray) -> list:
            return [None if not np.isfinite(x) else round(float(x), 6) for x in a]

        return {
            **self.card.to_dict(),
            "pieces": list(self.pieces),
            "per_position": {
                "hypothesis_accuracy": r(self.position_accuracy[0]),
                "model_accuracy": r(self.position_accuracy[1]),
                "hypothesis_loss": r(self.position_loss[0]),
                "model_loss": r(self.position_loss[1]),
            },
            "per_value": {
                "count": [int(c) for c in self.value_count],
                "hypothesis_accuracy": r(self.value_accuracy[0]),
                "model_accuracy": r(self.value_accuracy[1]),
                "hypothesis_loss": r(self.value_loss[0]),
                "model_loss": r(self.value_loss[1]),
            },
            "wrong_value_ranges": [list(x) for x in self.wrong_ranges],
            "worst_lists": [w.to_dict() for w in self.worst_lists],
            "beyond_next": self.beyond_next.__dict__,
        }


def value_runs(values: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Sorted distinct ints -> maximal runs of consecutive values (start, end inclusive)."""
    runs: list[tuple[int, int]] = []
    for v in (int(x) for x in values):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return tuple(runs)


def format_runs(runs: tuple[tuple[int, int], ...] | list[HeadRange]) -> str:
    pairs = [(r.start, r.end) if isinstance(r, HeadRange) else r for r in runs]
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in pairs) or "none"


def worst_lists(prep: Prepared, hyp: PerToken, k: int = WORST_LISTS) -> tuple[WorstList, ...]:
    kl = kl_from_model(prep.base.model, hyp)
    per_list = kl.sum(-1)
    order = torch.argsort(per_list, descending=True)[:k].tolist()
    L = prep.model.config.list_len
    model_pred = prep.base.model.logprobs.argmax(-1)
    hyp_pred = hyp.logprobs.argmax(-1)
    return tuple(
        WorstList(
            index=i,
            unsorted=tuple(prep.ctx.toks[i, :L].tolist()),
            divergence=float(per_list[i]),
            model_predicted=tuple(model_pred[i].tolist()),
            hypothesis_predicted=tuple(hyp_pred[i].tolist()),
            targets=tuple(prep.ctx.targets[i].tolist()),
            worst_position=int(kl[i].argmax()),
        )
        for i in order
    )


def beyond_next(prep: Prepared, hyp: PerToken) -> BeyondNext:
    """Positions after SEP whose target's copying head (from the OV analysis) attends more to some
    value above the target than to the target itself, in the model's own pattern."""
    ctx = prep.ctx
    L = ctx.list_len
    owner = torch.tensor(head_responsibility(prep.model).owner)
    targets = ctx.targets[:, 1:]  # [batch pos-1], queries after SEP
    keys = ctx.toks[:, :L]  # the unsorted half holds each value once
    pattern = ctx.model_pattern[:, :, 1:, :L]  # [batch head pos-1 L]
    heads = owner[targets]  # [batch pos-1]
    attn = pattern.gather(1, heads[:, None, :, None].expand(-1, 1, -1, L))[:, 0]  # [batch pos-1 L]
    on_target = (attn * (keys[:, None, :] == targets[..., None])).sum(-1)
    above = (keys[:, None, :] > targets[..., None]).float()
    best_above = (attn * above).amax(-1)
    mask = best_above > on_target
    count = int(mask.sum())
    m = prep.base.model.loss[:, 1:][mask]
    h = hyp.loss[:, 1:][mask]
    return BeyondNext(
        fraction=count / mask.numel(),
        count=count,
        model_loss=float(m.mean()) if count else float("nan"),
        hypothesis_loss=float(h.mean()) if count else float("nan"),
    )


def explain(prep: Prepared, hyp: Hypothesis) -> Explanation:
    """Splice `hyp` into the model and measure it on the prepared batch."""
    ctx = prep.ctx
    scored = per_token(hypothesis_logits(ctx, hyp), ctx.targets)
    base = prep.base.model
    n_values = prep.model.config.max_value + 1
    count, h_loss, h_acc = per_value_stats(scored.loss, scored.correct, ctx.targets, n_values)
    _, m_loss, m_acc = per_value_stats(base.loss, base.correct, ctx.targets, n_values)
    with np.errstate(invalid="ignore"):
        wrong = np.flatnonzero((count > 0) & (m_acc - h_acc > VALUE_GAP))
    return Explanation(
        card=score_card(scored, prep.base),
        pieces=hyp.pieces,
        position_accuracy=(
            scored.correct.float().mean(0).numpy(),
            base.correct.float().mean(0).numpy(),
        ),
        position_loss=(scored.loss.mean(0).numpy(), base.loss.mean(0).numpy()),
        value_count=count,
        value_accuracy=(h_acc, m_acc),
        value_loss=(h_loss, m_loss),
        wrong_ranges=value_runs(wrong),
        worst_lists=worst_lists(prep, scored),
        beyond_next=beyond_next(prep, scored),
    )


_PREPARED: dict[str, Prepared] = {}
_PREPARED_MAX = 4
_PREPARED_LOCK = threading.Lock()  # graders of several sessions may ask at once


def prepared_for(model: LoadedModel) -> Prepared:
    """`prepare(model)` on the evaluation set, kept for the last few models (graders, the CLI)."""
    key = model.weights_sha256
    with _PREPARED_LOCK:
        prep = _PREPARED.get(key)
    if prep is None:
        prep = prepare(model)  # outside the lock: another model's grader need not wait
        with _PREPARED_LOCK:
            while len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.pop(next(iter(_PREPARED)))
            prep = _PREPARED.setdefault(key, prep)
    return prep
