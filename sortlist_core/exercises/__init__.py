"""Code exercises: the learner writes one step of the write-up as a Python function; a trusted
checker compares its value with `sortlist_core`'s own analysis of the model in use.

`all_exercises()` / `get_exercise(id)`; running learner code safely is `sortlist_core.runner`'s
job (see `check.check_submission`); notebooks and trusted tests use `local.check_in_process`.
"""

from __future__ import annotations

from .spec import PAGES, CodeExercise
from .verdict import Verdict, compare


def all_exercises() -> tuple[CodeExercise, ...]:
    """Every exercise, page by page in the app's order."""
    from . import adversarial, attention, circuits, explain, mystery, problem

    return (
        problem.EXERCISES
        + attention.EXERCISES
        + circuits.EXERCISES
        + adversarial.EXERCISES
        + mystery.EXERCISES
        + explain.EXERCISES
    )


def get_exercise(exercise_id: str) -> CodeExercise:
    """The exercise with this id; KeyError naming the known ids otherwise."""
    for ex in all_exercises():
        if ex.id == exercise_id:
            return ex
    known = ", ".join(ex.id for ex in all_exercises())
    raise KeyError(f"unknown exercise {exercise_id!r}; known: {known}")


def exercises_on_page(page: str) -> tuple[CodeExercise, ...]:
    return tuple(ex for ex in all_exercises() if ex.page == page)


__all__ = [
    "PAGES",
    "CodeExercise",
    "Verdict",
    "all_exercises",
    "compare",
    "exercises_on_page",
    "get_exercise",
]
