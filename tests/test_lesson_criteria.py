"""The lesson-model criteria: the block search by construction, and the measured verdicts on the
reference (which tells the write-up's story), its heads-swapped copy and the bundled model
(which does not)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from sortlist_core.adversarial import family_failure_rates
from sortlist_core.checkpoint import model_from_state_dict
from sortlist_core.config import ModelConfig
from sortlist_core.lesson_criteria import (
    CriterionResult,
    family_failures,
    lesson_criteria,
    nearest_block,
    selection_key,
)
from sortlist_core.paths import load_bundled_model
from sortlist_core.training import init_state_dict
from tests.conftest import REPO_ROOT

NAMES = [
    "dominant_head",
    "minor_head_block",
    "sep_fails_high",
    "large_gap_adversarial",
    "qk_puzzle",
    "puzzle_not_adversarial",
    "loss_range",
]


def by_name(results: list[CriterionResult]) -> dict[str, CriterionResult]:
    return {r.name: r for r in results}


@pytest.mark.parametrize(
    ("tokens", "start", "end", "strays"),
    [
        (range(28, 37), 28, 36, 0),  # the reference's block
        ([*range(10, 15), 40], 10, 14, 1),  # one stray value outside
        ([10, 11, 13, 14, 15], 10, 15, 1),  # one hole inside
        ([0, 1, 2, 3, 4, 20, 21, 22, 23, 24], 0, 4, 5),  # two blocks: the other one's values are strays
        ([7, 8], 4, 8, 3),  # too few values: the nearest 5-block (lowest first) needs 3 more
    ],
)
def test_nearest_block(tokens, start, end, strays):
    block = nearest_block(list(tokens), 51)
    assert block is not None and (block.start, block.end, block.strays) == (start, end, strays)


def test_nearest_block_needs_room():
    assert nearest_block([0, 1], 4) is None
    assert nearest_block([0, 1, 2, 3], 4, min_len=4).strays == 0


def test_family_failures_match_family_failure_rates(reference_model):
    fails = family_failures(reference_model)
    rates = family_failure_rates(reference_model)
    assert fails.any_wrong == dict(zip(rates.families, rates.wrong, strict=True))
    # a wrong SEP prediction is one way for a list to go wrong
    assert all(fails.sep_wrong[f] <= fails.any_wrong[f] for f in rates.families)


def test_reference_meets_every_criterion(reference_model):
    results = lesson_criteria(reference_model)
    assert [r.name for r in results] == NAMES
    assert all(r.passed for r in results), [r.text for r in results if not r.passed]
    got = by_name(results)
    assert round(got["dominant_head"].value, 2) == round(4.963 / 0.920, 2)
    assert "head 1 raises the loss by 4.963, head 0 by 0.920" in got["dominant_head"].text
    assert (
        "weaker head 0" in got["minor_head_block"].text
        and "28–36, 0 tokens off" in got["minor_head_block"].text
    )
    assert round(got["loss_range"].value, 3) == 0.039


def test_swapped_reference_names_the_other_heads(swapped_model):
    got = by_name(lesson_criteria(swapped_model))
    assert all(r.passed for r in got.values())
    assert "head 0 raises the loss by 4.963, head 1 by 0.920" in got["dominant_head"].text
    assert "weaker head 1" in got["minor_head_block"].text and "28–36" in got["minor_head_block"].text


def test_bundled_model_fails_the_story_criteria():
    got = by_name(lesson_criteria(load_bundled_model()))
    failed = {name for name, r in got.items() if not r.passed}
    # near-perfect, two heads of similar weight over interleaved ranges (1.256 vs 0.842)
    assert failed == {"dominant_head", "minor_head_block", "qk_puzzle", "loss_range"}
    assert got["dominant_head"].value < 2 and got["minor_head_block"].value > 1
    assert got["loss_range"].value < 0.02


def test_to_dict_is_strict_json():
    result = CriterionResult("x", False, math.inf, ">= 1", "nothing fits")
    assert result.to_dict() == {
        "name": "x",
        "passed": False,
        "value": None,
        "threshold": ">= 1",
        "text": "nothing fits",
    }


def test_training_md_documents_every_criterion():
    text = (REPO_ROOT / "assets" / "TRAINING.md").read_text()
    assert all(f"`{name}`" in text for name in NAMES)


def test_selection_key_prefers_more_criteria_then_the_write_ups_loss():
    def results(n_passed: int, loss: float) -> list[CriterionResult]:
        rest = [CriterionResult(f"c{i}", i < n_passed, 0.0, "", "") for i in range(6)]
        return [*rest, CriterionResult("loss_range", True, loss, "", "")]

    candidates = {"a": results(5, 0.039), "b": results(6, 0.055), "c": results(6, 0.041)}
    assert sorted(candidates, key=lambda k: selection_key(candidates[k])) == ["c", "b", "a"]


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(n_heads=3, d_head=32),  # the write-up's task, three heads
        ModelConfig(list_len=4, max_value=6, d_model=32, d_head=16, n_heads=2),  # too few values for some
    ],
)
def test_other_shapes_give_every_criterion_as_strict_json(config):
    state = init_state_dict(config, None, torch.Generator().manual_seed(0))
    results = lesson_criteria(model_from_state_dict(state))
    assert [r.name for r in results] == NAMES
    json.dumps([r.to_dict() for r in results], allow_nan=False)
    weak = by_name(results)["minor_head_block"]
    assert weak.text.startswith("the weaker head")
