"""A lesson is declared once: each lesson module's `LESSON` spec is the only list of its page's
exercises; navigation and the exercise registry find the specs and modules themselves, and an
exercise id is written where the exercise is defined and at most once where a page places it."""

from __future__ import annotations

import ast
import os
import sys
import textwrap
from pathlib import Path

import pytest

from sortlist_app import lessons
from sortlist_app.lessons.spec import Lesson
from sortlist_app.navigation import INSTRUCTOR_PAGE, PAGES, lessons_in, page_of_exercise
from sortlist_core import exercises as exercises_package
from sortlist_core.exercises import all_exercises, exercises_on_page, find_pages, pages

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", ".git", "tests", "node_modules", "__pycache__"}


def test_pages_in_menu_order_with_their_urls_and_scripts():
    assert [p.key for p in PAGES] == [
        "problem",
        "attention",
        "circuits",
        "adversarial",
        "mystery",
        "explain",
        "model",
    ]
    for spec in PAGES + (INSTRUCTOR_PAGE,):
        assert (ROOT / spec.path).is_file(), spec.path
    # Streamlit infers a page's URL path from its file name (`3_circuits.py` -> `circuits`); the
    # entry-point guard relies on it matching the key (sortlist_app/server/entrypoint.py)
    for spec in PAGES:
        assert (
            spec.path == f"pages/{Path(spec.path).name}" and Path(spec.path).stem.split("_", 1)[1] == spec.key
        )
    # every page script belongs to a lesson: nothing to register beside the spec
    assert sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py")) == sorted(
        p.path for p in PAGES
    )


def test_every_code_exercise_is_placed_by_its_pages_spec():
    for spec in PAGES:
        assert set(spec.code) == set(exercises_on_page(spec.key)), spec.key
    placed = [ex for spec in PAGES for ex in spec.code]
    assert sorted(ex.id for ex in placed) == sorted(ex.id for ex in all_exercises())
    assert set(pages()) == {spec.key for spec in PAGES if spec.code}
    for ex in placed:
        assert page_of_exercise(ex.id).key == ex.page
    assert page_of_exercise("circuits.no_such_exercise") is None


def test_a_spec_refuses_exercises_of_another_page_and_repeats():
    with pytest.raises(ValueError, match="another page"):
        Lesson(
            key="circuits", path="pages/3_circuits.py", title="t", icon="i", order=1, quizzes=("mystery.x",)
        )
    with pytest.raises(ValueError, match="twice"):
        Lesson(
            key="circuits",
            path="pages/3_circuits.py",
            title="t",
            icon="i",
            order=1,
            quizzes=("circuits.x",) * 2,
        )


def _package(tmp_path: Path, name: str, modules: dict[str, str]):
    """A throwaway package `name` of these modules, importable for this test."""
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, body in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_a_new_lesson_module_is_a_page_without_registering_it(tmp_path):
    spec = 'from sortlist_app.lessons.spec import Lesson\nLESSON = Lesson(key={key!r}, path="pages/{order}_{key}.py", title="T", icon="I", order={order}, quizzes=({key!r} + ".q",))\n'
    package = _package(
        tmp_path,
        "fake_lessons",
        {
            "later": spec.format(key="later", order=9),
            "sooner": spec.format(key="sooner", order=8),
            "wording": "X = 1\n",
        },
    )
    found = lessons_in(package)
    assert [s.key for s in found] == ["sooner", "later"]  # by menu position, not by file name
    assert found[0].exercises == ("sooner.q",)
    wrong = _package(tmp_path, "fake_lessons_wrong_key", {"named": spec.format(key="other", order=1)})
    with pytest.raises(ValueError, match="declares the key 'other'"):
        lessons_in(wrong)
    clash = _package(
        tmp_path,
        "fake_lessons_clash",
        {"a": spec.format(key="a", order=1), "b": spec.format(key="b", order=1)},
    )
    with pytest.raises(ValueError, match="menu position"):
        lessons_in(clash)
    assert [s.key for s in lessons_in(lessons)] == [p.key for p in PAGES]


EXERCISE_MODULE = """
from sortlist_core.exercises.spec import CodeExercise
from sortlist_core.exercises.verdict import Verdict

ONE = CodeExercise(
    id={id!r}, title="t", statement="s", starter="", solution="", hints=(), entry="f", inputs=(),
    params=lambda model: {{}}, check=lambda model, params, value: Verdict(True, ""),
)
NOTEBOOK_TITLE = "A new page"
EXERCISES = (ONE,)
"""


def test_a_new_exercise_module_is_found_without_registering_it(tmp_path):
    package = _package(
        tmp_path,
        "fake_exercises",
        {"newpage": EXERCISE_MODULE.format(id="newpage.one"), "helpers": "X = 1\n"},
    )
    found = find_pages(package)
    assert list(found) == ["newpage"] and found["newpage"].EXERCISES[0].page == "newpage"
    wrong = _package(
        tmp_path, "fake_exercises_wrong", {"newpage": EXERCISE_MODULE.format(id="otherpage.one")}
    )
    with pytest.raises(ValueError, match="another page"):
        find_pages(wrong)
    # the real package: every module of it with exercises, and only those
    real = find_pages(exercises_package)
    on_disk = {
        p.stem
        for p in Path(exercises_package.__file__).parent.glob("*.py")
        if "\nEXERCISES = " in p.read_text()
    }
    assert set(real) == on_disk == set(pages())


def _string_literals(path: Path) -> list[str]:
    return [
        n.value
        for n in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _source_files() -> list[Path]:
    """Every .py file of the project outside tests (and the venv, caches, git)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder, f) for f in files if f.endswith(".py") and not f.startswith("test_")]
    return found


def test_an_exercise_id_is_written_where_it_is_defined_and_at_most_where_its_page_places_it():
    """Outside tests, an id string appears once where the exercise is defined (the lesson's
    constant for a quiz, the `CodeExercise` for code) and at most once in its page script."""
    ids = {i: spec for spec in PAGES for i in spec.exercises}
    assert len(ids) >= 20
    found: dict[str, list[str]] = {i: [] for i in ids}
    for path in _source_files():
        for value in _string_literals(path):
            if value in found:
                found[value].append(str(path.relative_to(ROOT)))
    for exercise_id, spec in ids.items():
        home = (
            f"sortlist_app/lessons/{spec.key}.py"
            if exercise_id in spec.quizzes
            else f"sortlist_core/exercises/{spec.key}.py"
        )
        where = found[exercise_id]
        assert where.count(home) == 1, (exercise_id, where)
        elsewhere = [w for w in where if w != home]
        assert elsewhere in ([], [spec.path]), (exercise_id, where)


def test_the_id_scan_sees_literals_and_only_literals(tmp_path):
    """The scan above is not blind: it reads string constants anywhere, not comments or docstrings' text."""
    path = tmp_path / "m.py"
    path.write_text(
        '"""Uses "circuits.full_ov" in prose."""\n# "circuits.full_ov"\nX = {"k": "circuits.full_ov"}\n'
    )
    assert _string_literals(path).count("circuits.full_ov") == 1
    assert any(p.parts[-2:] == ("pages", "3_circuits.py") for p in _source_files())
    assert not any("tests" in p.relative_to(ROOT).parts for p in _source_files())


def test_the_widgets_refuse_an_exercise_no_spec_lists():
    """What keeps the sidebar's totals right: a page cannot render an exercise its spec omits."""
    from dataclasses import replace

    from sortlist_app.lessons.exercise import Skipped
    from sortlist_app.widgets import code_exercise
    from sortlist_app.widgets.exercise import render_exercise
    from sortlist_core.exercises.circuits import FULL_OV

    with pytest.raises(ValueError, match="LESSON.code"):
        code_exercise.render(replace(FULL_OV, id="circuits.unlisted"), model=None)
    with pytest.raises(ValueError, match="LESSON.quizzes"):
        render_exercise(Skipped("circuits.unlisted", "Unlisted", "not in the spec"), model=None)
    with pytest.raises(ValueError, match="LESSON.quizzes"):  # a code exercise's id is no quiz's
        render_exercise(Skipped(FULL_OV.id, "Unlisted", "not in the spec"), model=None)
