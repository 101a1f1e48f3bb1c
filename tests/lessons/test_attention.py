"""The Attention lesson (`sortlist_app/lessons/attention.py`) as pure functions: its template values,
graders and exercises, on the reference model and on the one with its heads swapped."""

from __future__ import annotations

import numpy as np
import pytest

from sortlist_app.lessons import attention as lesson
from sortlist_app.lessons.attention import grade_top_attended
from sortlist_app.lessons.exercise import Skipped
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


def _pattern(rows: dict[int, list[float]], n: int = 7) -> np.ndarray:
    out = np.zeros((n, n))
    for d, weights in rows.items():
        out[d, : len(weights)] = weights
    return out


def test_top_attended_exercise():
    labels = ["3", "1", "2", "SEP", "1", "2", "3"]
    pattern = _pattern({3: [0.2, 0.7, 0.1, 0.0], 4: [0.1, 0.05, 0.75, 0.05, 0.05], 5: [0.9, 0, 0, 0, 0, 0.1]})
    ex = lesson.top_attended_exercise("evaluation list #0", labels, 4, 1, pattern, NAMES, _cfg(), (3, 1, 2))
    assert ex.grade(2).ok and not ex.grade(1).ok and "causal" in ex.grade(6).nudge
    assert "Position **2** (token `2`, weight 0.750)" in ex.solution and ex.context == "(3, 1, 2):4:1"


def test_top_attended_moves_off_a_near_tie_or_skips():
    """A row whose top two weights tie has no single answer; the nearest position
    with a clear winner is asked instead, and the question is skipped when there is none."""
    labels = ["3", "1", "2", "SEP", "1", "2", "3"]
    tie = _pattern({3: [0.5, 0.0, 0.5, 0.0], 4: [0.3, 0.05, 0.6, 0.05, 0.0], 5: [0.34, 0.33, 0.33, 0, 0, 0]})
    ex = lesson.top_attended_exercise("list", labels, 3, 0, tie, NAMES, _cfg(), (3, 1, 2))
    assert not isinstance(ex, Skipped) and "position 4" in ex.question and "almost equally" in ex.question
    assert ex.grade(2).ok and not ex.grade(0).ok
    flat = _pattern({d: [1.0 / (d + 1)] * (d + 1) for d in range(3, 6)})
    assert isinstance(
        lesson.top_attended_exercise("list", labels, 4, 0, flat, NAMES, _cfg(), (3, 1, 2)), Skipped
    )


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
