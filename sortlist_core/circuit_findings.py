"""Measurements read off the circuit matrices of `circuits.py`: how diagonal the OV circuits
are, whether destination tokens prefer larger sources in the QK circuit, what the positional QK
circuit and the direct path favour, and which head plays which copying role.

Pure functions of numpy arrays (and a `HeadResponsibility`) returning small frozen dataclasses of
numbers; the app words them (`sortlist_app/lessons/`). Only value tokens (0..max_value) are
measured: SEP is never a prediction target, so its row and column are left out everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float

from .circuits import HeadResponsibility


def top_tokens(scores: Float[np.ndarray, " token"], k: int = 3) -> list[int]:
    """The k token indices with the highest scores, best first (ties: the smaller index first)."""
    return [int(t) for t in np.argsort(-scores, kind="stable")[:k]]


def _rank(row: Float[np.ndarray, " token"], token: int) -> int:
    """1-based rank of `row[token]` within `row` (ties share the better rank)."""
    return int((row > row[token]).sum()) + 1


@dataclass(frozen=True)
class CopyingRoles:
    """major: the head that is the stronger copier of the most value tokens; minor: of the fewest
    (ties: the lower head index; with one head both are that head)."""

    major: int
    minor: int


def copying_roles(resp: HeadResponsibility) -> CopyingRoles:
    counts = [len(c) for c in resp.copies]
    major = int(np.argmax(counts))
    minor = int(np.argmin(counts)) if len(counts) > 1 else major
    return CopyingRoles(major, minor)


@dataclass(frozen=True)
class OvDiagonality:
    """Does attending to token t make the model predict t?

    self_copy_fraction: share of value tokens whose OV row, summed over heads, peaks at t itself.
    own_copy_fraction[h]: the same share within head h's own OV circuit, over the tokens head h
    owns (0.0 for a head that owns none).
    minor_on_major: mean OV diagonal of the minor head over the tokens the major head owns
    (negative: the minor head pushes those tokens down, anti-copying; 0.0 if there are none).
    """

    self_copy_fraction: float
    own_copy_fraction: tuple[float, ...]
    roles: CopyingRoles
    minor_on_major: float


def ov_diagonality(full_ov: Float[np.ndarray, "head src pred"], resp: HeadResponsibility) -> OvDiagonality:
    """`full_ov: [head src pred]` over the whole vocabulary (`circuits.full_ov`)."""
    n_values = len(resp.owner)
    summed = full_ov.sum(0)[:n_values, :n_values]  # both heads together
    self_fraction = float(np.mean(summed.argmax(1) == np.arange(n_values)))
    own = tuple(
        float(np.mean([full_ov[h, t, :n_values].argmax() == t for t in resp.copies[h]]))
        if resp.copies[h]
        else 0.0
        for h in range(full_ov.shape[0])
    )
    roles = copying_roles(resp)
    # Does the minor head write *against* the tokens the major head copies (anti-copying)?
    major_tokens = resp.copies[roles.major]
    minor_on_major = float(np.mean(resp.copy_strength[roles.minor, major_tokens])) if major_tokens else 0.0
    return OvDiagonality(self_fraction, own, roles, minor_on_major)


@dataclass(frozen=True)
class QkLargerPreference:
    """For destination tokens d = 1 .. max_value-1, in the head that copies d+1 (the head that
    should find it): the share of d whose mean score over larger sources beats the mean over
    smaller ones (d itself excluded), and the share whose best larger source is exactly d+1."""

    larger_fraction: float
    next_top_fraction: float
    n_dest: int


def qk_larger_preference(
    full_qk: Float[np.ndarray, "head dest src"], resp: HeadResponsibility
) -> QkLargerPreference:
    """`full_qk: [head dest src]` over the whole vocabulary (`circuits.full_qk`)."""
    n_values = len(resp.owner)
    prefers_larger, next_is_top = [], []
    for d in range(1, n_values - 1):  # d = 0 has no smaller source, the largest value no larger one
        row = full_qk[resp.owner[d + 1], d, :n_values]
        prefers_larger.append(row[d + 1 :].mean() > row[:d].mean())
        next_is_top.append(int(np.argmax(row[d + 1 :])) == 0)
    return QkLargerPreference(
        larger_fraction=float(np.mean(prefers_larger)),
        next_top_fraction=float(np.mean(next_is_top)),
        n_dest=len(prefers_larger),
    )


@dataclass(frozen=True)
class DestinationScores:
    """One destination token d's QK scores over the value tokens, per head.

    top_sources[h]: the 3 best-scored sources of head h, best first. next_rank[h]: the rank (1 =
    best) of d+1 in head h; None when d is the largest value. zero_rank[h]: the rank of source 0.
    responsible_head: the head that copies d+1 (d itself when d is the largest value);
    responsible_best: its best-scored source. larger_minus_smaller: in that head, the mean score
    of the sources above d minus that of d and below (0.0 if either side is empty).
    """

    dest: int
    top_sources: tuple[tuple[int, ...], ...]
    next_rank: tuple[int, ...] | None
    zero_rank: tuple[int, ...]
    responsible_head: int
    responsible_best: int
    larger_minus_smaller: float


def destination_scores(
    scores: Float[np.ndarray, "head src"], dest: int, resp: HeadResponsibility
) -> DestinationScores:
    """`scores: [head src]` over the whole vocabulary (`circuits.qk_scores`); only value tokens
    are ranked (SEP is never a source whose score matters in the sorted half)."""
    n_values = len(resp.owner)
    values = scores[:, :n_values]
    heads = range(values.shape[0])
    has_next = dest + 1 < n_values
    responsible = resp.owner[dest + 1] if has_next else resp.owner[dest]
    smaller = values[responsible, : dest + 1]
    larger = values[responsible, dest + 1 :]
    return DestinationScores(
        dest=dest,
        top_sources=tuple(tuple(top_tokens(values[h])) for h in heads),
        next_rank=tuple(_rank(values[h], dest + 1) for h in heads) if has_next else None,
        zero_rank=tuple(_rank(values[h], 0) for h in heads),
        responsible_head=responsible,
        responsible_best=top_tokens(values[responsible], 1)[0],
        larger_minus_smaller=float(larger.mean() - smaller.mean()) if larger.size and smaller.size else 0.0,
    )


@dataclass(frozen=True)
class PositionalPreferences:
    """What the positional QK circuit favours, per head.

    sep_value_correlation[h]: correlation, in SEP's row, between a key token's value and its score
    (negative: SEP is pulled towards small values, i.e. towards the first sorted token).
    late_small_bias[h]: over the late query positions `late_first..late_last` (the second half of
    the sorted positions), mean score of the `n_small` smallest tokens minus that of the others
    (negative: a bias against very small tokens there).
    """

    sep_value_correlation: tuple[float, ...]
    late_first: int
    late_last: int
    n_small: int
    late_small_bias: tuple[float, ...]


def positional_preferences(
    pos_qk: Float[np.ndarray, "head query_pos key_token"], list_len: int, n_small: int = 10
) -> PositionalPreferences:
    """`pos_qk: [head query_pos key_token]` (`circuits.positional_qk`); SEP sits at `list_len`."""
    n_values = pos_qk.shape[-1] - 1
    heads = range(pos_qk.shape[0])
    sep_rows = pos_qk[:, list_len, :n_values]  # [head token]
    tokens = np.arange(n_values)
    corr = tuple(float(np.corrcoef(tokens, sep_rows[h])[0, 1]) for h in heads)
    late_first = list_len + list_len // 2
    late = pos_qk[:, late_first : 2 * list_len, :n_values]  # second half of the sorted positions
    small = min(n_small, n_values)
    bias = tuple(float(late[h, :, :small].mean() - late[h, :, small:].mean()) for h in heads)
    return PositionalPreferences(corr, late_first, 2 * list_len - 1, small, bias)


@dataclass(frozen=True)
class DirectPathPreference:
    """Does the direct path `W_E W_U` favour d+1 over d+2 as the prediction after token d?

    Over d = 0 .. max_value-2: next_fraction is the share with a positive gap
    `direct[d, d+1] - direct[d, d+2]`, mean_gap its mean."""

    next_fraction: float
    mean_gap: float
    n_dest: int


def direct_path_preference(direct: Float[np.ndarray, "input_token pred"]) -> DirectPathPreference:
    """`direct: [input_token pred]` over the whole vocabulary (`circuits.direct_path`)."""
    n_values = direct.shape[-1] - 1
    ds = np.arange(n_values - 2)
    gap = direct[ds, ds + 1] - direct[ds, ds + 2]
    return DirectPathPreference(float(np.mean(gap > 0)), float(gap.mean()), len(ds))
