"""The Mystery lesson (`sortlist_app/lessons/mystery.py`) as pure functions: template values and
exercises, on the reference and the heads-swapped model (the learner's input is read by
`sortlist_core.list_text`, tested in `tests/test_core_list_text.py`)."""

from __future__ import annotations

import pytest

from sortlist_app.lessons import mystery as facts
from sortlist_app.lessons.wording import signed
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, default_cases, direct_path_experiment, dla_yz

OWN = "0, 5, 10, 20, 21, 23, 30, 40, 45, 50"


def test_default_cases_for_other_tasks():
    from sortlist_core.config import ModelConfig
    from sortlist_core.mystery import check_xyz

    cfg = ModelConfig()
    assert [c[0] for c in default_cases(cfg.list_len, cfg.max_value)] == [
        tuple(lst) for lst, _ in DEFAULT_MYSTERY_LISTS
    ]
    small = ModelConfig(list_len=5, max_value=20, d_model=32, d_head=16)
    cases = default_cases(small.list_len, small.max_value)
    assert cases
    for lst, xyz in cases:
        assert len(lst) == 5 and max(lst) <= 20
        check_xyz(lst, *xyz)


def test_the_suggested_triple_is_named():
    assert (
        facts.tightest_triple_note((20, 21, 23))
        == "Using the list's tightest triple (x, y, z) = (20, 21, 23)."
    )


@pytest.mark.parametrize("model", ["reference_model", "swapped_model"])
def test_exercises_grade_the_measured_answer(request, model):
    m = request.getfixturevalue(model)
    names = m.config.head_names
    lst, xyz = DEFAULT_MYSTERY_LISTS[0]
    case = dla_yz(m, lst, *xyz)
    sign = facts.cross_sign_exercise([case], names)
    right = "positive" if case.dla[0][1] > 0 else "negative"
    assert sign.grade(right).ok and not sign.grade({"positive": "negative", "negative": "positive"}[right]).ok
    total = facts.larger_total_exercise([case], [facts.case_title(0, case)], names)
    larger = "y" if case.total_to_y > case.total_to_z else "z"
    assert total.grade(larger).ok and not total.grade("z" if larger == "y" else "y").ok
    exp = direct_path_experiment(m)
    direct = facts.direct_path_exercise(exp)
    verdict = "yes" if exp.becomes_adversarial else "no"
    assert direct.grade(verdict).ok and not direct.grade("no" if verdict == "yes" else "yes").ok


def test_dla_intro_and_other_heads_sentence(reference_model):
    from sortlist_core.config import ModelConfig

    assert facts.dla_intro(default_cases(10, 50)).startswith("The lists below are the write-up's four")
    assert "built like the write-up's" in facts.dla_intro(default_cases(6, 20))
    cases = [dla_yz(reference_model, lst, *xyz) for lst, xyz in DEFAULT_MYSTERY_LISTS]
    text = facts.other_heads_sentence(cases, [-0.5, 0.25], ("0", "1"))
    low, high = min(c.push_to_y for c in cases), max(c.push_to_y for c in cases)
    assert f"ranges from −0.500 to +0.250, against {signed(low)} to {signed(high)}" in text
    assert "The other head's net push" in text and "(s)" not in text
    assert "The other heads' net push" in facts.other_heads_sentence(cases, [0.1], ("0", "1", "2"))
    assert facts.head_rule(None, ModelConfig().head_names).startswith("the one whose OV")
    assert facts.head_rule(1, ModelConfig().head_names) == "head 0.1 (your choice)"


def test_a_title_used_mid_sentence_and_no_plural_brackets(reference_model):
    """ "For Your list" and "(s)" plurals."""
    from sortlist_core.figures import multiple_prediction_heatmaps
    from sortlist_core.metrics import predict_lists

    lst, xyz = DEFAULT_MYSTERY_LISTS[0]
    case = dla_yz(reference_model, lst, *xyz)
    question = facts.larger_total_exercise(
        [case], [facts.case_title(0, case, custom=True)], ("0.0", "0.1")
    ).question
    assert question.startswith("For your list (x, y, z)")
    assert facts.larger_total_exercise(
        [case], [facts.case_title(3, case)], ("0.0", "0.1")
    ).question.startswith("For List #3")
    preds = predict_lists(reference_model, [(0, 40, 41, 42, 43, 44, 45, 46, 47, 48), tuple(range(10))])
    titles = [a.text for a in multiple_prediction_heatmaps(preds).layout.annotations]
    assert not any("(s)" in t for t in titles) and any("wrong at 1 position ✗" in t for t in titles)
