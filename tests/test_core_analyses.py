"""Every analysis, checked against the write-up's figures on the reference checkpoint and,
where a figure is per head, against the same checkpoint with its two heads swapped."""

import numpy as np
import pytest
import torch

from sortlist_core import InvalidListError, SortedListDataset
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import (
    FAMILIES,
    family_accuracy_maps,
    generate_family,
    predict_lists,
    score_lists,
    search_adversarial,
)
from sortlist_core.attention import attention_claims, attention_patterns, top_attended_position
from sortlist_core.circuits import (
    direct_path,
    full_ov,
    full_qk,
    head_responsibility,
    position_labels,
    positional_qk,
    qk_scores,
)
from sortlist_core.data import EVAL_SIZE
from sortlist_core.metrics import evaluate, sequence_predictions
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, direct_path_experiment, dla_yz, ov_offset_profile


def r3(x: float) -> float:
    return round(x, 3)


def test_headline_metrics(reference_model, eval_toks):
    m = evaluate(reference_model, eval_toks)
    assert (r3(m.loss), r3(m.mean_prob), r3(m.median_prob), r3(m.min_prob)) == (0.039, 0.966, 0.981, 0.001)
    assert 0.99 < m.accuracy <= 1 and len(m.per_position_accuracy) == 10 and m.n_lists == EVAL_SIZE


def test_swapping_heads_changes_no_output(reference_model, swapped_model, eval_toks):
    assert r3(evaluate(swapped_model, eval_toks).loss) == 0.039


def test_mean_ablation_figures_and_swap(reference_model, swapped_model, eval_toks):
    ab = head_ablation(reference_model, eval_toks)
    assert [r3(x) for x in ab.mean] == [0.920, 4.963]
    assert ab.most_important_head == 1
    assert all(z > 0 for z in ab.zero)
    swapped = head_ablation(swapped_model, eval_toks)
    assert [r3(x) for x in swapped.mean] == [4.963, 0.920]
    assert swapped.most_important_head == 0
    assert np.allclose(swapped.zero, ab.zero[::-1], atol=1e-4)


def test_head_responsibility_and_swap(reference_model, swapped_model):
    hr = head_responsibility(reference_model)
    assert hr.copies[0] == list(range(28, 37))
    assert hr.main_range(0).label == "28–36"
    assert len(hr.owner) == 51 and set(hr.copies[1]) == set(range(51)) - set(range(28, 37))
    assert [(r.head, r.start, r.end) for r in hr.ranges] == [(1, 0, 27), (0, 28, 36), (1, 37, 50)]
    swapped = head_responsibility(swapped_model)
    assert swapped.copies[1] == list(range(28, 37)) and swapped.main_range(1).label == "28–36"


def test_attention_claims_measured(reference_model, swapped_model, eval_toks):
    c = attention_claims(reference_model, eval_toks)
    assert c.sep_attends_min[1] > 0.95 and c.sep_attends_min_any >= max(c.sep_attends_min)
    assert c.attends_next_larger[1] > c.attends_next_larger[0]
    assert c.attends_next_larger_any >= max(c.attends_next_larger)
    s = attention_claims(swapped_model, eval_toks)
    assert np.allclose(s.sep_attends_min, c.sep_attends_min[::-1])
    assert np.isclose(s.attends_next_larger_any, c.attends_next_larger_any)


def test_attention_claims_by_hand_on_one_list(reference_model):
    toks = SortedListDataset(1, seed=43).toks
    pattern = attention_patterns(reference_model, toks)[0]  # [head dest src]
    assert pattern.shape == (2, 21, 21)
    assert np.allclose(pattern.sum(-1), 1, atol=1e-5) and np.allclose(np.triu(pattern[0], 1), 0)
    sep_top = [toks[0, pattern[h, 10].argmax()].item() for h in range(2)]
    expected = np.mean([t == 4 for t in sep_top])  # 4 is the list's smallest value
    assert attention_claims(reference_model, toks).sep_attends_min_any == float(expected > 0)
    # the write-up's observation: the sorted-half 4 attends more to 7 than to 5 (in head 0.0)
    row = toks[0].tolist()
    dest = 11  # the sorted half starts with 4
    assert row[dest] == 4
    assert pattern[0, dest, row.index(7)] > pattern[0, dest, row.index(5)]
    assert top_attended_position(reference_model, toks, dest, 1) == int(pattern[1, dest].argmax())


def test_circuit_shapes_and_writeup_observations(reference_model):
    ov, qk = full_ov(reference_model), full_qk(reference_model)
    assert ov.shape == qk.shape == (2, 52, 52)
    # OV copies: for most tokens the diagonal is the row's maximum in the owning head
    owner = head_responsibility(reference_model).owner
    copies = [ov[owner[t], t].argmax() == t for t in range(51)]
    assert np.mean(copies) > 0.9
    # destination 25 attends most to 28 or 29 (the write-up's qk_bar)
    assert set(qk_scores(reference_model, 25).argmax(-1)) <= {28, 29}
    assert positional_qk(reference_model).shape == (2, 21, 52)
    labels = position_labels(10)
    assert labels[10] == "10 (SEP)" and labels[:3] == ["0", "1", "2"] and len(labels) == 21
    assert direct_path(reference_model).shape == (52, 52)
    with pytest.raises(ValueError):
        qk_scores(reference_model, 52)


def test_qk_scores_swap(reference_model, swapped_model):
    assert np.allclose(qk_scores(swapped_model, 40), qk_scores(reference_model, 40)[::-1], atol=1e-5)


def test_sequence_predictions_match_show(reference_model, eval_toks):
    preds = sequence_predictions(reference_model, eval_toks[:3])
    p = preds[0]
    assert p.unsorted == [7, 5, 47, 20, 48, 24, 11, 4, 19, 39]
    assert p.targets == sorted(p.unsorted) and p.probs.shape == (10, 52)
    assert np.allclose(p.probs.sum(-1), 1, atol=1e-5)
    assert p.position_labels[0] == "SEP (10)" and p.vocab[-1] == "SEP"
    assert p.wrong == [i for i in range(10) if p.predicted[i] != p.targets[i]]
    assert predict_lists(reference_model, [p.unsorted])[0].predicted == p.predicted


def test_writeup_adversarial_presets_fail(reference_model):
    presets = [[0, *range(40, 49)], [5, *range(30, 48, 2)]]
    preds = predict_lists(reference_model, presets)
    assert all(not p.correct for p in preds)
    # the big gap makes the token before it predict something other than the next value
    assert preds[0].wrong and preds[0].targets[1] == 40


def test_generators_respect_their_family():
    g = torch.Generator().manual_seed(0)
    for family in FAMILIES:
        lists = generate_family(family, 300, 10, 50, g)
        assert lists.shape == (300, 10)
        assert all(len(set(row)) == 10 for row in lists.tolist()) and lists.min() >= 0 and lists.max() <= 50
    high = generate_family("high", 200, 10, 50, g).sort(-1).values
    assert (high[:, 0] >= 31).all()
    gap = generate_family("gap", 200, 10, 50, g).sort(-1).values
    assert (gap.diff(dim=-1).max(-1).values >= 17).all()
    cluster = generate_family("cluster", 200, 10, 50, g).sort(-1).values
    assert ((cluster[:, 2:] - cluster[:, :-2]).min(-1).values <= 4).all()
    with pytest.raises(ValueError, match="unknown family"):
        generate_family("nope", 1, 10, 50, g)


def test_search_finds_real_failures(reference_model):
    result = search_adversarial(reference_model, budget=4096, seed=1, batch_size=1024)
    assert result.n_scored == 4096 and result.examples
    assert sum(result.scored_by_family.values()) == 4096
    margins = [e.margin for e in result.examples]
    assert margins == sorted(margins) and margins[0] < 0
    recheck = predict_lists(reference_model, [e.unsorted for e in result.examples])
    for example, pred in zip(result.examples, recheck, strict=True):
        assert pred.wrong == example.wrong_positions != []
    again = search_adversarial(reference_model, budget=4096, seed=1, batch_size=1024)
    assert [e.unsorted for e in again.examples] == [e.unsorted for e in result.examples]


def test_search_progress_and_stop(reference_model):
    seen = []
    search_adversarial(
        reference_model, budget=3000, batch_size=1000, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1000, 3000), (2000, 3000), (3000, 3000)]
    stopped = search_adversarial(reference_model, budget=5000, batch_size=1000, should_stop=lambda: True)
    assert stopped.n_scored == 0 and stopped.examples == []
    with pytest.raises(ValueError):
        search_adversarial(reference_model, budget=0)


def test_score_lists_margin_sign(reference_model):
    lists = torch.tensor([[0, *range(40, 49)], sorted([7, 5, 47, 20, 48, 24, 11, 4, 19, 39])])
    margin, n_wrong = score_lists(reference_model, lists)
    assert margin[0] < 0 < margin[1] and n_wrong[0] >= 1 and n_wrong[1] == 0


def test_family_accuracy_maps(reference_model):
    maps = family_accuracy_maps(reference_model, n_per_family=500)
    assert len(maps) == 2
    for m in maps:
        assert m.accuracy.shape == m.counts.shape == (len(m.row_bins), len(m.col_bins))
        filled = m.counts > 0
        assert np.all(np.isnan(m.accuracy[~filled])) and np.all(
            (m.accuracy[filled] >= 0) & (m.accuracy[filled] <= 1)
        )
        assert m.counts.sum() > 0
    gap_map = maps[0]
    # small gaps with small values (the training distribution) beat the largest gaps
    assert gap_map.accuracy[0, 0] > np.nanmean(gap_map.accuracy[-3:, :])


def test_mystery_dla_matches_writeup_story(reference_model):
    heads = []
    for lst, (x, y, z) in DEFAULT_MYSTERY_LISTS:
        case = dla_yz(reference_model, lst, x, y, z)
        heads.append(case.head)
        (yy, yz), (zy, zz) = case.dla  # rows: prediction y/z; columns: source y/z
        assert yy > 0 and zz > 0  # each source boosts itself
        assert zy < 0 < yz  # y suppresses z; z boosts y
        assert case.total_to_y > case.total_to_z and case.predicted == y
    assert heads == [1, 1, 0, 0]


def test_mystery_head_follows_swap(swapped_model):
    lst, xyz = DEFAULT_MYSTERY_LISTS[0]
    assert dla_yz(swapped_model, lst, *xyz).head == 0


def test_mystery_input_validation(reference_model):
    lst = DEFAULT_MYSTERY_LISTS[0][0]
    with pytest.raises(InvalidListError, match="not in the list"):
        dla_yz(reference_model, lst, 14, 16, 17)
    with pytest.raises(InvalidListError, match="x < y < z"):
        dla_yz(reference_model, lst, 15, 14, 17)
    with pytest.raises(InvalidListError, match="right after x"):
        dla_yz(reference_model, lst, 14, 17, 25)
    with pytest.raises(InvalidListError, match="head"):
        dla_yz(reference_model, lst, 14, 15, 17, head=5)


def test_ov_offset_profile_shape_of_the_resolution(reference_model):
    p = ov_offset_profile(reference_model, max_offset=3)
    assert p.offsets == [-3, -2, -1, 0, 1, 2, 3]
    rel = p.relative_owned
    assert np.allclose(rel[:, 3], 1)
    assert (rel[:, 2] > 0).all() and (rel[:, 4] < 0).all()  # boost just below, suppress just above


def test_direct_path_experiment(reference_model):
    e = direct_path_experiment(reference_model, n_per_d=10)
    assert e.cluster_acc_with > 0.95 and e.control_acc_with > 0.95
    assert e.cluster_acc_without < e.cluster_acc_with  # the path does help
    assert not e.becomes_adversarial  # ... but removing it hurts d+2 lists no more than others
    assert e.n_per_group == 49 * 10
