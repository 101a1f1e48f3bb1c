"""Accuracy maps over the structured list families (`list_families`): how often the model sorts
a list entirely right, binned by the list's largest gap and smallest value, and by its
tightest triple's span and start; and their reading (the slices, the worst cell, the spans)
that the Adversarial page phrases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .checkpoint import LoadedModel
from .list_families import FAMILIES, generate_family, score_lists


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
