"""The measurements behind the prose (`circuit_findings`, and the summaries in `attention`,
`ablation`, `metrics`, `adversarial`, `mystery`): small hand-made arrays whose answer is known by
construction, plus the reference checkpoint and its head-swapped copy where a result is per head."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sortlist_core.ablation import AblationResult, importance_contrast
from sortlist_core.adversarial import (
    AccuracyMap,
    FamilyRates,
    accuracy_marginal,
    read_accuracy_maps,
    read_slice,
    worst_cell,
)
from sortlist_core.attention import AttentionClaims, attention_claims, attention_patterns, next_larger_misses
from sortlist_core.circuit_findings import (
    copying_roles,
    destination_scores,
    direct_path_preference,
    ov_diagonality,
    positional_preferences,
    qk_larger_preference,
    top_tokens,
)
from sortlist_core.circuits import (
    direct_path,
    full_ov,
    full_qk,
    head_responsibility,
    positional_qk,
    responsibility_from_copy_strength,
)
from sortlist_core.metrics import Metrics
from sortlist_core.mystery import (
    DEFAULT_MYSTERY_LISTS,
    MysteryCase,
    OffsetProfile,
    dla_yz,
    offset_shapes,
    qk_puzzle,
    tally_cases,
)


def owned_by(owner: list[int], n_heads: int):
    """A `HeadResponsibility` where head `owner[t]` is the stronger copier of token t."""
    diag = np.zeros((n_heads, len(owner)))
    diag[owner, np.arange(len(owner))] = 1.0
    return responsibility_from_copy_strength(diag)


# --------------------------------------------------------------------------- responsibility, roles


def test_responsibility_from_copy_strength_runs_and_copies():
    resp = owned_by([0, 0, 1, 1, 1, 0], 3)
    assert resp.owner == [0, 0, 1, 1, 1, 0]
    assert [(r.head, r.start, r.end) for r in resp.ranges] == [(0, 0, 1), (1, 2, 4), (0, 5, 5)]
    assert resp.copies == [[0, 1, 5], [2, 3, 4], []]


def test_copying_roles():
    two = copying_roles(owned_by([0, 1, 1, 1, 0, 1, 1], 2))
    assert (two.major, two.minor) == (1, 0)
    # a head that owns nothing is the minor one
    three = copying_roles(owned_by([0, 0, 2, 0, 2], 3))
    assert (three.major, three.minor) == (0, 1)
    one = copying_roles(owned_by([0, 0, 0], 1))
    assert (one.major, one.minor) == (0, 0)


def test_top_tokens_best_first_ties_by_index():
    assert top_tokens(np.array([0.1, 0.9, 0.5, 0.9, -1.0])) == [1, 3, 2]
    assert top_tokens(np.array([3.0, 1.0, 2.0]), 1) == [0]


# --------------------------------------------------------------------------- OV


def _ov_with_diagonal(diag: np.ndarray) -> np.ndarray:
    """[head src pred] over values + SEP: each head's OV is diagonal with `diag[h]` on it."""
    n_heads, n_values = diag.shape
    ov = np.zeros((n_heads, n_values + 1, n_values + 1))
    for h in range(n_heads):
        ov[h, np.arange(n_values), np.arange(n_values)] = diag[h]
    return ov


def test_ov_diagonality_clean_copying_and_anti_copying():
    # head 0 copies tokens 0-1, head 1 copies 2-5; head 0 writes -0.5 on head 1's tokens
    diag = np.array([[2.0, 2.0, -0.5, -0.5, -0.5, -0.5], [0.1, 0.1, 3.0, 3.0, 3.0, 3.0]])
    ov = _ov_with_diagonal(diag)
    ov[:, :, -1] = 100.0  # SEP as a prediction never counts
    resp = responsibility_from_copy_strength(diag)
    result = ov_diagonality(ov, resp)
    assert result.self_copy_fraction == 1.0
    assert result.own_copy_fraction == (1.0, 1.0)
    assert (result.roles.major, result.roles.minor) == (1, 0)
    assert result.minor_on_major == pytest.approx(-0.5)


def test_ov_diagonality_counts_rows_that_peak_elsewhere():
    diag = np.array([[2.0, 2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 1.0]])
    ov = _ov_with_diagonal(diag)
    ov[1, 4, 0] = 10.0  # attending to 4 in head 1 predicts 0, in both heads together too
    result = ov_diagonality(ov, responsibility_from_copy_strength(diag))
    assert result.self_copy_fraction == pytest.approx(4 / 5)
    assert result.own_copy_fraction == (1.0, pytest.approx(2 / 3))
    assert result.minor_on_major == 0.0  # head 0 writes nothing on head 1's tokens


def test_ov_diagonality_head_without_tokens():
    diag = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    result = ov_diagonality(_ov_with_diagonal(diag), responsibility_from_copy_strength(diag))
    assert result.own_copy_fraction == (1.0, 0.0)
    assert result.minor_on_major == 0.0


# --------------------------------------------------------------------------- QK


def test_qk_larger_preference_clean_rule():
    n = 7  # values 0..6, SEP at index 7
    qk = np.zeros((1, n + 1, n + 1))
    for d in range(n):
        qk[0, d, d + 1 : n] = 0.5  # larger sources score higher ...
        if d + 1 < n:
            qk[0, d, d + 1] = 1.0  # ... and the next larger one best
        qk[0, d, d] = 100.0  # d itself is neither smaller nor larger: it must not count
    result = qk_larger_preference(qk, owned_by([0] * n, 1))
    assert (result.larger_fraction, result.next_top_fraction, result.n_dest) == (1.0, 1.0, n - 2)


def test_qk_larger_preference_reads_the_head_that_copies_next():
    n = 6
    s = np.arange(n + 1, dtype=float)
    qk = np.zeros((2, n + 1, n + 1))
    qk[0] = s[None, :]  # head 0: larger is better, the largest best (not the next one)
    qk[1] = -s[None, :]  # head 1: smaller is better
    # head 0 copies 0..3, head 1 copies 4..5: destinations d = 1, 2 use head 0 (the copier of d+1),
    # d = 3, 4 use head 1
    result = qk_larger_preference(qk, owned_by([0, 0, 0, 0, 1, 1], 2))
    assert result.n_dest == 4
    assert result.larger_fraction == 0.5
    # head 1's best larger source is d+1 (d = 3, 4); head 0's is the largest value, never d+1 here
    assert result.next_top_fraction == 0.5


def test_destination_scores_ranks_and_responsible_head():
    sep = 99.0  # the SEP column must never be ranked
    scores = np.array([[0.1, 0.2, 0.3, 0.9, 0.5, 0.4, sep], [0.9, 0.0, 0.0, 0.1, 0.8, 0.2, sep]])
    resp = owned_by([0, 0, 0, 1, 1, 1], 2)
    r = destination_scores(scores, 2, resp)
    assert r.top_sources == ((3, 4, 5), (0, 4, 5))
    assert r.next_rank == (1, 4)  # token 3: best in head 0; 0.9, 0.8, 0.2 beat it in head 1
    assert r.zero_rank == (6, 1)
    assert r.responsible_head == 1 and r.responsible_best == 0
    assert r.larger_minus_smaller == pytest.approx(np.mean([0.1, 0.8, 0.2]) - np.mean([0.9, 0.0, 0.0]))
    last = destination_scores(scores, 5, resp)
    assert last.next_rank is None and last.responsible_head == 1  # no d+1: the head copying d
    assert last.larger_minus_smaller == 0.0  # nothing above the largest value


# --------------------------------------------------------------------------- positional, direct path


def test_positional_preferences():
    L, n = 4, 12
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(2, 2 * L + 1, n + 1))
    pos[:, :, -1] = 1000.0  # the SEP key is never measured
    tokens = np.arange(n)
    pos[0, L, :n] = -tokens  # head 0: SEP prefers small values
    pos[1, L, :n] = 2.0 * tokens
    late = slice(L + L // 2, 2 * L)  # query positions 6, 7
    pos[:, late, :n] = 0.0
    pos[0, late, :3] = -1.0  # head 0: late positions avoid the 3 smallest tokens
    pos[:, L + 1, :3] = 50.0  # an early sorted position: not part of the measurement
    prefs = positional_preferences(pos, L, n_small=3)
    assert prefs.sep_value_correlation == pytest.approx((-1.0, 1.0))
    assert (prefs.late_first, prefs.late_last, prefs.n_small) == (6, 7, 3)
    assert prefs.late_small_bias == pytest.approx((-1.0, 0.0))
    with warnings.catch_warnings():  # no token is left outside the "small" ones: an empty mean
        warnings.simplefilter("ignore", RuntimeWarning)
        assert positional_preferences(pos, L, n_small=50).n_small == n


def test_direct_path_preference():
    n = 6
    direct = np.zeros((n + 1, n + 1))
    d = np.arange(n - 2)
    direct[d, d + 1] = 1.0
    direct[2, 4] = 3.0  # after 2 the direct path favours 4 over 3 by 2
    pref = direct_path_preference(direct)
    assert pref.n_dest == 4
    assert pref.next_fraction == 0.75
    assert pref.mean_gap == pytest.approx((1 + 1 - 2 + 1) / 4)


# --------------------------------------------------------------------------- attention, ablation, metrics


def _one_hot_patterns(top: list[list[list[int]]], seq: int) -> np.ndarray:
    """[list head dest src] patterns where top[list][head][dest] is the attended source."""
    out = np.zeros((len(top), len(top[0]), seq, seq))
    for i, heads in enumerate(top):
        for h, row in enumerate(heads):
            out[i, h, np.arange(seq), row] = 1.0
    return out


def test_next_larger_misses_by_construction():
    L = 3
    # unsorted 5 1 3, SEP, sorted 1 3 5: position 4 (token 1) should find a 3, position 5 a 5
    toks = np.array([[5, 1, 3, 9, 1, 3, 5], [5, 1, 3, 9, 1, 3, 5]])
    fill = [0] * 4
    top = [
        # list 0: position 4 finds 3 (key 2) in both heads; position 5 finds no 5 (keys 1, 3)
        [fill + [2, 1, 0], fill + [2, 3, 0]],
        # list 1: position 4 misses but head 0 skips ahead to 5 (key 0); position 5 finds 5 (key 6)
        [fill + [0, 6, 0], fill + [1, 0, 0]],
    ]
    correct = np.array([[True, True, False], [True, True, True]])
    misses = next_larger_misses(_one_hot_patterns(top, 7), toks, correct, L)
    assert misses.n_misses == 2
    assert misses.skip_fraction == 0.5  # list 1's miss skips ahead; list 0's has nothing 2 ahead
    assert misses.still_correct_fraction == 0.5  # list 0's prediction at 5 is wrong, list 1's at 4 right
    hits = [[fill + [2, 6, 0], fill + [2, 6, 0]]]
    none = next_larger_misses(_one_hot_patterns(hits, 7), toks[:1], correct[:1], L)
    assert (none.n_misses, none.skip_fraction, none.still_correct_fraction) == (0, 0.0, 1.0)


def test_skipping_ahead_means_the_second_or_third_next_value():
    L = 5
    toks = np.array([[9, 7, 5, 3, 1, 20, 1, 3, 5, 7, 9]] * 2)  # sorted positions 6..10
    fill = [0] * 6
    top = [
        # list 0: position 6 (token 1) finds 5 (2nd next), 7 (token 3) finds 9 (3rd next),
        # 8 (token 5) looks back at 1, 9 (token 7) finds the next value 9
        [fill + [2, 0, 4, 0, 0]],
        # list 1: position 6 (token 1) finds 9, its 4th next value; positions 7-9 find theirs
        [fill + [0, 2, 1, 10, 0]],
    ]
    misses = next_larger_misses(_one_hot_patterns(top, 11), toks, np.ones((2, L), dtype=bool), L)
    assert misses.n_misses == 4
    assert misses.skip_fraction == 0.5
    assert misses.still_correct_fraction == 1.0


def test_next_larger_misses_agree_with_attention_claims(reference_model, eval_toks):
    L = reference_model.config.list_len
    claims = attention_claims(reference_model, eval_toks)
    toks = eval_toks.numpy()
    correct = np.ones((toks.shape[0], L), dtype=bool)
    misses = next_larger_misses(attention_patterns(reference_model, eval_toks), toks, correct, L)
    n_positions = toks.shape[0] * (L - 1)
    assert misses.n_misses == round((1 - claims.attends_next_larger_any) * n_positions)
    assert 0 < misses.n_misses < n_positions


def test_attention_claims_best_heads():
    claims = AttentionClaims([0.2, 0.7, 0.7], 0.8, [0.5, 0.1, 0.4], 0.6, 10)
    assert (claims.sep_best_head, claims.next_larger_best_head) == (1, 0)


def test_importance_contrast():
    c = importance_contrast(AblationResult(0.1, [1.0, 5.0], [0.0, 0.0]))
    assert (c.most_important, c.least_important, c.cost_ratio) == (1, 0, 5.0)
    c = importance_contrast(AblationResult(0.1, [2.0, 1.0, 2.0], [0.0] * 3))
    assert (c.most_important, c.least_important, c.cost_ratio) == (0, 1, 2.0)
    c = importance_contrast(AblationResult(0.1, [0.0, 0.0], [0.0, 0.0]))
    assert (c.most_important, c.least_important, c.cost_ratio) == (0, 1, math.inf)


def test_metrics_worst_position():
    m = Metrics(0.1, 0.9, 0.95, 0.01, 0.9, 0.5, [1.0, 0.9, 0.95, 0.9], 10)
    assert (m.worst_position, m.worst_position_accuracy) == (1, 0.9)


# --------------------------------------------------------------------------- accuracy maps


def _map(acc, counts, rows=None, cols=None) -> AccuracyMap:
    acc, counts = np.array(acc, dtype=float), np.array(counts)
    rows = rows or [f"r{i}" for i in range(acc.shape[0])]
    cols = cols or [f"c{j}" for j in range(acc.shape[1])]
    return AccuracyMap("t", "row", "col", rows, cols, acc, counts)


def test_accuracy_marginal_pools_by_count():
    amap = _map([[1.0, 0.5], [np.nan, 0.0], [np.nan, np.nan]], [[10, 30], [0, 20], [0, 0]])
    rows = accuracy_marginal(amap, 1)
    assert rows.counts.tolist() == [40, 20, 0]
    assert rows.accuracy[:2].tolist() == [0.625, 0.0] and np.isnan(rows.accuracy[2])
    cols = accuracy_marginal(amap, 0)
    assert cols.counts.tolist() == [10, 50]
    assert cols.accuracy.tolist() == pytest.approx([1.0, 0.3])


def test_read_slice_skips_thin_bins():
    labels = ["a", "b", "c", "d", "e"]
    acc = np.array([0.99, np.nan, 0.5, 0.7, 0.2])
    counts = np.array([25, 0, 5, 30, 30])
    r = read_slice(labels, acc, counts, 0.9)
    assert r.judged == (("a", 0.99), ("d", 0.7), ("e", 0.2))  # "c" has only 5 lists
    assert r.first_below == 1
    assert read_slice(labels, acc, counts, 0.1).first_below is None
    assert read_slice(labels, acc, counts, 0.9, min_count=100).judged == ()


def test_worst_cell_and_map_reading():
    gap = _map(
        [[1.0, 0.95, 0.4], [0.9, 0.1, 0.8], [0.3, np.nan, 0.0]],
        [[50, 50, 50], [50, 5, 40], [30, 0, 10]],
        rows=["1", "2", "3"],
        cols=["0", "1", "2"],
    )
    cell = worst_cell(gap)
    assert (cell.row, cell.col, cell.row_bin, cell.col_bin, cell.accuracy, cell.count) == (
        2,
        0,
        "3",
        "0",
        0.3,
        30,
    )  # (1, 1) at 0.1 and (2, 2) at 0.0 have too few lists
    assert worst_cell(gap, min_count=1000) is None
    tight = _map([[1.0, 0.0], [0.5, 0.5], [1.0, 1.0]], [[10, 10], [30, 10], [5, 5]], rows=["2", "3", "4"])
    reading = read_accuracy_maps([gap, tight], threshold=0.9)
    assert reading.by_smallest_value.judged == (("0", 1.0), ("1", 0.95), ("2", 0.4))  # row 0
    assert reading.by_smallest_value.first_below == 2
    assert reading.by_largest_gap.judged == (("1", 1.0), ("2", 0.9), ("3", 0.3))  # column 0
    assert reading.by_largest_gap.first_below == 2
    assert reading.worst == cell
    assert reading.tight_spans == (("2", 0.5), ("3", 0.5))  # span 4 has 10 lists in all
    assert read_accuracy_maps([gap]).tight_spans == ()


def test_family_rates_worst_family():
    rates = FamilyRates(("uniform", "high", "gap", "cluster"), (0.01, 0.3, 0.3, 0.1), 100)
    assert rates.worst_family == "high"


# --------------------------------------------------------------------------- mystery


def test_qk_puzzle_by_construction():
    n = 6
    qk = np.zeros((2, n + 1, n + 1))
    for d in range(n - 1):
        qk[:, d, d + 1] = 1.0
    resp = owned_by([0, 0, 1, 0, 0, 0], 2)  # head 1 copies token 2, head 0 every other token
    qk[0, 0, 2] = 5.0  # d = 0 (head 0 copies 1): 2 beats 1
    qk[0, 1, 3] = 2.0  # d = 1: head 0 prefers 3 over 2, but head 1 copies 2 and does not
    qk[1, 2, 4] = 1.5  # d = 2: head 1 prefers 4 over 3, but head 0 copies 3 and does not
    qk[0, 3, 5] = 1.0  # d = 3: a tie counts (d+2 at least as high as d+1)
    puzzle = qk_puzzle(qk, resp)
    assert puzzle.n_dest == 4
    assert puzzle.hits == (0, 3)
    ex = puzzle.example
    assert (ex.dest, ex.head, ex.score_next, ex.score_after_next) == (3, 0, 1.0, 1.0)  # the middle hit
    assert qk_puzzle(np.zeros((1, 4, 4)) + np.eye(4, k=1)[None], owned_by([0, 0, 0], 1)).example is None


def test_offset_shapes():
    nan = np.nan
    owned = np.array(
        [
            [0.2, 0.4, 1.0, -0.3, -0.1],  # boosts smaller, suppresses larger
            [nan, nan, nan, nan, nan],  # copies nothing
            [-0.2, 0.1, 2.0, 0.4, nan],  # the opposite
            [-0.5, 0.1, 1.0, -0.2, -0.2],  # lifts s - 1, but smaller tokens on the whole go down
        ]
    )
    profile = OffsetProfile([-2, -1, 0, 1, 2], owned, owned)
    shapes = offset_shapes(profile)
    assert (shapes.max_below, shapes.max_above) == (2, 2)
    a, none, c, d = shapes.heads
    assert none is None
    assert (a.below_mean, a.above_mean, a.just_below, a.just_above) == pytest.approx((0.3, -0.2, 0.4, -0.3))
    assert a.boosts_smaller_suppresses_larger
    assert (c.below_mean, c.above_mean, c.just_below, c.just_above) == pytest.approx((-0.025, 0.2, 0.05, 0.2))
    assert not c.boosts_smaller_suppresses_larger
    assert d.below_mean == pytest.approx(-0.2) and not d.boosts_smaller_suppresses_larger
    assert shapes.pattern_heads == 1


def _case(dla, attention, predicted) -> MysteryCase:
    return MysteryCase([0, 1, 2], 0, 1, 2, 0, np.array(dla), np.array(attention), predicted, 0.5, 0.5)


def test_tally_cases():
    explained = _case([[1.0, 0.2], [-0.1, 0.5]], [0.3, 0.6], predicted=1)
    not_explained = _case([[0.2, -0.1], [0.3, 0.9]], [0.6, 0.2], predicted=2)
    t = tally_cases([explained, not_explained])
    assert (t.n_cases, t.z_more_attention, t.zy_positive, t.yz_negative) == (2, 1, 1, 1)
    assert (t.y_total_larger, t.predicted_y, t.zz_bigger) == (1, 1, 1)
    assert not t.explanation_holds
    assert tally_cases([explained]).explanation_holds


# --------------------------------------------------------------------------- the reference checkpoint


def test_reference_circuit_findings(reference_model):
    resp = head_responsibility(reference_model)
    ov = ov_diagonality(full_ov(reference_model), resp)
    assert ov.self_copy_fraction == 1.0 and ov.own_copy_fraction == (1.0, 1.0)
    assert (ov.roles.major, ov.roles.minor) == (1, 0)
    assert ov.minor_on_major < 0  # head 0 anti-copies head 1's tokens
    qk = qk_larger_preference(full_qk(reference_model), resp)
    assert qk.n_dest == 49 and 0.6 <= qk.larger_fraction < 0.8 and qk.next_top_fraction < 0.5
    pos = positional_preferences(positional_qk(reference_model), reference_model.config.list_len)
    assert all(c < 0 for c in pos.sep_value_correlation)  # SEP looks for the smallest value
    assert direct_path_preference(direct_path(reference_model)).next_fraction > 0.9
    puzzle = qk_puzzle(full_qk(reference_model), resp)
    assert puzzle.n_dest == 49 and len(puzzle.hits) > 20  # the mystery's premise is common
    cases = [dla_yz(reference_model, lst, *xyz) for lst, xyz in DEFAULT_MYSTERY_LISTS]
    assert tally_cases(cases).explanation_holds


def test_circuit_findings_follow_a_head_swap(reference_model, swapped_model):
    ref_resp, sw_resp = head_responsibility(reference_model), head_responsibility(swapped_model)
    ref_ov = ov_diagonality(full_ov(reference_model), ref_resp)
    sw_ov = ov_diagonality(full_ov(swapped_model), sw_resp)
    assert (sw_ov.roles.major, sw_ov.roles.minor) == (0, 1)
    assert sw_ov.minor_on_major == pytest.approx(ref_ov.minor_on_major, rel=1e-4)
    ref_d = destination_scores(full_qk(reference_model)[:, 25], 25, ref_resp)
    sw_d = destination_scores(full_qk(swapped_model)[:, 25], 25, sw_resp)
    assert sw_d.top_sources == ref_d.top_sources[::-1]
    assert sw_d.responsible_head == 1 - ref_d.responsible_head
    L = reference_model.config.list_len
    ref_pos = positional_preferences(positional_qk(reference_model), L)
    sw_pos = positional_preferences(positional_qk(swapped_model), L)
    assert sw_pos.sep_value_correlation == pytest.approx(ref_pos.sep_value_correlation[::-1], rel=1e-4)
    # the direct path does not involve the heads
    assert direct_path_preference(direct_path(swapped_model)) == direct_path_preference(
        direct_path(reference_model)
    )
