"""One rule per claim: every claim a quiz grades ("matters more", "fails most
often", "becomes adversarial", "the stronger copier") and the threshold-gated trend ("falls as …
rises") is decided by one rule, stated in the question and the solution, and the prose next to
it follows the same rule and agrees with the numbers it shows.

Runs on five models: the lesson model, the strong model, the original checkpoint, its
heads-swapped copy and a freshly trained 3-head model.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sortlist_app.lessons import adversarial, attention, circuits, mystery
from sortlist_app.lessons.exercise import Exercise, Skipped
from sortlist_app.lessons.wording import join_words, pct
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import family_failure_rates
from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.circuit_findings import positional_preferences
from sortlist_core.circuits import head_responsibility, positional_qk
from sortlist_core.data import eval_dataset
from sortlist_core.mystery import ADVERSARIAL_EXTRA, ADVERSARIAL_MISTAKE, direct_path_experiment
from sortlist_core.paths import LESSON_MODEL_PATH, STRONG_MODEL_PATH

MODELS = ("lesson", "strong", "original", "swapped", "trained_3_heads")


@pytest.fixture(scope="module")
def trained_three_heads():
    from sortlist_core.training import train
    from tests.tiny import TINY, TINY_RECIPE

    return train(replace(TINY, n_heads=3), TINY_RECIPE).model


@pytest.fixture(params=MODELS)
def model(request):
    name = request.param
    if name == "lesson":
        return load_checkpoint(LESSON_MODEL_PATH)
    if name == "strong":
        return load_checkpoint(STRONG_MODEL_PATH)
    if name == "original":
        return request.getfixturevalue("reference_model")
    if name == "swapped":
        return request.getfixturevalue("swapped_model")
    return request.getfixturevalue("trained_three_heads")


def shown(text: str) -> float:
    """A percentage as shown ('4.5%', '<0.1%') back to a number."""
    return float(text.strip("<>%").replace("\u2212", "-"))


def test_matters_more(model):
    names = model.config.head_names
    result = head_ablation(model, eval_dataset(model.config).toks)
    ex = attention.important_head_exercise(result, names)
    verdict = attention.ablation_facts(result, names)["ablation_verdict"]
    rule = attention.matters_more_rule()
    assert rule in verdict
    if isinstance(ex, Skipped):
        assert verdict.startswith("no head does") and not attention.matters_more(result)
        assert rule in ex.reason
        return
    top = result.most_important_head
    assert rule in ex.question and rule in ex.solution
    assert ex.grade(top).ok and not any(ex.grade(h).ok for h in range(len(names)) if h != top)
    assert verdict.startswith(f"yes, by the rule ({rule}): mean-ablating head {names[top]} ")
    # the rule holds on the numbers the solution shows
    increases = sorted(result.mean, reverse=True)
    assert increases[0] - increases[1] >= 0.05 * max(increases[0] - increases[-1], abs(increases[0]))


def test_becomes_adversarial(model):
    exp = direct_path_experiment(model)
    ex = mystery.direct_path_exercise(exp)
    verdict = mystery.direct_path_verdict(exp)
    rule = mystery.direct_path_rule()
    assert rule in ex.question and rule in ex.solution and verdict in ex.solution
    truth = "yes" if exp.becomes_adversarial else "no"
    assert ex.grade(truth).ok and not ex.grade("no" if truth == "yes" else "yes").ok
    assert verdict.startswith("**does**") == exp.becomes_adversarial
    # the comparison is the one the shown numbers make
    cluster, control = shown(pct(exp.cluster_fail_without)), shown(pct(exp.control_fail_without))
    if cluster > control:
        assert "fail more often than the controls" in verdict
    elif cluster < control:
        assert "fail less often than the controls" in verdict
    else:
        assert "fail as often as the controls" in verdict
    assert "about as often" not in verdict and "(or less often than)" not in verdict
    # ... and the verdict is the rule applied to them
    mistake = shown(pct(exp.cluster_pred_next_without))
    by_shown = mistake >= 100 * ADVERSARIAL_MISTAKE or cluster - control >= 100 * ADVERSARIAL_EXTRA - 0.1
    assert by_shown == exp.becomes_adversarial or abs(cluster - control - 100 * ADVERSARIAL_EXTRA) < 0.2


def test_fails_most_often(model):
    rates = family_failure_rates(model, n_per_family=500)
    ex = adversarial.worst_family_exercise(rates)
    facts = adversarial.family_facts(rates)
    base = rates.rate("uniform")
    for family in ("high", "gap", "cluster"):
        said = facts[f"{family}_times"]
        if "about as often" in said:
            assert base > 0 and abs(rates.rate(family) / base - 1) <= adversarial.ABOUT_AS_OFTEN
            assert "within 10% of their rate" in said
        elif "× as often" in said:
            assert rates.rate(family) > base * (1 + adversarial.ABOUT_AS_OFTEN)
    if isinstance(ex, Skipped):
        return
    rule = adversarial.worst_family_rule()
    assert rule in ex.question and rule in ex.solution
    worst = rates.worst_family
    assert facts["worst_family"] == adversarial.FAMILY_LABELS[worst]
    assert ex.grade(worst).ok
    assert not any(ex.grade(f).ok for f in rates.families if rates.rate(f) < rates.rate(worst))


def test_stronger_copier(model):
    names = model.config.head_names
    resp = head_responsibility(model)
    ex = circuits.copier_exercise(resp, names)
    if isinstance(ex, Skipped):
        return
    assert isinstance(ex, Exercise)
    probe = int(ex.title.split("token ")[1].rstrip("?"))
    owner = resp.owner[probe]
    assert ex.grade(owner).ok and resp.copy_strength[:, probe].argmax() == owner
    assert circuits.COPIER_RULE in ex.question and circuits.COPIER_RULE in ex.solution


def test_sep_trend_is_threshold_gated(model):
    names = model.config.head_names
    corr = positional_preferences(positional_qk(model), model.config.list_len).sep_value_correlation
    sentence = circuits.sep_trend_sentence(corr, names)
    assert circuits.trend_rule() in sentence
    falling = [f"head {names[h]}" for h, c in enumerate(corr) if c <= -circuits.TREND]
    if falling:
        clause = f"falls as the token's value rises in {join_words(falling)}"
        assert f"{clause} (" in sentence or f"{clause};" in sentence
    else:
        assert "falls as" not in sentence
    for h, c in enumerate(corr):
        if abs(c) < circuits.TREND:
            assert "no clear trend with the value in" in sentence and f"head {names[h]}" in sentence


def test_the_lesson_model_no_longer_overclaims_a_trend():
    """OV/QK said the SEP row "falls as the token's value rises in head 0.0 and head 0.1" quoting
    r = −0.114 for head 0.1 (the lesson model)."""
    lesson = load_checkpoint(LESSON_MODEL_PATH)
    corr = positional_preferences(positional_qk(lesson), 10).sep_value_correlation
    assert corr[0] <= -circuits.TREND < -abs(corr[1])  # head 0.0 a trend, head 0.1 (r ≈ −0.11) none
    sentence = circuits.sep_trend_sentence(corr, lesson.config.head_names)
    assert "falls as the token's value rises in head 0.0;" in sentence
    assert "shows no clear trend with the value in head 0.1" in sentence
