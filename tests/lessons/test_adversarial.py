"""The Adversarial lesson (`sortlist_app/lessons/adversarial.py`) as pure functions: the presets,
template values and exercises, and the rows of its predictions table (`widgets/tables.py`). The
editor's parsing is `sortlist_core.list_text`, tested in `tests/test_core_list_text.py`."""

from __future__ import annotations

from sortlist_app.lessons import adversarial as facts
from sortlist_app.widgets.tables import PREDICTION_COLUMNS, prediction_rows
from sortlist_core.adversarial import family_failure_rates, search_adversarial
from sortlist_core.config import ModelConfig
from sortlist_core.data import format_list
from sortlist_core.metrics import predict_lists

HIGH = [0, *range(40, 49)]
EVENS = [5, *range(30, 48, 2)]


def test_presets_follow_the_task():
    from sortlist_core.config import ModelConfig

    writeup = facts.writeup_presets(ModelConfig())
    assert [p.lists for p in writeup] == [(tuple(HIGH),), (tuple(EVENS),)]
    small = ModelConfig(list_len=4, max_value=12, d_model=32, d_head=16)
    presets = facts.writeup_presets(small)
    assert [p.key for p in presets] == ["writeup_high", "writeup_evens"]  # both fit this task
    assert [p.label for p in presets] == ["[0] + 8..10", "[3] + 4, 6, …, 8"]
    for preset in presets:
        assert preset.lists
        for lst in preset.lists:
            assert len(set(lst)) == 4 and all(0 <= v <= 12 for v in lst)
    for family in facts.GENERATED_PRESETS:
        lists = facts.generated_lists(family, 5, small, seed=1)
        assert lists == facts.generated_lists(family, 5, small, seed=1) and len(lists) == 5


def test_exercises_grade_the_measured_answer(reference_model):
    cfg = reference_model.config
    rates = family_failure_rates(reference_model)
    worst = max(rates.families, key=rates.rate)
    best = min(rates.families, key=rates.rate)
    family = facts.worst_family_exercise(rates)
    assert family.grade(worst).ok and not family.grade(best).ok
    predict = lambda values: predict_lists(reference_model, [values])[0]  # noqa: E731
    find = facts.find_wrong_list_exercise(rates, cfg, predict)
    assert find.grade(format_list(HIGH)).ok and not find.grade(format_list(range(10))).ok
    target = facts.pick_exercise_list(predict_lists(reference_model, facts.exercise_candidates(cfg)))
    assert target is not None and target.wrong
    where = facts.wrong_position_exercise(target, cfg)
    # Answers are sequence positions (SEP = 10 .. 19), the labels of the heatmap rows.
    wrong_at = cfg.list_len + target.wrong[0]
    assert where.grade(wrong_at).ok and "The write-up's list" in where.question
    assert f"({wrong_at})" in target.position_labels[target.wrong[0]]  # the row the learner reads
    right = next(i for i in range(cfg.list_len) if i not in target.wrong)
    assert not where.grade(cfg.list_len + right).ok
    assert f"position {cfg.list_len + right}" in where.grade(cfg.list_len + right).nudge
    for outside in (target.wrong[0], 2 * cfg.list_len, -1):  # a row index is not a position
        nudge = where.grade(outside).nudge
        assert not where.grade(outside).ok and "from 10 (SEP) to 19" in nudge


def test_search_result_facts(reference_model):
    result = search_adversarial(reference_model, budget=512, seed=0)
    values = facts.search_result_facts(result)
    assert values["n_scored"] == f"{result.n_scored:,}" and values["best_source"] in result.scored_by_family
    assert facts.default_lists(ModelConfig()) == [tuple(HIGH), tuple(EVENS)]
    assert (
        facts.example_caption([1, 3], -0.5, "high", 10)
        == "wrong at positions 11 and 13 · margin −0.500 · high"
    )
    assert facts.example_caption([0], 0.25, "gap", 10) == "wrong at position 10 · margin +0.250 · gap"


def test_prediction_rows_speak_positions_and_fit_the_page(reference_model):
    """Wrong positions are sequence positions (SEP = 10), and the table has
    no seventh column that 1280 px cuts at "verdic"."""
    preds = predict_lists(reference_model, [HIGH, tuple(range(10))])
    rows = prediction_rows(preds)
    assert tuple(k for k in rows[0] if k != "list") == PREDICTION_COLUMNS and "verdict" not in rows[0]
    assert rows[0]["wrong at positions"] == ", ".join(str(10 + w) for w in preds[0].wrong)
    assert all(10 <= int(p) <= 19 for p in rows[0]["wrong at positions"].split(", "))
    assert rows[1]["wrong at positions"] == ("none" if preds[1].correct else rows[1]["wrong at positions"])
    # compact list cells ("0,40,41"): the six columns fit the ~820 px of the page at 1280 px
    assert rows[0]["unsorted"] == ",".join(map(str, HIGH)) and ", " not in rows[0]["model predicts"]
