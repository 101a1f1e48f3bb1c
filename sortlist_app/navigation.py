"""The app's pages, in menu order, built from the lessons' specs: `app.py` (st.navigation), the
sidebar's exercise progress, the instructor's table and the tests read `PAGES`.

Each module of `sortlist_app/lessons/` that ends with `LESSON = Lesson(...)` (see
`lessons/spec.py`) is a page: its key (URL path), script, menu position, title, icon and the
exercises it renders. Adding a page is a page script and a lesson module with its spec (plus the
page's analysis and code exercises in `sortlist_core`); nothing here lists pages. The quiz and
code widgets refuse an exercise no spec lists, so progress totals stay right.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from sortlist_app import lessons
from sortlist_app.lessons.spec import Lesson, Page


def lessons_in(package: ModuleType) -> tuple[Lesson, ...]:
    """The `LESSON` of every module of `package` that declares one, in menu order."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        spec = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "LESSON", None)
        if isinstance(spec, Lesson):
            if spec.key != info.name:  # one name for the lesson module, the URL and the ids' prefix
                raise ValueError(f"{package.__name__}.{info.name} declares the key {spec.key!r}")
            found.append(spec)
    found.sort(key=lambda spec: spec.order)
    orders = [spec.order for spec in found]
    if len(set(orders)) != len(orders):
        raise ValueError(f"two lessons share a menu position: {[(s.key, s.order) for s in found]}")
    return tuple(found)


PAGES: tuple[Lesson, ...] = lessons_in(lessons)

# The instructor's view (`widgets/instructor_view.py`; its script is outside pages/): registered in
# st.navigation only for a session holding the instructor token; no exercises, not in PAGES.
INSTRUCTOR_PAGE = Page("instructor", "sortlist_app/instructor_page.py", "Instructor", "🧑‍🏫")


def page_of_exercise(exercise_id: str) -> Lesson | None:
    """The page whose spec lists `exercise_id`."""
    return next((p for p in PAGES if exercise_id in p.exercises), None)
