"""The Problem page (pages/1_problem.py) in AppTest: widgets, the learner's own list (bad input
reported and kept), exercises, links and the sidebar."""

from __future__ import annotations

import numpy as np
import pytest

from sortlist_core import SortedListDataset
from sortlist_core.data import EVAL_SIZE
from sortlist_core.metrics import evaluate, sequence_predictions

from ..page_helpers import assert_ok, check_exercise, joined, open_page

PROBLEM, ATTENTION, CIRCUITS = "pages/1_problem.py", "pages/2_attention.py", "pages/3_circuits.py"


def flat(text: str) -> str:
    """Markdown text with line breaks and runs of spaces collapsed (templates wrap lines)."""
    return " ".join(text.split())


def sidebar_text(at) -> str:
    return joined(at.sidebar.markdown)


def test_sidebar_shows_model_and_progress(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    text = sidebar_text(at)
    assert reference_model.short_id in text and "original (ARENA)" in text  # recognised by its sha256
    assert "Problem: 0 of 4" in text  # 2 quiz + 2 code exercises
    accuracy = evaluate(reference_model, SortedListDataset(EVAL_SIZE).toks).accuracy
    assert f"{accuracy:.1%}" in [m.value for m in at.sidebar.metric]


def test_problem_widgets_and_own_list(monkeypatch, reference_path):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    assert [m.value for m in at.metric][:4] == ["0.039", "0.966", "0.981", "0.001"]
    at.number_input(key="problem.seed").set_value(44).run()
    at.number_input(key="problem.idx").set_value(3).run()
    assert_ok(at)
    assert at.query_params["seed"] == "44" and at.query_params["idx"] == "3"
    at.text_input(key="problem.own_list").input("9 8 7 6 5 4 3 2 1 0").run()
    assert_ok(at)
    assert not at.error and "sorts it correctly" in joined(at.markdown)
    assert at.query_params["lists"] == "9-8-7-6-5-4-3-2-1-0"
    for hint in [b for b in at.button if b.label.startswith("Show hint")]:
        hint.click().run()
    assert_ok(at)
    assert len(at.info) >= 2


@pytest.mark.parametrize(
    "text, message",
    [("1, 2, x", "not an integer"), ("1 2 3", "wrong length"), ("1 1 2 3 4 5 6 7 8 9", "more than once")],
)
def test_problem_invalid_list_shows_error_and_keeps_text(monkeypatch, reference_path, text, message):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    at.text_input(key="problem.own_list").input(text).run()
    assert_ok(at)
    assert message in joined(at.error)
    assert at.text_input(key="problem.own_list").value == text


def test_problem_exercises(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    ds = SortedListDataset(500)
    predicted = sequence_predictions(reference_model, ds.toks[:1])[0].predicted[0]
    wrong = next(v for v in ds.unsorted[0].tolist() if v != predicted)
    assert check_exercise(at, "problem.sep_prediction", wrong, "number")[0] is False
    assert check_exercise(at, "problem.sep_prediction", predicted, "number")[0] is True
    acc = evaluate(reference_model, ds.toks).per_position_accuracy
    assert (
        check_exercise(at, "problem.least_accurate_position", 10 + int(np.argmax(acc)), "select")[0] is False
    )
    assert (
        check_exercise(at, "problem.least_accurate_position", 10 + int(np.argmin(acc)), "select")[0] is True
    )
    assert "Problem: 2 of 4" in sidebar_text(at)


def test_problem_link_reproduces_the_view(monkeypatch, reference_path):
    at = open_page(
        monkeypatch, PROBLEM, reference_path, {"seed": "44", "idx": "9", "lists": "0-1-2-3-4-5-6-7-8-9"}
    )
    assert at.number_input(key="problem.seed").value == 44
    assert at.number_input(key="problem.idx").value == 9
    assert at.text_input(key="problem.own_list").value == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    assert not at.warning
