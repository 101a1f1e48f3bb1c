"""The Attention lesson (`sortlist_app/lessons/attention.py`) as pure functions: its template values,
graders and exercises, on the reference model and on the one with its heads swapped."""

from __future__ import annotations

import pytest

from sortlist_app.lessons import attention as lesson
from sortlist_app.lessons.attention import grade_top_attended
from sortlist_core.ablation import head_ablation
from sortlist_core.attention import attention_claims, attention_patterns, next_larger_misses_on
from sortlist_core.circuits import head_responsibility
from sortlist_core.metrics import predict_lists

NAMES = ["0.0", "0.1"]


def test_top_attended():
    assert grade_top_attended(3, 3, 11).ok
    assert "causal" in grade_top_attended(12, 3, 11).nudge
    wrong = grade_top_attended(4, 3, 11)
    assert not wrong.ok and "3" not in wrong.nudge


@pytest.mark.parametrize("model, major", [("reference_model", "0.1"), ("swapped_model", "0.0")])
def test_facts_and_exercises_follow_the_heads(request, model, major, eval_toks):
    m = request.getfixturevalue(model)
    toks = eval_toks[:200]
    resp = head_responsibility(m)
    ablation = head_ablation(m, toks)
    assert lesson.ablation_facts(ablation, NAMES)["important_head"] == major
    assert f"head {major} is also the stronger copier" in lesson.ablation_copying_sentence(
        ablation, resp, NAMES
    )
    assert lesson.attention_facts(attention_claims(m, toks), NAMES)["sep_best_head"] == major
    exercise = lesson.important_head_exercise(ablation, NAMES)
    assert exercise.grade(NAMES.index(major)).ok and not exercise.grade(1 - NAMES.index(major)).ok
    lists = [row[:10] for row in toks[:20].tolist()]
    misses = next_larger_misses_on(attention_patterns(m, toks[:20]), predict_lists(m, lists), 51)
    facts = lesson.observation_facts(attention_claims(m, toks), resp, misses, NAMES)
    assert facts["miss_count"].endswith(("position", "positions")) and facts["major_head"] == major


def test_top_attended_exercise():
    labels = ["3", "1", "2", "SEP", "1", "2", "3"]
    ex = lesson.top_attended_exercise("evaluation list #0", labels, 4, 1, 2, 0.75, NAMES, _cfg(), (3, 1, 2))
    assert ex.grade(2).ok and not ex.grade(1).ok and "causal" in ex.grade(6).nudge
    assert "Position **2** (token `2`, weight 0.750)" in ex.solution and ex.context == "(3, 1, 2):4:1"


def test_view_labels_and_default_position():
    assert lesson.view_labels([4, 0], 2) == [
        "evaluation list #4",
        "evaluation list #0",
        "your list 1",
        "your list 2",
    ]
    assert lesson.default_pos(_cfg()) == 4


def _cfg():
    from sortlist_core.config import ModelConfig

    return ModelConfig(list_len=3, max_value=20)
