"""What a lesson declares about its page, once: `LESSON = Lesson(...)` at the end of
`lessons/<key>.py`. Navigation, the sidebar's progress and the instructor's table are built from
these specs (`sortlist_app.navigation` finds them); nothing else lists a page or its exercises.

    LESSON = Lesson(
        key="circuits",  # the URL path (`/circuits`) and the lesson module's name
        path="pages/3_circuits.py",  # the page script, relative to app.py
        order=30,  # its place in the menu: tens, so a page fits in between without renumbering
        title="OV/QK circuits",
        icon="🔌",
        quizzes=(COPIER, COPY_COUNT, TOP_SOURCE),  # the quiz ids, constants of the lesson
        code=(code.FULL_OV, code.COPYING_HEAD, ...),  # sortlist_core/exercises/circuits.py's, in page order
    )
"""

from __future__ import annotations

from dataclasses import dataclass

from sortlist_core.exercises import CodeExercise


@dataclass(frozen=True)
class Page:
    """A page of the app's menu."""

    key: str  # short name, also the URL path (`/attention`)
    path: str  # the script, relative to app.py
    title: str
    icon: str


@dataclass(frozen=True)
class Lesson(Page):
    """A lesson's page: where it sits in the menu and the exercises it renders."""

    order: int  # position in the menu, lowest first (the lessons count in tens: 10, 20, ...)
    # ids of the quizzes the page renders, in that order, `<key>.<name>` (the lesson's constants,
    # used by its `Exercise(id=...)` and `Skipped(...)`)
    quizzes: tuple[str, ...] = ()
    # the code exercises the page renders, in that order (from sortlist_core/exercises/<key>.py)
    code: tuple[CodeExercise, ...] = ()

    def __post_init__(self) -> None:
        strays = [i for i in self.exercises if not i.startswith(f"{self.key}.")]
        if strays:  # `<key>.<name>`: the store keeps attempts by id, so pages never share one
            raise ValueError(f"lesson {self.key!r} lists exercises of another page: {strays}")
        if len(set(self.exercises)) != len(self.exercises):
            raise ValueError(f"lesson {self.key!r} lists an exercise twice: {self.exercises}")

    @property
    def exercises(self) -> tuple[str, ...]:
        """Every exercise id the page renders: its quizzes, then its code exercises."""
        return self.quizzes + tuple(ex.id for ex in self.code)
