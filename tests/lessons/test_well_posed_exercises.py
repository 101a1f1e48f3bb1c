"""Every quiz exercise whose answer depends on the model is well-posed on every model (issues 12
and 14.4): on the strong bundled model, the lesson model when its file exists, the reference,
the heads-swapped reference and an untrained 3-head checkpoint, each exercise either has exactly
one accepted answer, which wins by the `well_posed` margin, or is skipped with a reason."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from sortlist_app.lessons import adversarial, attention, circuits, mystery, problem
from sortlist_app.lessons.exercise import Exercise, Skipped
from sortlist_core import positions
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import family_failure_rates
from sortlist_core.attention import attention_patterns
from sortlist_core.checkpoint import load_checkpoint, save_checkpoint
from sortlist_core.circuits import full_qk, head_responsibility
from sortlist_core.config import config_from_architecture
from sortlist_core.data import eval_dataset
from sortlist_core.metrics import evaluate
from sortlist_core.mystery import default_cases, dla_yz
from sortlist_core.paths import BUNDLED_MODEL_PATH, LESSON_MODEL_PATH
from sortlist_core.training import init_state_dict
from sortlist_core.well_posed import is_clear, winner

MODELS = ("strong", "lesson", "reference", "swapped", "three_heads")


@pytest.fixture(scope="module")
def three_heads_path(tmp_path_factory):
    cfg = config_from_architecture(n_heads=3, d_model=96)
    path = tmp_path_factory.mktemp("three") / "three_heads.pt"
    save_checkpoint(path, init_state_dict(cfg, None, torch.Generator().manual_seed(3)), cfg, {})
    return path


@pytest.fixture(params=MODELS)
def model(request, three_heads_path):
    if request.param == "lesson" and not LESSON_MODEL_PATH.is_file():
        pytest.skip("assets/lesson_model.pt is not trained yet")
    if request.param in ("reference", "swapped"):
        return request.getfixturevalue(f"{request.param}_model")
    path = {"strong": BUNDLED_MODEL_PATH, "lesson": LESSON_MODEL_PATH, "three_heads": three_heads_path}
    return load_checkpoint(path[request.param])


def _accepted(exercise: Exercise, options) -> list:
    return [o for o in options if exercise.grade(o).ok]


def _well_posed_or_skipped(exercise: Exercise | Skipped, options, scores, lower_is_better=False):
    """Skipped with a reason, or exactly one accepted option that wins by the margin."""
    if isinstance(exercise, Skipped):
        assert exercise.reason.strip() and not is_clear(winner(scores, lower_is_better))
        return None
    accepted = _accepted(exercise, options)
    assert len(accepted) == 1, (exercise.id, accepted)
    w = winner(scores, lower_is_better)
    assert is_clear(w) and list(options)[w.index] == accepted[0], exercise.id
    return accepted[0]


def test_problem_least_accurate_position(model):
    metrics = evaluate(model, eval_dataset(model.config).toks)
    ex = problem.least_accurate_position_exercise(metrics, model.config)
    acc = metrics.per_position_accuracy
    where = [positions.prediction_position(i, model.config.list_len) for i in range(len(acc))]
    _well_posed_or_skipped(ex, where, [1.0 - a for a in acc])
    if min(acc) == 1.0:
        assert isinstance(ex, Skipped) and "every prediction position" in ex.reason


def test_attention_top_attended(model):
    """Every head and destination of the first evaluation list: a clear answer or a skip."""
    cfg = model.config
    toks = eval_dataset(cfg).toks[:1]
    pattern = attention_patterns(model, toks)[0]
    labels = [str(t) for t in toks[0].tolist()]
    L = cfg.list_len
    for head in range(cfg.n_heads):
        for pos in range(L, 2 * L):
            ex = attention.top_attended_exercise(
                "list", labels, pos, head, pattern[head], cfg.head_names, cfg, ()
            )
            if isinstance(ex, Skipped):
                assert all(not is_clear(winner(pattern[head, d, : d + 1])) for d in range(L, 2 * L))
                continue
            asked = int(re.search(r"does position (\d+)", ex.question).group(1))
            row = pattern[head, asked, : asked + 1]
            _well_posed_or_skipped(ex, range(asked + 1), row)


def test_attention_important_head(model):
    result = head_ablation(model, eval_dataset(model.config).toks)
    ex = attention.important_head_exercise(result, model.config.head_names)
    _well_posed_or_skipped(ex, range(model.config.n_heads), result.mean)


def test_circuits_copier_of_token(model):
    resp = head_responsibility(model)
    ex = circuits.copier_exercise(resp, model.config.head_names)
    if isinstance(ex, Skipped):
        assert ex.reason.strip()
        return
    probe = int(re.search(r"token (\d+)", ex.title).group(1))
    _well_posed_or_skipped(ex, range(model.config.n_heads), resp.copy_strength[:, probe])


@pytest.mark.parametrize("dest", [10, 25, 40, 45])
def test_circuits_top_source_at_every_head(model, dest):
    qk = full_qk(model)
    cfg = model.config
    for head in range(cfg.n_heads):
        ex = circuits.top_source_exercise(qk, dest, head, cfg.head_names, cfg)
        if isinstance(ex, Skipped):
            assert ex.reason.strip()
            assert not any(
                is_clear(winner(qk[head, d, : cfg.max_value + 1])) for d in range(cfg.max_value + 1)
            )
            continue
        asked = int(ex.context.split(":")[0])
        scores = qk[head, asked, : cfg.max_value + 1]
        assert _well_posed_or_skipped(ex, range(cfg.max_value + 1), scores) == int(np.argmax(scores))
        # the destination asked is the learner's, or the nearest clear one
        nearer = [d for d in range(cfg.max_value + 1) if abs(d - dest) < abs(asked - dest)]
        assert not any(is_clear(winner(qk[head, d, : cfg.max_value + 1])) for d in nearer)


def test_adversarial_worst_family(model):
    rates = family_failure_rates(model, n_per_family=500)
    ex = adversarial.worst_family_exercise(rates)
    _well_posed_or_skipped(ex, rates.families, rates.wrong)


def test_mystery_cross_sign_and_larger_total(model):
    cases = [
        dla_yz(model, lst, *xyz) for lst, xyz in default_cases(model.config.list_len, model.config.max_value)
    ]
    names = model.config.head_names
    sign = mystery.cross_sign_exercise(cases, names)
    if isinstance(sign, Skipped):
        assert sign.reason.strip()
        assert all(abs(c.dla[0][1]) < 0.05 * np.abs(c.dla).max() for c in cases)
    else:
        case = next(c for c in cases if f"({c.x}, {c.y}, {c.z})" in sign.question)
        assert abs(case.dla[0][1]) >= 0.05 * np.abs(case.dla).max()
        assert len(_accepted(sign, ("positive", "negative"))) == 1
    total = mystery.larger_total_exercise(cases[::-1], [str(i) for i in range(len(cases))][::-1], names)
    if isinstance(total, Skipped):
        assert all(not is_clear(winner([c.total_to_y, c.total_to_z])) for c in cases)
    else:
        assert len(_accepted(total, ("y", "z"))) == 1
