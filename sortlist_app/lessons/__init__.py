"""One module per page of the app: each lesson owns its page's teaching text (its prose templates,
`*_PROSE`, and the measured facts they are filled with), graders, exercise definitions
(`<name>_exercise(results...) -> Exercise`), URL parameters (`URL_PARAMS`), and ends with its
page's spec, declared once (`LESSON = Lesson(...)`, see `spec`): key, script, menu position,
title, icon, the ids of its quizzes (constants defined there, used by its `Exercise(id=...)`)
and its code exercises by reference (the `CodeExercise`s of `sortlist_core/exercises/<page>.py`).
`sortlist_app.navigation` finds every `LESSON`; nothing else lists pages or exercises.

Lessons import no streamlit: they are plain functions from analysis results (`sortlist_core`) to
values, tested as such in `tests/lessons/`. Pages (`pages/*.py`) lay them out with the widgets of
`sortlist_app/widgets/`.

- `problem`, `attention`, `circuits`, `adversarial`, `mystery`, `explain`: the lessons; `model`:
  the Model page's wording (a spec without exercises).
- `spec`: `Page` and `Lesson`, what a lesson declares about its page.
- `exercise`: the `Exercise`, `Answer` and `Grade` types and graders several lessons share.
- `wording`: number formats, `fill` for the lessons' prose templates and facts used by more
  than one lesson.
- `url_params`: the one URL codec (`Param`, lists, indices, seeds, heads).
"""
