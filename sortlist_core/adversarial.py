"""Adversarial examples: a batched search for lists the model
gets wrong, and accuracy maps over the structured families the write-up names."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from jaxtyping import Bool, Int
from torch import Tensor

from .checkpoint import LoadedModel
from .data import tokens_from_unsorted
from .metrics import predict_lists, prediction_slice
from .model import TokenTables, prediction_logits, token_tables

FAMILIES = ("uniform", "high", "gap", "cluster")
Progress = Callable[[int, int], None]


# ---- candidate generators: each returns [n list_len] long tensors of distinct values ----


def _sample_from_mask(
    allowed: Bool[Tensor, "n vocab"], forced: Bool[Tensor, "n vocab"], k: int, g: torch.Generator
) -> Tensor:
    """k distinct values per row: all `forced` ones, the rest uniformly from `allowed`,
    returned in random order (the unsorted half's order matters to the model)."""
    keys = torch.rand(allowed.shape, generator=g)
    keys = torch.where(allowed, keys, 2.0)
    keys = torch.where(forced, -1.0 + keys * 0.5, keys)
    chosen = keys.argsort(-1)[:, :k]
    shuffle = torch.rand(chosen.shape, generator=g).argsort(-1)
    return chosen.gather(1, shuffle)


def generate_family(
    family: str, n: int, list_len: int, max_value: int, g: torch.Generator
) -> Int[Tensor, "n list_len"]:
    """Random lists of one family.

    uniform: any distinct values (the training distribution); high: all values in a top window
    just wide enough to hold the list; gap: two values at least a third of the range apart with
    nothing between; cluster: a tight triple x<y<z with z-x <= 4.
    """
    V = max_value + 1
    values = torch.arange(V)[None, :].expand(n, V)
    none = torch.zeros(n, V, dtype=torch.bool)
    if family == "uniform":
        return _sample_from_mask(torch.ones(n, V, dtype=torch.bool), none, list_len, g)
    if family == "high":
        width = torch.randint(list_len, min(V, 2 * list_len) + 1, (n, 1), generator=g)
        return _sample_from_mask(values >= V - width, none, list_len, g)
    if family == "gap":
        min_gap = max(2, V // 3)
        gap = torch.randint(min_gap, max(min_gap + 1, V - list_len + 2), (n, 1), generator=g)
        start = (torch.rand(n, 1, generator=g) * (V - gap).clamp(min=1)).long()
        end = (start + gap).clamp(max=V - 1)
        allowed = (values <= start) | (values >= end)
        forced = (values == start) | (values == end)
        return _sample_from_mask(allowed, forced, list_len, g)
    if family == "cluster":
        x = torch.randint(0, max(1, V - 4), (n, 1), generator=g)
        spread = torch.randint(2, 5, (n, 1), generator=g)  # z - x in 2..4
        y = x + 1 + (torch.rand(n, 1, generator=g) * (spread - 1)).long()
        z = (x + spread).clamp(max=V - 1)
        forced = (values == x) | (values == y) | (values == z)
        allowed = ~((values > x) & (values < z)) | forced
        return _sample_from_mask(allowed, forced, list_len, g)
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def _mutate(parents: Int[Tensor, "n list_len"], max_value: int, g: torch.Generator) -> Tensor:
    """Replace one random element of each list by a random value not already in it."""
    n, L = parents.shape
    present = torch.zeros(n, max_value + 1, dtype=torch.bool).scatter_(1, parents, True)
    new_value = torch.where(present, 2.0, torch.rand(n, max_value + 1, generator=g)).argmin(-1)
    pos = torch.randint(0, L, (n,), generator=g)
    child = parents.clone()
    child[torch.arange(n), pos] = new_value
    return child


def family_lists(
    family: str, n: int, list_len: int, max_value: int, seed: int
) -> tuple[tuple[int, ...], ...]:
    """`n` lists of `family` from a private generator seeded with `seed` (same seed, same lists)."""
    g = torch.Generator().manual_seed(int(seed))
    return tuple(
        tuple(int(v) for v in row) for row in generate_family(family, n, list_len, max_value, g).tolist()
    )


@torch.inference_mode()
def score_lists(
    model: LoadedModel, unsorted: Int[Tensor, "n list_len"], tables: TokenTables | None = None
) -> tuple[Tensor, Tensor]:
    """(margin [n], n_wrong [n]): the smallest over positions of target logit minus the best
    other logit (negative = a wrong prediction), and how many positions are wrong."""
    cfg = model.config
    toks = tokens_from_unsorted(unsorted, cfg.max_value)
    logits = prediction_logits(model.weights, toks, prediction_slice(cfg.list_len), tables)
    targets = toks[:, cfg.list_len + 1 :]
    target_logit = logits.gather(-1, targets[..., None])[..., 0]
    other = logits.scatter(-1, targets[..., None], float("-inf")).max(-1).values
    margin = target_logit - other
    return margin.min(-1).values, (margin < 0).sum(-1)


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


# ---- accuracy maps over structured families ----


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


@dataclass(frozen=True)
class AccuracyMap:
    """accuracy[i, j]: fraction of lists sorted entirely correctly with row feature in
    `row_bins[i]` and column feature in `col_bins[j]` (NaN where no list fell); counts alike."""

    title: str
    row_label: str
    col_label: str
    row_bins: list[str]
    col_bins: list[str]
    accuracy: np.ndarray
    counts: np.ndarray

    def to_dict(self) -> dict:
        acc = [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in self.accuracy]
        return {
            "title": self.title,
            "row_label": self.row_label,
            "col_label": self.col_label,
            "row_bins": self.row_bins,
            "col_bins": self.col_bins,
            "accuracy": acc,
            "counts": self.counts.tolist(),
        }


def _bin_edges(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    return [(a, min(a + width - 1, hi)) for a in range(lo, hi + 1, width)]


def _binned(feature: np.ndarray, edges: list[tuple[int, int]]) -> np.ndarray:
    out = np.full(feature.shape, -1)
    for i, (a, b) in enumerate(edges):
        out[(feature >= a) & (feature <= b)] = i
    return out


def _accuracy_map(title, row_label, col_label, rows, cols, row_edges, col_edges, correct) -> AccuracyMap:
    ri, ci = _binned(rows, row_edges), _binned(cols, col_edges)
    counts = np.zeros((len(row_edges), len(col_edges)), dtype=np.int64)
    hits = np.zeros_like(counts)
    ok = (ri >= 0) & (ci >= 0)
    np.add.at(counts, (ri[ok], ci[ok]), 1)
    np.add.at(hits, (ri[ok], ci[ok]), correct[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    label = lambda e: [f"{a}" if a == b else f"{a}–{b}" for a, b in e]  # noqa: E731
    return AccuracyMap(title, row_label, col_label, label(row_edges), label(col_edges), acc, counts)


@torch.inference_mode()
def family_accuracy_maps(model: LoadedModel, n_per_family: int = 4000, seed: int = 0) -> list[AccuracyMap]:
    """Accuracy by (largest gap, smallest value) and by (cluster tightness, cluster start).

    Lists are drawn from all four families so that rare structures (big gaps, all-high values,
    tight triples) are well represented, then binned by their measured features.
    """
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    lists = torch.cat([generate_family(f, n_per_family, cfg.list_len, cfg.max_value, g) for f in FAMILIES])
    margin, n_bad = score_lists(model, lists)
    correct = (n_bad == 0).numpy().astype(np.int64)
    srt = lists.sort(-1).values.numpy()
    gaps = np.diff(srt, axis=1)
    largest_gap, smallest = gaps.max(1), srt[:, 0]
    span3 = srt[:, 2:] - srt[:, :-2]  # z - x of each consecutive sorted triple
    tight_idx = span3.argmin(1)
    tightness, cluster_start = span3.min(1), srt[np.arange(len(srt)), tight_idx]
    V = cfg.max_value + 1
    step = max(1, V // 10)
    return [
        _accuracy_map(
            "Accuracy by largest gap and smallest value",
            "largest gap between consecutive sorted values",
            "smallest value",
            largest_gap,
            smallest,
            _bin_edges(1, V - 1, step),
            _bin_edges(0, V - 1, step),
            correct,
        ),
        _accuracy_map(
            "Accuracy by cluster tightness and cluster start",
            "tightest triple span z − x",
            "x (start of the tightest triple)",
            tightness,
            cluster_start,
            _bin_edges(2, 8, 1),
            _bin_edges(0, V - 1, step),
            correct,
        ),
    ]


# ---- reading the accuracy maps ----

MIN_LISTS_TO_JUDGE = 20  # a bin with fewer lists is too noisy to state an accuracy for


@dataclass(frozen=True)
class AccuracyMarginal:
    """Accuracy per column (axis 0) or per row (axis 1) of an `AccuracyMap`, pooled over the other
    axis; NaN where no list fell. counts: the lists behind each entry."""

    accuracy: np.ndarray
    counts: np.ndarray


def accuracy_marginal(amap: AccuracyMap, axis: int) -> AccuracyMarginal:
    """`axis=0`: one entry per column bin; `axis=1`: one per row bin."""
    acc = np.nan_to_num(amap.accuracy)
    hits = (acc * amap.counts).sum(axis)
    counts = amap.counts.sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return AccuracyMarginal(np.where(counts > 0, hits / np.maximum(counts, 1), np.nan), counts)


@dataclass(frozen=True)
class SliceReading:
    """One row or column of an accuracy map read in bin order.

    judged: (bin label, accuracy) of the bins with enough lists (and a finite accuracy), in order;
    first_below: index into `judged` of the first bin below the threshold, None if none is.
    """

    judged: tuple[tuple[str, float], ...]
    first_below: int | None


def read_slice(
    labels: Sequence[str],
    accuracy: np.ndarray,
    counts: np.ndarray,
    threshold: float,
    min_count: int = MIN_LISTS_TO_JUDGE,
) -> SliceReading:
    """`labels`, `accuracy` and `counts`: [bin], one slice of a map (e.g. `amap.accuracy[0]`)."""
    judged = tuple(
        (label, float(a))
        for label, a, c in zip(labels, accuracy, counts)
        if c >= min_count and np.isfinite(a)
    )
    first = next((k for k, (_, a) in enumerate(judged) if a < threshold), None)
    return SliceReading(judged, first)


@dataclass(frozen=True)
class MapCell:
    """One cell of an accuracy map: its row and column bins, accuracy and number of lists."""

    row: int
    col: int
    row_bin: str
    col_bin: str
    accuracy: float
    count: int


def worst_cell(amap: AccuracyMap, min_count: int = MIN_LISTS_TO_JUDGE) -> MapCell | None:
    """The cell with the lowest accuracy among those with at least `min_count` lists (ties: the
    first in row-major order); None if no cell has that many."""
    acc, counts = amap.accuracy, amap.counts
    valid = [(i, j) for i in range(acc.shape[0]) for j in range(acc.shape[1]) if counts[i, j] >= min_count]
    if not valid:
        return None
    i, j = min(valid, key=lambda ij: acc[ij])
    return MapCell(i, j, amap.row_bins[i], amap.col_bins[j], float(acc[i, j]), int(counts[i, j]))


@dataclass(frozen=True)
class AccuracyMapReading:
    """Where accuracy falls, read from `family_accuracy_maps`' two maps.

    Each feature of the first map is read along the slice that holds the other feature at its
    most ordinary value (the families are mixed, so pooled marginals would confound the two):
    by_smallest_value along the smallest-gap row, by_largest_gap along the smallest-value column.
    worst: the first map's worst cell with enough lists. tight_spans: (span label, accuracy) per
    tightest-triple span of the second map, pooled over the triple's start, for the spans with
    enough lists (empty without a second map).
    """

    by_smallest_value: SliceReading
    by_largest_gap: SliceReading
    worst: MapCell | None
    tight_spans: tuple[tuple[str, float], ...]


def read_accuracy_maps(
    maps: Sequence[AccuracyMap], threshold: float = 0.9, min_count: int = MIN_LISTS_TO_JUDGE
) -> AccuracyMapReading:
    gap_map = maps[0]
    acc, counts = gap_map.accuracy, gap_map.counts
    spans: tuple[tuple[str, float], ...] = ()
    if len(maps) > 1:
        tight = maps[1]
        by_tight = accuracy_marginal(tight, 1)
        spans = tuple(
            (label, float(a))
            for label, a, c in zip(tight.row_bins, by_tight.accuracy, by_tight.counts)
            if c >= min_count
        )
    return AccuracyMapReading(
        by_smallest_value=read_slice(gap_map.col_bins, acc[0], counts[0], threshold, min_count),
        by_largest_gap=read_slice(gap_map.row_bins, acc[:, 0], counts[:, 0], threshold, min_count),
        worst=worst_cell(gap_map, min_count),
        tight_spans=spans,
    )


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
