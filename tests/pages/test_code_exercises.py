"""Code exercises on every lesson page in AppTest, through the real runner (a child process; the
sandbox where bubblewrap works): the starter fails with its message, the reference solution
passes and counts in the sidebar's progress; with the runner off each page says why once and its
quiz exercises keep working; a busy runner keeps the learner's code."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sortlist_app.navigation import PAGES
from sortlist_core.circuits import head_responsibility
from sortlist_core.exercises import exercises_on_page, get_exercise
from sortlist_core.exercises.verdict import NOT_IMPLEMENTED
from sortlist_core.runner import RunOutcome

from ..page_helpers import APP, _walk, assert_ok, check_exercise, joined, open_page

PLOTTED = ("circuits.full_ov", "circuits.full_qk", "circuits.positional_qk", "mystery.dla_yz")
LESSON_PAGES = [p for p in PAGES if p.key in ("problem", "attention", "circuits", "adversarial", "mystery")]


def code_box(at, exercise_id: str):
    """The exercise's bordered box: the deepest block holding its Check button and its title."""
    key = f"code.{exercise_id}.check"
    best = None
    for node in _walk(at._tree):
        if hasattr(node, "children") and node is not at._tree:
            inside = list(_walk(node))
            if any(getattr(n, "key", None) == key for n in inside) and any(
                type(n).__name__ == "Markdown" and str(n.value).startswith("#### ") for n in inside
            ):
                best = node
    assert best is not None, f"code exercise {exercise_id} not rendered"
    return best


def feedback(at, exercise_id: str) -> tuple[list[str], list[str]]:
    nodes = list(_walk(code_box(at, exercise_id)))
    good = [str(n.value) for n in nodes if type(n).__name__ == "Success"]
    bad = [str(n.value) for n in nodes if type(n).__name__ == "Warning"]
    return good, bad


def submit(at, exercise_id: str, code: str | None) -> tuple[list[str], list[str]]:
    """Put `code` in the editor (None: leave it), press Check; (success texts, warning texts)."""
    if code is not None:
        # What the editor holds: the widget's text store, shown by a fresh editor (new version).
        at.session_state[f"code.{exercise_id}.text"] = code
        version = f"code.{exercise_id}.version"
        at.session_state[version] = (at.session_state[version] if version in at.session_state else 0) + 1
        at.run()
    at.button(key=f"code.{exercise_id}.check").click()
    at.run()
    assert_ok(at)
    return feedback(at, exercise_id)


def sidebar_count(at, title: str) -> str:
    line = next(line for line in joined(at.sidebar.markdown).splitlines() if f"{title}:" in line)
    return line.split(":", 1)[1].strip()


def test_pages_declare_their_code_exercises():
    for spec in LESSON_PAGES:
        lesson = importlib.import_module(f"sortlist_app.lessons.{spec.key}")
        assert lesson.LESSON is spec
        ids = tuple(ex.id for ex in exercises_on_page(spec.key))
        assert len(ids) >= 2
        # listed in the order the page renders them (tests/pages/test_lesson_specs.py)
        assert sorted(ex.id for ex in spec.code) == sorted(ids)
        assert set(ids) <= set(spec.exercises)  # so progress totals count them


@pytest.mark.parametrize("spec", LESSON_PAGES, ids=lambda p: p.key)
def test_code_exercises_starter_fails_solution_passes_and_counts(monkeypatch, spec):
    monkeypatch.delenv("SORTLIST_CODE_EXERCISES", raising=False)
    monkeypatch.delenv("SORTLIST_HOSTED", raising=False)
    at = open_page(monkeypatch, spec.path)
    ids = [ex.id for ex in exercises_on_page(spec.key)]
    # a quiz this model cannot pose leaves the count
    n_skipped = sum("Skipped on this model." in str(i.value) for i in at.info)
    n_total = len(spec.exercises) - n_skipped
    skipped = f" ({n_skipped} skipped on this model)" if n_skipped else ""
    assert sidebar_count(at, spec.title) == f"0 of {n_total}{skipped}"
    for solved, exercise_id in enumerate(ids, start=1):
        ex = get_exercise(exercise_id)
        box = code_box(at, exercise_id)
        assert "Reference solution" not in [getattr(n, "label", None) for n in _walk(box)]
        good, bad = submit(at, exercise_id, None)  # the starter as the page shows it
        assert not good and any(NOT_IMPLEMENTED in b for b in bad), (exercise_id, bad)
        assert sidebar_count(at, spec.title) == f"{solved - 1} of {n_total}{skipped}"
        # one attempt made: the reference solution is offered
        assert "Reference solution" in [getattr(n, "label", None) for n in _walk(code_box(at, exercise_id))]
        good, bad = submit(at, exercise_id, ex.solution)
        assert good and not bad, (exercise_id, bad)
        at.run()  # the check reran its fragment only: the sidebar counts it at the next page run
        assert sidebar_count(at, spec.title) == f"{solved} of {n_total}{skipped}"
        titles = [str(n.value) for n in _walk(code_box(at, exercise_id)) if type(n).__name__ == "Markdown"]
        assert any(t.startswith("#### ✅") for t in titles)
        # a passing output equals the reference: one figure, the page's own, not two copies
        charts = [n for n in _walk(code_box(at, exercise_id)) if getattr(n, "type", None) == "plotly_chart"]
        assert len(charts) == (1 if exercise_id in PLOTTED else 0), exercise_id
        # the attempt reached the store, as a quiz's does
        captions = [str(n.value) for n in _walk(code_box(at, exercise_id)) if type(n).__name__ == "Caption"]
        assert any(c.startswith("💾 Saved") for c in captions), (exercise_id, captions)


def test_code_survives_page_switch_and_reset(monkeypatch):
    at = open_page(monkeypatch, "pages/3_circuits.py")
    ex = get_exercise("circuits.full_qk")
    mine = ex.starter.replace("raise NotImplementedError", "return model.W_E  # mine")
    at.session_state["code.circuits.full_qk.text"] = mine
    at.switch_page("pages/1_problem.py")
    at.run()
    at.switch_page("pages/3_circuits.py")
    at.run()
    assert at.session_state["code.circuits.full_qk.text"] == mine
    # the wrong shape is named, and the code stays
    good, bad = submit(at, "circuits.full_qk", None)
    assert not good and bad and "shape" in bad[0].lower(), bad
    assert at.session_state["code.circuits.full_qk.text"] == mine
    at.button(key="code.circuits.full_qk.reset").click()
    at.run()
    assert_ok(at)
    assert at.session_state["code.circuits.full_qk.text"] == ex.starter
    assert feedback(at, "circuits.full_qk") == ([], [])


def test_runner_off_says_why_once_and_quiz_exercises_work(monkeypatch, reference_path, reference_model):
    monkeypatch.setenv("SORTLIST_CODE_EXERCISES", "off")
    at = open_page(monkeypatch, "pages/3_circuits.py", reference_path)
    reasons = [i.value for i in at.info if "Checking code is turned off" in str(i.value)]
    assert len(reasons) == 1 and "SORTLIST_CODE_EXERCISES" in reasons[0], reasons
    for ex in exercises_on_page("circuits"):
        assert at.button(key=f"code.{ex.id}.check").disabled
        statement_start = ex.render_statement(ex.params(reference_model)).split("\n")[0][:40]
        assert statement_start in joined(at.markdown)
    # the quiz exercises still check answers
    resp = head_responsibility(reference_model)
    minor = int(np.argmin([len(c) for c in resp.copies]))
    run = resp.main_range(minor)
    owner = resp.owner[(run.start + run.end) // 2]
    assert check_exercise(at, "circuits.copier_of_token", 1 - owner, "select")[0] is False
    assert check_exercise(at, "circuits.copier_of_token", owner, "select")[0] is True
    # every lesson page says it once, above its first code exercise
    for spec in LESSON_PAGES:
        at.switch_page(spec.path)
        at.run()
        assert_ok(at)
        assert len([i for i in at.info if "Checking code is turned off" in str(i.value)]) == 1, spec.key


def test_busy_runner_keeps_the_code(monkeypatch):
    from sortlist_core.runner import server

    monkeypatch.setattr(
        server.Runner, "run", lambda self, job, **kw: RunOutcome("busy", message="busy (2 running)")
    )
    at = open_page(monkeypatch, "pages/1_problem.py")
    ex = get_exercise("problem.summary")
    good, bad = submit(at, ex.id, ex.solution)
    assert not good and bad and "busy checking other learners' code" in bad[0]
    assert at.session_state[f"code.{ex.id}.text"] == ex.solution
    assert sidebar_count(at, "Problem").startswith("0 of ")  # a busy runner's attempt does not count


def test_exercise_that_cannot_be_posed_leaves_the_page_working(monkeypatch):
    from sortlist_app.widgets import code_exercise

    def refuse(model, exercise_id):
        raise ValueError("no list with three close values fits")

    monkeypatch.setattr(code_exercise, "exercise_params", refuse)
    at = open_page(monkeypatch, "pages/1_problem.py")
    notes = [str(i.value) for i in at.info if "cannot be posed" in str(i.value)]
    assert len(notes) == 2 and "three close values" in notes[0]
    # neither counts towards the page's total, nor does a quiz the model skips
    quizzes_skipped = sum("Skipped on this model." in str(i.value) for i in at.info)
    assert f"({2 + quizzes_skipped} skipped on this model)" in sidebar_count(at, "Problem")
    assert check_exercise(at, "problem.sep_prediction", 999, "number")[0] is False  # quiz still checks


def test_a_wrong_output_is_drawn_above_the_reference_not_beside_it(monkeypatch):
    """The 4-panel DLA grids are unreadable side by side at 1280 px: yours, then the reference."""
    at = open_page(monkeypatch, "pages/5_mystery.py")
    ex = get_exercise("mystery.dla_yz")
    wrong = ex.solution.replace("def dla_yz(", "def _right(") + (
        "\n\ndef dla_yz(*args, **kwargs):\n    return 2 * _right(*args, **kwargs)\n"
    )
    good, bad = submit(at, ex.id, wrong)
    assert not good and bad, bad
    box = code_box(at, ex.id)
    charts = [n for n in _walk(box) if getattr(n, "type", None) == "plotly_chart"]
    assert len(charts) == 2
    assert not [n for n in _walk(box) if type(n).__name__ == "Column"], "stacked, not in columns"


def test_code_and_attempts_come_back_from_the_store_in_a_new_session(monkeypatch):
    """A reload or another device (a new session, same learner key): the last submitted code is
    in the editor, ✅ stays, and the reference solution is offered from the stored attempts."""
    from sortlist_app.widgets.learner import KEY_STATE
    from sortlist_progress.store import new_learner_key

    key = new_learner_key()
    ex = get_exercise("problem.summary")
    first = open_page(monkeypatch, "pages/1_problem.py")
    first.session_state[KEY_STATE] = key
    submit(first, ex.id, ex.solution)
    mine = ex.solution + "\n# my last try\n"
    good, bad = submit(first, ex.id, mine)
    assert good and not bad

    second = AppTest.from_file(APP, default_timeout=60)  # a new session: empty session state
    second.session_state[KEY_STATE] = key  # what the learner's cookie or resume link gives it
    second.run()
    second.switch_page("pages/1_problem.py")
    second.run()
    assert_ok(second)
    assert second.session_state[f"code.{ex.id}.text"] == mine
    box = code_box(second, ex.id)
    titles = [str(n.value) for n in _walk(box) if type(n).__name__ == "Markdown"]
    assert any(t.startswith("#### ✅") for t in titles)
    assert "Reference solution" in [getattr(n, "label", None) for n in _walk(box)]
