"""The Problem lesson (`sortlist_app/lessons/problem.py`) as pure functions: its template values,
graders and exercises, on the reference model and on the one with its heads swapped."""

from __future__ import annotations

from sortlist_app.lessons import problem as lesson
from sortlist_app.lessons.problem import grade_least_accurate_position, grade_sep_prediction
from sortlist_core.config import ModelConfig
from sortlist_core.metrics import evaluate, predict_lists


def test_sep_prediction():
    assert grade_sep_prediction(4, 4, [7, 4, 9]).ok
    wrong_in_list = grade_sep_prediction(7, 4, [7, 4, 9])
    assert not wrong_in_list.ok and "4" not in wrong_in_list.nudge
    assert "not in the list" in grade_sep_prediction(50, 4, [7, 4, 9]).nudge
    assert not grade_sep_prediction("abc", 4, [7, 4, 9]).ok


def test_least_accurate_position_accepts_ties():
    acc = [1.0, 0.9, 0.9, 1.0]
    # positions of a 4-value list: SEP = 4, predictions at 4..7
    assert grade_least_accurate_position(5, acc).ok and grade_least_accurate_position(6, acc).ok
    assert not grade_least_accurate_position(0, acc).ok
    assert not grade_least_accurate_position(9, acc).ok


def test_where_does_it_slip_speaks_of_the_chosen_position(reference_model, eval_toks):
    """Choosing "position 19" got feedback about "Position 9"; every option, the
    feedback and the solution use the sequence position (SEP = 10)."""
    cfg = reference_model.config
    exercise = lesson.least_accurate_position_exercise(evaluate(reference_model, eval_toks), cfg)
    assert list(exercise.answer.options) == list(range(10, 20))
    labels = [exercise.answer.format_func(p) for p in exercise.answer.options]
    assert labels[0] == "position 10 (SEP, predicting the 1st sorted token)"
    assert labels[5] == "position 15 (the 5th sorted token, predicting the 6th)"
    for chosen in (11, 19):
        nudge = exercise.grade(chosen).nudge
        assert f"position {chosen} (" in nudge and f"osition {chosen - 10} " not in nudge
    assert "position 10 (SEP" in exercise.solution or "10 (SEP): " in exercise.solution


def test_exercises_grade_the_measured_answer(reference_model, eval_toks):
    cfg = reference_model.config
    metrics = evaluate(reference_model, eval_toks)
    unsorted = eval_toks[0, : cfg.list_len].tolist()
    pred = predict_lists(reference_model, [unsorted])[0]
    sep = lesson.sep_prediction_exercise(pred, unsorted, 43, 0, cfg)
    assert sep.grade(pred.predicted[0]).ok and not sep.grade(cfg.max_value).ok
    assert f"**{pred.predicted[0]}**" in sep.solution and sep.context == "43:0"
    worst = lesson.least_accurate_position_exercise(metrics, cfg)
    acc = metrics.per_position_accuracy
    lowest = min(range(len(acc)), key=acc.__getitem__)
    best = max(range(len(acc)), key=acc.__getitem__)
    assert worst.grade(cfg.list_len + lowest).ok
    assert acc[best] == acc[lowest] or not worst.grade(cfg.list_len + best).ok
    assert worst.answer.options == tuple(range(cfg.list_len, 2 * cfg.list_len))


def test_template_values_follow_the_task():
    small = ModelConfig(list_len=6, max_value=20, n_heads=3)
    data = lesson.data_facts(small)
    assert (data["last_unsorted"], data["first_sorted"], data["last_position"]) == (5, 7, 12)
    assert data["heads"] == "head 0.0, head 0.1 and head 0.2"
    task = lesson.task_facts(small, [3, 1, 2], ["3", "1", "2"])
    assert task["example_tokens"] == "[3, 1, 2]" and task["list_len"] == 6


def test_own_list_sentence(reference_model):
    right = predict_lists(reference_model, [list(range(10))])[0]
    assert lesson.own_list_sentence(right).startswith(
        "The model sorts it correctly" if right.correct else "The model gets"
    )
    wrong = predict_lists(reference_model, [[0, *range(40, 49)]])[0]
    assert not wrong.correct and f"gets {len(wrong.wrong)} position" in lesson.own_list_sentence(wrong)
