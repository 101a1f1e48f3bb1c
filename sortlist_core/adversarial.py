"""Adversarial examples: a batched search for lists the model gets wrong, how often each list
family goes wrong, and the write-up's own adversarial lists.

The Adversarial page's core in one import: the list families (`list_families`) and the accuracy
maps over them (`accuracy_maps`) are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from jaxtyping import Int
from torch import Tensor

from .accuracy_maps import (  # noqa: F401 - re-exported for the page
    MIN_LISTS_TO_JUDGE,
    AccuracyMap,
    AccuracyMapReading,
    AccuracyMarginal,
    MapCell,
    SliceReading,
    accuracy_marginal,
    family_accuracy_maps,
    read_accuracy_maps,
    read_slice,
    worst_cell,
)
from .checkpoint import LoadedModel
from .list_families import FAMILIES, family_lists, generate_family, score_lists  # noqa: F401
from .metrics import predict_lists  # noqa: F401 - re-exported: exercises import it from here
from .model import token_tables

Progress = Callable[[int, int], None]


def _mutate(parents: Int[Tensor, "n list_len"], max_value: int, g: torch.Generator) -> Tensor:
    """Replace one random element of each list by a random value not already in it."""
    n, L = parents.shape
    present = torch.zeros(n, max_value + 1, dtype=torch.bool).scatter_(1, parents, True)
    new_value = torch.where(present, 2.0, torch.rand(n, max_value + 1, generator=g)).argmin(-1)
    pos = torch.randint(0, L, (n,), generator=g)
    child = parents.clone()
    child[torch.arange(n), pos] = new_value
    return child


@dataclass(frozen=True)
class AdversarialExample:
    unsorted: list[int]
    target: list[int]
    predicted: list[int]
    wrong_positions: list[int]
    margin: float
    family: str

    def to_dict(self) -> dict:
        return {
            "unsorted": self.unsorted,
            "target": self.target,
            "predicted": self.predicted,
            "wrong_positions": self.wrong_positions,
            "margin": round(self.margin, 4),
            "family": self.family,
        }


@dataclass(frozen=True)
class SearchResult:
    examples: list[AdversarialExample]
    n_scored: int
    n_wrong: int
    wrong_by_family: dict[str, int]
    scored_by_family: dict[str, int]
    seconds: float
    candidates_per_second: float = field(default=0.0)

    def to_dict(self) -> dict:
        return {
            "examples": [e.to_dict() for e in self.examples],
            "n_scored": self.n_scored,
            "n_wrong": self.n_wrong,
            "wrong_by_family": self.wrong_by_family,
            "scored_by_family": self.scored_by_family,
            "seconds": round(self.seconds, 3),
            "candidates_per_second": round(self.candidates_per_second, 1),
        }


def search_adversarial(
    model: LoadedModel,
    budget: int = 20_000,
    seed: int = 0,
    batch_size: int = 2048,
    max_examples: int = 20,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Score `budget` candidate lists in batches and return the distinct ones the model gets
    wrong, worst (most negative margin) first.

    Half of each batch is fresh random lists from the four families; the other half mutates the
    lowest-margin lists seen so far (local search), which finds failures random sampling misses.
    """
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    tables = token_tables(model.weights)
    pool_lists = torch.empty(0, cfg.list_len, dtype=torch.long)
    pool_margin = torch.empty(0)
    pool_family: list[str] = []
    found: dict[tuple[int, ...], tuple[float, str]] = {}
    scored = dict.fromkeys(FAMILIES + ("mutation",), 0)
    wrong = dict.fromkeys(FAMILIES + ("mutation",), 0)
    done = 0
    while done < budget and not (should_stop and should_stop()):
        n = min(batch_size, budget - done)
        n_mut = n // 2 if len(pool_family) else 0
        fresh = n - n_mut
        per = [fresh // len(FAMILIES) + (i < fresh % len(FAMILIES)) for i in range(len(FAMILIES))]
        parts = [
            generate_family(f, k, cfg.list_len, cfg.max_value, g)
            for f, k in zip(FAMILIES, per, strict=True)
            if k
        ]
        families = [f for f, k in zip(FAMILIES, per, strict=True) for _ in range(k)]
        if n_mut:
            pick = torch.randint(0, len(pool_family), (n_mut,), generator=g)
            parts.append(_mutate(pool_lists[pick], cfg.max_value, g))
            families += ["mutation"] * n_mut
        batch = torch.cat(parts)
        margin, n_bad = score_lists(model, batch, tables)
        for fam in set(families):
            idx = [i for i, f in enumerate(families) if f == fam]
            scored[fam] += len(idx)
            wrong[fam] += int((n_bad[idx] > 0).sum())
        for i in torch.nonzero(n_bad > 0).flatten().tolist():
            key = tuple(batch[i].tolist())
            if key not in found or found[key][0] > float(margin[i]):
                found[key] = (float(margin[i]), families[i])
        # keep the 256 lowest-margin lists as parents for the next round of mutations
        pool_lists = torch.cat([pool_lists, batch])
        pool_margin = torch.cat([pool_margin, margin])
        pool_family += families
        keep = pool_margin.argsort()[:256]
        pool_lists, pool_margin = pool_lists[keep], pool_margin[keep]
        pool_family = [pool_family[i] for i in keep.tolist()]
        done += n
        if progress:
            progress(done, budget)
    seconds = time.perf_counter() - start
    worst = sorted(found.items(), key=lambda kv: kv[1][0])[:max_examples]
    examples: list[AdversarialExample] = []
    if worst:
        preds = predict_lists(model, [list(k) for k, _ in worst])
        for (key, (m, fam)), p in zip(worst, preds, strict=True):
            examples.append(AdversarialExample(list(key), p.targets, p.predicted, p.wrong, m, fam))
    return SearchResult(
        examples=examples,
        n_scored=done,
        n_wrong=sum(wrong.values()),
        wrong_by_family=wrong,
        scored_by_family=scored,
        seconds=seconds,
        candidates_per_second=done / seconds if seconds > 0 else 0.0,
    )


# ---- failure rates per family (the maps binned by list features are in `accuracy_maps`) ----


@dataclass(frozen=True)
class FamilyRates:
    """Fraction of lists the model gets wrong (at least one wrong position), per family."""

    families: tuple[str, ...]
    wrong: tuple[float, ...]
    n_per_family: int

    def rate(self, family: str) -> float:
        return self.wrong[self.families.index(family)]

    @property
    def worst_family(self) -> str:
        """The family that goes wrong most often (ties: the first in `families`)."""
        return max(self.families, key=self.rate)

    def to_dict(self) -> dict:
        return {"n_per_family": self.n_per_family, "wrong_fraction": dict(zip(self.families, self.wrong))}


@torch.inference_mode()
def family_failure_rates(model: LoadedModel, n_per_family: int = 2000, seed: int = 1) -> FamilyRates:
    """How often a list of each family (`FAMILIES`) goes wrong: `n_per_family` lists each."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    wrong = []
    for family in FAMILIES:
        _, n_bad = score_lists(model, generate_family(family, n_per_family, cfg.list_len, cfg.max_value, g))
        wrong.append(float((n_bad > 0).float().mean()))
    return FamilyRates(tuple(FAMILIES), tuple(wrong), n_per_family)


def wrong_rate_by_source(result: SearchResult) -> dict[str, float]:
    """The fraction of a search's candidates that went wrong, per source family (families the
    search scored no candidate of are left out)."""
    return {f: result.wrong_by_family[f] / n for f, n in result.scored_by_family.items() if n}


def writeup_adversarial_lists(list_len: int, max_value: int) -> dict[str, tuple[int, ...]]:
    """The write-up's two custom lists, `[0] + 40..48` ("high") and `[5] + 30, 32, …, 46`
    ("evens"), rebuilt for another task (identical for 10 values in 0..50); a list that cannot be
    built for the task is left out."""
    L, m = list_len, max_value
    out: dict[str, tuple[int, ...]] = {}
    high = [0, *range(m - L, m - 1)]
    if L >= 2 and m - L > 0 and len(set(high)) == L:
        out["high"] = tuple(high)
    start = m - 4 - 2 * (L - 2)
    first = min(5, start - 1)
    evens = [first, *range(start, start + 2 * (L - 1), 2)]
    if L >= 2 and first >= 0 and start > first and max(evens) <= m and len(set(evens)) == L:
        out["evens"] = tuple(evens)
    return out
