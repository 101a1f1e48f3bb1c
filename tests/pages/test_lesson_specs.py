"""Each page renders exactly the exercises its lesson's spec lists, in the spec's order: quizzes
(`LESSON.quizzes`) and code exercises (`LESSON.code`), observed from what the page scripts draw
in AppTest on the bundled model (on which every exercise has an instance or a skip notice)."""

from __future__ import annotations

from sortlist_app.navigation import PAGES
from sortlist_app.widgets import code_exercise
from sortlist_app.widgets import exercise as exercise_widget

from ..page_helpers import assert_ok, open_page


def test_every_page_renders_the_exercises_of_its_spec_in_order(monkeypatch):
    monkeypatch.setenv("SORTLIST_CODE_EXERCISES", "off")  # drawn all the same, nothing is run
    quizzes: list[str] = []
    code: list[object] = []
    render_quiz, render_code = exercise_widget.render_exercise, code_exercise.render

    def spy_quiz(exercise, model):
        quizzes.append(exercise.id)  # an Exercise or its Skipped notice: the same id
        return render_quiz(exercise, model)

    def spy_code(exercise, model):
        code.append(exercise)
        return render_code(exercise, model)

    monkeypatch.setattr(exercise_widget, "render_exercise", spy_quiz)
    monkeypatch.setattr(code_exercise, "render", spy_code)
    at = open_page(monkeypatch, PAGES[0].path)
    for spec in PAGES:
        quizzes.clear()
        code.clear()
        at.switch_page(spec.path).run()
        assert_ok(at)
        assert tuple(quizzes) == spec.quizzes, spec.key
        assert tuple(code) == spec.code, spec.key
    assert sum(len(spec.exercises) for spec in PAGES) >= 20  # not vacuous: the pages have exercises
