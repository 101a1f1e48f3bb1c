"""Choose quiz instances whose answer is unambiguous on the loaded model.

A quiz question such as "which source token gets the highest QK score from destination d?" has
a unique answer only when the winner beats the runner-up by a margin the learner can see. Scores
differ by orders of magnitude between models (QK scores ≈ 0.002 on the original checkpoint,
≈ 0.4 on the strong bundled model), so the margin is relative to the scores' own scale. When no
candidate instance has a clear winner (every position 100% correct, no family fails), the
question is skipped with a reason the page shows instead of a question with no right answer.

One mechanism for every exercise: `pick_instance(candidates, score, margin)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

# The winner must beat the runner-up by this fraction of the scores' scale (their range, or their
# largest magnitude if larger): 5% is a bar visibly taller than its neighbour in a bar chart.
DEFAULT_MARGIN = 0.05


@dataclass(frozen=True)
class Winner:
    """The best index of a score vector and by how much it beats the runner-up."""

    index: int
    gap: float  # best - runner-up, in the scores' own units
    scale: float  # max(max - min, max |score|) over the scores (0 when they are all 0)

    @property
    def relative_gap(self) -> float:
        return self.gap / self.scale if self.scale > 0 else 0.0


@dataclass(frozen=True)
class Instance(Generic[T]):
    """A chosen instance and its winner (the expected answer's index among its scores)."""

    value: T
    winner: Winner


@dataclass(frozen=True)
class Skip:
    """No instance of the question is well-posed on this model; `reason` says why, in the
    model's own numbers, for the learner."""

    reason: str


def winner(scores: Sequence[float] | np.ndarray, lower_is_better: bool = False) -> Winner:
    """The best entry of `scores` (highest, or lowest with `lower_is_better`) and its gap to the
    runner-up; NaN entries never win."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("no scores")
    if lower_is_better:
        values = -values
    finite = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-finite, kind="stable")
    best = int(order[0])
    ok = finite[np.isfinite(finite)]
    # the range, or the largest magnitude when that is larger: with two heads the range is the
    # gap itself, and "1.30 vs 0.84" must be clear while "0.840 vs 0.839" is not
    scale = float(max(ok.max() - ok.min(), np.abs(ok).max())) if ok.size else 0.0
    gap = (
        float(finite[best] - finite[order[1]]) if values.size > 1 and np.isfinite(finite[order[1]]) else scale
    )
    return Winner(best, gap, scale)


def is_clear(w: Winner, margin: float = DEFAULT_MARGIN) -> bool:
    """Whether the winner beats the runner-up by at least `margin` of the scale."""
    return w.scale > 0 and w.gap > 0 and w.relative_gap >= margin


def pick_instance(
    candidates: Iterable[T],
    score: Callable[[T], Sequence[float] | np.ndarray],
    margin: float = DEFAULT_MARGIN,
    *,
    lower_is_better: bool = False,
    reason: str = "no instance of this question has a clear answer on this model",
) -> Instance[T] | Skip:
    """The first candidate whose scores have a clear winner (`is_clear`), in the candidates'
    order (put the preferred instance first); `Skip(reason)` when none has."""
    for candidate in candidates:
        scores = score(candidate)
        if len(scores) == 0:
            continue
        w = winner(scores, lower_is_better)
        if is_clear(w, margin):
            return Instance(candidate, w)
    return Skip(reason)


def clear_answer(
    scores: Sequence[float] | np.ndarray,
    margin: float = DEFAULT_MARGIN,
    *,
    lower_is_better: bool = False,
    reason: str = "no entry stands out",
) -> Instance[None] | Skip:
    """A single fixed instance: its winner when clear, else `Skip(reason)`."""
    return pick_instance([None], lambda _: scores, margin, lower_is_better=lower_is_better, reason=reason)


def nearest_first(center: int, lo: int, hi: int) -> list[int]:
    """lo..hi ordered by distance from `center` (center first, then center+1, center-1, ...): the
    candidates for "the question the learner asked, or the nearest one that is well-posed"."""
    center = min(max(center, lo), hi)
    out = [center]
    for step in range(1, hi - lo + 1):
        out += [v for v in (center + step, center - step) if lo <= v <= hi]
    return out


def pick_signed(
    candidates: Iterable[T],
    value: Callable[[T], float],
    scale: Callable[[T], float],
    margin: float = DEFAULT_MARGIN,
    *,
    reason: str = "no instance of this question has a clear sign on this model",
) -> Instance[T] | Skip:
    """For "is it positive or negative?" questions: the first candidate whose value is at least
    `margin` of its scale away from 0 (winner index 0: positive, 1: negative); else `Skip`."""
    for candidate in candidates:
        v, s = float(value(candidate)), float(scale(candidate))
        if np.isfinite(v) and s > 0 and abs(v) >= margin * s:
            return Instance(candidate, Winner(0 if v > 0 else 1, abs(v), s))
    return Skip(reason)
