"""Measurements the pages used to do themselves, now in `sortlist_core`: predictions on given
lists, attention misses on predicted lists, the other heads' push in the mystery cases, the
write-up's adversarial lists for any task and a search's failure rate by source."""

from __future__ import annotations

import numpy as np

from sortlist_core.adversarial import (
    SearchResult,
    search_adversarial,
    writeup_adversarial_lists,
    wrong_rate_by_source,
)
from sortlist_core.attention import attention_patterns, next_larger_misses, next_larger_misses_on
from sortlist_core.data import sequence_tokens
from sortlist_core.metrics import predict_lists, sequence_predictions
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, dla_yz, other_heads_push


def test_predict_lists_is_sequence_predictions_on_the_lists(reference_model, eval_toks):
    lists = [row[:10] for row in eval_toks[:5].tolist()]
    got = predict_lists(reference_model, lists)
    want = sequence_predictions(reference_model, eval_toks[:5])
    assert [p.predicted for p in got] == [p.predicted for p in want]
    assert all(np.allclose(a.probs, b.probs, atol=1e-6) for a, b in zip(got, want))


def test_next_larger_misses_on_predictions_matches_the_arrays(reference_model, eval_toks):
    toks = eval_toks[:50]
    lists = [row[:10] for row in toks.tolist()]
    preds = predict_lists(reference_model, lists)
    patterns = attention_patterns(reference_model, toks)
    correct = np.array([[t == q for t, q in zip(p.targets, p.predicted)] for p in preds])
    want = next_larger_misses(patterns, toks.numpy(), correct, 10)
    assert next_larger_misses_on(patterns, preds, 51) == want
    assert np.array_equal(np.array([sequence_tokens(x, 51) for x in lists]), toks.numpy())
    assert 0 < want.n_misses


def test_other_heads_push_swaps_with_the_heads(reference_model, swapped_model):
    specs = [(lst, xyz, dla_yz(reference_model, lst, *xyz).head) for lst, xyz in DEFAULT_MYSTERY_LISTS]
    pushes = other_heads_push(reference_model, specs)
    assert pushes == [dla_yz(reference_model, lst, *xyz, head=1 - h).push_to_y for lst, xyz, h in specs]
    swapped = other_heads_push(swapped_model, [(lst, xyz, 1 - h) for lst, xyz, h in specs])
    assert np.allclose(swapped, pushes, atol=1e-4)


def test_writeup_adversarial_lists_for_any_task():
    assert writeup_adversarial_lists(10, 50) == {
        "high": (0, *range(40, 49)),
        "evens": (5, *range(30, 48, 2)),
    }
    assert writeup_adversarial_lists(6, 20) == {
        "high": (0, 14, 15, 16, 17, 18),
        "evens": (5, 8, 10, 12, 14, 16),
    }
    assert writeup_adversarial_lists(3, 4) == {"high": (0, 1, 2)}  # no room for the evens
    for lists in (writeup_adversarial_lists(4, 12), writeup_adversarial_lists(10, 50)):
        assert all(len(set(x)) == len(x) for x in lists.values())


def test_wrong_rate_by_source(reference_model):
    result = search_adversarial(reference_model, budget=512, seed=0)
    rates = wrong_rate_by_source(result)
    assert rates and set(rates) <= set(result.scored_by_family)
    for family, rate in rates.items():
        assert rate == result.wrong_by_family[family] / result.scored_by_family[family]
    empty = SearchResult(
        **{**result.__dict__, "scored_by_family": {"high": 0}, "wrong_by_family": {"high": 0}}
    )
    assert wrong_rate_by_source(empty) == {}
