"""The OV/QK circuits lesson (`sortlist_app/lessons/circuits.py`) as pure functions: its template values,
graders and exercises, on the reference model and on the one with its heads swapped."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sortlist_app.lessons import circuits as lesson
from sortlist_app.lessons.circuits import grade_top_source
from sortlist_core.circuits import full_qk, head_responsibility
from sortlist_core.well_posed import is_clear, winner

NAMES = ["0.0", "0.1"]


def test_top_source():
    scores = [0.0, 0.1, 0.5, 0.9, 0.2]
    assert grade_top_source(3, scores, 1).ok
    assert "next larger" in grade_top_source(2, scores, 1).nudge
    assert not grade_top_source(4, scores, 1).ok
    assert not grade_top_source(7, scores, 1).ok


@pytest.mark.parametrize("model, minor", [("reference_model", 0), ("swapped_model", 1)])
def test_exercises_follow_the_heads(request, model, minor):
    m = request.getfixturevalue(model)
    resp = head_responsibility(m)
    probe = lesson.probe_token(resp, minor)
    assert resp.owner[probe] == minor and 28 <= probe <= 36
    copier = lesson.copier_exercise(resp, NAMES)
    assert copier.grade(minor).ok and not copier.grade(1 - minor).ok and f"token {probe}" in copier.title
    count = lesson.copy_count_exercise(resp, NAMES)
    assert count.grade(9).ok and "too high" in count.grade(10).nudge
    qk = full_qk(m)
    top = lesson.top_source_exercise(qk, 25, minor, NAMES, m.config)
    dest = int(top.context.split(":")[0])
    scores = qk[minor, dest, :51]
    best = int(scores.argmax())
    assert top.grade(best).ok and top.context == f"{dest}:{minor}" and f"Token **{best}**" in top.solution
    # on the original model d = 25 is a near-tie: the nearest clear destination is asked
    assert not is_clear(winner(qk[minor, 25, :51])) and dest != 25
    assert is_clear(winner(scores)) and "too close to call" in top.question and f"**{dest}**" in top.question


def test_default_destination_fits_the_task():
    from sortlist_core.config import ModelConfig

    assert lesson.default_dest(ModelConfig()) == 25
    assert lesson.default_dest(ModelConfig(list_len=6, max_value=20)) == 10


def test_top_source_solution_reads_with_significant_figures_and_accepts_shown_ties(reference_model):
    """At d = 25 on the original model the solution read "Token 28 (score 0.00);
    next come 29 (0.00) and 30 (0.00)"."""
    from sortlist_core.circuits import full_qk, qk_scores

    scores = qk_scores(reference_model, 25)
    head = int(np.argmax(scores[:, :51].max(-1)))
    exercise = lesson.top_source_exercise(
        full_qk(reference_model), 25, head, ("0.0", "0.1"), reference_model.config
    )
    assert "(score 0.00)" not in exercise.solution and "(0.00)" not in exercise.solution
    assert re.search(r"\(score [0-9.]*[1-9][0-9]*\)", exercise.solution)
    assert "no fixed scale" in exercise.solution
    tie = [0.3, 0.00213, 0.00214, 0.1]
    assert lesson.tied_with_best([0.001, 0.00213, 0.002131]) == [1, 2]
    assert lesson.grade_top_source(1, tie, 0).ok is False and lesson.grade_top_source(0, tie, 0).ok
    assert lesson.grade_top_source(2, [0.0, 0.002131, 0.00213], 0).ok  # a tie at the shown precision
