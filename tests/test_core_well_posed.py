"""sortlist_core.well_posed: a winner must beat the runner-up by a margin relative to the scores'
scale, whatever that scale is; otherwise the next candidate, or a Skip with its reason."""

from __future__ import annotations

import numpy as np

from sortlist_core.well_posed import Instance, Skip, clear_answer, is_clear, pick_instance, winner


def test_winner_gap_and_scale():
    w = winner([0.1, 0.5, 0.3, -0.5])
    assert (w.index, round(w.gap, 6), round(w.scale, 6)) == (1, 0.2, 1.0)
    assert winner([0.9, 0.2, 0.5], lower_is_better=True).index == 1
    assert winner([np.nan, 1.0, 0.0]).index == 1


def test_margin_is_relative_to_the_scale():
    # the same shape at the original model's scale (~0.002) and the bundled model's (~0.4)
    small = np.array([0.0010, 0.0021, 0.0019, -0.0004])
    large = small * 200
    assert is_clear(winner(small)) == is_clear(winner(large))
    assert is_clear(winner(small), margin=0.05)  # 0.0002 / 0.0025 = 8%
    assert not is_clear(winner(small), margin=0.10)


def test_ties_and_constant_scores_are_not_clear():
    assert not is_clear(winner([1.0, 1.0, 0.0]))
    assert not is_clear(winner([1.0, 1.0, 1.0]))  # e.g. every position 100% correct


def test_pick_instance_takes_the_first_clear_candidate_or_skips():
    scores = {25: [0.5, 0.5, 0.1], 30: [0.1, 0.9, 0.2], 40: [0.0, 1.0, 0.0]}
    picked = pick_instance([25, 30, 40], scores.__getitem__)
    assert isinstance(picked, Instance) and picked.value == 30 and picked.winner.index == 1
    skipped = pick_instance([25], scores.__getitem__, reason="every destination is a tie")
    assert skipped == Skip("every destination is a tie")
    assert isinstance(clear_answer([0.2, 0.9]), Instance)
    assert isinstance(clear_answer([1.0, 1.0], reason="all equal"), Skip)


def test_two_candidates_are_judged_against_their_magnitude():
    # with two heads the range is the gap itself: the magnitude keeps a near-tie a near-tie
    assert is_clear(winner([1.30, 0.84]))
    assert not is_clear(winner([0.840, 0.839]))
    assert not is_clear(winner([0.0, 0.0]))
