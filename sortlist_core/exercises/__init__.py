"""Code exercises: the learner writes one step of the write-up as a Python function; a trusted
checker compares its value with `sortlist_core`'s own analysis of the model in use.

A page's exercises live in this package's module of the same name (`circuits.py` for the page
`circuits`): its `EXERCISES`, in the order its notebook shows them, and the notebook's
`NOTEBOOK_TITLE`. Nothing else registers them: `all_exercises()` finds every such module, so a
new page's module is picked up as it is. The app places them through its lessons' specs
(`sortlist_app.lessons.spec`); this package imports nothing from the app.

`all_exercises()` / `get_exercise(id)` / `exercises_on_page(page)`; running learner code safely
is `sortlist_core.runner`'s job (see `check.check_submission`); notebooks and trusted tests use
`local.check_in_process`.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
from types import ModuleType

from .spec import CodeExercise
from .verdict import Verdict, compare


def find_pages(package: ModuleType) -> dict[str, ModuleType]:
    """{page: its module} for every module of `package` that defines `EXERCISES`, by name."""
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if not hasattr(module, "EXERCISES"):
            continue
        misplaced = [ex.id for ex in module.EXERCISES if ex.page != info.name]
        if misplaced:  # an id names its page, and a page's exercises are its module's
            raise ValueError(f"{package.__name__}.{info.name} defines exercises of another page: {misplaced}")
        found[info.name] = module
    return found


@functools.cache
def page_modules() -> dict[str, ModuleType]:
    """{page: its module} in this package."""
    return find_pages(sys.modules[__name__])


def pages() -> tuple[str, ...]:
    """The pages that have code exercises, by name."""
    return tuple(page_modules())


@functools.cache
def all_exercises() -> tuple[CodeExercise, ...]:
    """Every exercise, page by page (pages by name), each page's in its module's order."""
    exercises = tuple(ex for module in page_modules().values() for ex in module.EXERCISES)
    ids = [ex.id for ex in exercises]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate exercise ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return exercises


def get_exercise(exercise_id: str) -> CodeExercise:
    """The exercise with this id; KeyError naming the known ids otherwise."""
    for ex in all_exercises():
        if ex.id == exercise_id:
            return ex
    known = ", ".join(ex.id for ex in all_exercises())
    raise KeyError(f"unknown exercise {exercise_id!r}; known: {known}")


def exercises_on_page(page: str) -> tuple[CodeExercise, ...]:
    return tuple(ex for ex in all_exercises() if ex.page == page)


def notebook_title(page: str) -> str:
    """The heading of the page's notebook (its module's `NOTEBOOK_TITLE`)."""
    return page_modules()[page].NOTEBOOK_TITLE


__all__ = [
    "CodeExercise",
    "Verdict",
    "all_exercises",
    "compare",
    "exercises_on_page",
    "find_pages",
    "get_exercise",
    "notebook_title",
    "pages",
]
