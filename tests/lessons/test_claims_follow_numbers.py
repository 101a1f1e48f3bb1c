"""Every qualitative claim of the prose agrees with the number behind it.

Renders the templates that make claims (`problem.METRICS_PROSE`, `model.METRICS_PROSE`,
`attention.OBSERVATIONS_PROSE`, `circuits.OV_PROSE`, `.RESPONSIBILITY_PROSE`, `.QK_PROSE`) on four
models: an untrained one, the bundled model, the reference checkpoint and its heads-swapped copy,
and checks each claim's polarity against the measured value and its named threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sortlist_app.lessons import attention, circuits, problem
from sortlist_app.lessons import model as model_lesson
from sortlist_app.lessons.wording import (
    CLEAR_SIGN,
    MINOR_SHARE,
    MOSTLY,
    fill,
    metrics_facts,
    num,
    responsibility_facts,
)
from sortlist_core.attention import attention_claims, attention_patterns, next_larger_misses_on
from sortlist_core.checkpoint import load_checkpoint, save_checkpoint
from sortlist_core.circuit_findings import copying_roles, ov_diagonality, qk_larger_preference
from sortlist_core.circuits import full_ov, full_qk, head_responsibility, responsibility_from_copy_strength
from sortlist_core.config import ModelConfig
from sortlist_core.data import EVAL_SEED
from sortlist_core.metrics import evaluate, predict_lists
from sortlist_core.paths import BUNDLED_MODEL_PATH
from sortlist_core.training import init_state_dict

MODELS = ("untrained", "bundled", "reference", "swapped")


@pytest.fixture(scope="module")
def untrained_model(tmp_path_factory):
    cfg = ModelConfig()
    path = tmp_path_factory.mktemp("untrained") / "untrained.pt"
    save_checkpoint(path, init_state_dict(cfg, None, torch.Generator().manual_seed(0)), cfg, {})
    return load_checkpoint(path)


@pytest.fixture(params=MODELS)
def model(request):
    if request.param == "untrained":
        return request.getfixturevalue("untrained_model")
    if request.param == "bundled":
        return load_checkpoint(BUNDLED_MODEL_PATH)
    return request.getfixturevalue(f"{request.param}_model")


def test_metric_claims(model, eval_toks):
    metrics = evaluate(model, eval_toks)
    values = metrics_facts(metrics, EVAL_SEED)
    for template in (problem.METRICS_PROSE, model_lesson.METRICS_PROSE):
        fill(template, values)  # every placeholder has a value
    text = fill(problem.METRICS_PROSE, values)
    mean, median = num(metrics.mean_prob), num(metrics.median_prob)
    assert ("lower than the median" in text) == (mean != median and metrics.mean_prob < metrics.median_prob)
    assert ("higher than the median" in text) == (mean != median and metrics.mean_prob > metrics.median_prob)
    assert ("equal at the precision shown" in text) == (mean == median)


def test_attention_claims(model, eval_toks):
    names = model.config.head_names
    claims = attention_claims(model, eval_toks[:200])
    lists = [row[: model.config.list_len] for row in eval_toks[:50].tolist()]
    misses = next_larger_misses_on(
        attention_patterns(model, eval_toks[:50]), predict_lists(model, lists), model.config.sep_token
    )
    text = fill(
        attention.OBSERVATIONS_PROSE,
        attention.observation_facts(claims, head_responsibility(model), misses, names),
    )
    says_mostly = "mostly *attend to what they predict*" in text
    assert says_mostly == (claims.attends_next_larger_any > MOSTLY)
    assert says_mostly or "not the rule" in text


def test_circuit_claims(model):
    names = model.config.head_names
    resp = head_responsibility(model)
    ov_matrix = full_ov(model)
    ov = ov_diagonality(ov_matrix, resp)
    text = fill(
        circuits.OV_PROSE,
        circuits.ov_facts(ov_matrix, resp, names) | responsibility_facts(resp, names),
    )
    assert ("OV: the heads copy." in text) == (ov.self_copy_fraction > MOSTLY)
    major = copying_roles(resp).major
    tokens = resp.copies[major]
    scale = float(np.mean(np.abs(resp.copy_strength[major, tokens]))) if tokens else 0.0
    assert ("anti-copying" in text) == (scale > 0 and ov.minor_on_major <= -CLEAR_SIGN * scale)
    assert ("copies them too" in text) == (scale > 0 and ov.minor_on_major >= CLEAR_SIGN * scale)

    text = fill(circuits.RESPONSIBILITY_PROSE, responsibility_facts(resp, names))
    minor = copying_roles(resp).minor
    assert ("less used head" in text and "only for" in text) == (
        len(resp.copies[minor]) < MINOR_SHARE * len(resp.owner)
    )

    qk = full_qk(model)
    pref = qk_larger_preference(qk, resp)
    text = fill(circuits.QK_PROSE, circuits.qk_facts(qk, resp))
    assert ("A clean rule" in text) == (pref.next_top_fraction >= circuits.CLEAN_RULE)
    assert ("No clear preference" in text) == (
        pref.next_top_fraction < circuits.CLEAN_RULE and pref.larger_fraction < circuits.WEAK_PREFERENCE
    )


def test_an_even_split_is_not_called_only():
    """Seed 7's 24 vs 27 tokens was called "only 24"."""
    strength = np.zeros((2, 51))
    strength[0, :24] = 1.0
    strength[1, 24:] = 1.0
    resp = responsibility_from_copy_strength(strength)
    sentence = responsibility_facts(resp, ("0.0", "0.1"))["minor_sentence"]
    assert "only" not in sentence and "about evenly" in sentence and "(24 of 51)" in sentence
    strength[0, :24], strength[0, :5] = 0.0, 1.0
    strength[1, :5] = 0.0
    strength[1, 5:] = 1.0
    lopsided = responsibility_facts(responsibility_from_copy_strength(strength), ("0.0", "0.1"))
    assert "less used head" in lopsided["minor_sentence"] and "only for" in lopsided["minor_sentence"]


def test_near_zero_diagonal_is_not_anti_copying():
    """A mean diagonal of −0.00089 next to a copying head's ~0.4 was called "anti-copying"."""
    strength = np.full((2, 51), 0.4)
    strength[1, :] = -0.00089
    strength[1, :10] = 0.5  # head 1 copies 0..9, head 0 the rest
    strength[0, :10] = 0.1
    resp = responsibility_from_copy_strength(strength)
    assert "close to zero" in circuits.minor_on_major_sign(-0.00089, resp)
    assert "anti-copying" in circuits.minor_on_major_sign(-0.1, resp)
    assert "copies them too" in circuits.minor_on_major_sign(0.1, resp)
