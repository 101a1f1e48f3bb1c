"""Progress counts what can be posed: an exercise the model in use cannot pose
(a skipped quiz, a code exercise without well-posed parameters) leaves the sidebar's count
("3 of 3 (1 skipped on this model)"), so solving everything that can be posed shows complete,
on the lesson model, the strong model and a freshly trained model.

Which exercises can be posed is observed from what the pages draw (the quizzes they render, the
code exercises' parameters), independently of the sidebar's own bookkeeping.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sortlist_app.lessons.exercise import Skipped
from sortlist_app.navigation import PAGES
from sortlist_app.widgets import exercise as exercise_widget
from sortlist_app.widgets import progress_session
from sortlist_app.widgets.session_model import default_model
from sortlist_core.checkpoint import save_checkpoint
from sortlist_core.exercises import get_exercise
from sortlist_core.exercises.check import job_params
from sortlist_core.paths import LESSON_MODEL_PATH, STRONG_MODEL_PATH

from ..page_helpers import assert_ok, joined, open_page

ALL = [e for p in PAGES for e in p.exercises]


@pytest.fixture(scope="module")
def trained_path(tmp_path_factory):
    from sortlist_core.training import train
    from tests.tiny import TINY, TINY_RECIPE

    result = train(replace(TINY, n_heads=3), TINY_RECIPE)
    path = tmp_path_factory.mktemp("trained") / "trained_3_heads.pt"
    save_checkpoint(path, result.model.state_dict, result.model.config, {})
    return path


@pytest.mark.parametrize("which", ["lesson", "strong", "trained"])
def test_solving_everything_posable_shows_complete(monkeypatch, request, which):
    path = {"lesson": LESSON_MODEL_PATH, "strong": STRONG_MODEL_PATH}.get(which) or request.getfixturevalue(
        "trained_path"
    )
    drawn: dict[str, object] = {}
    original = exercise_widget.render_exercise

    def spy(exercise, model):
        drawn[exercise.id] = exercise
        return original(exercise, model)

    monkeypatch.setattr(exercise_widget, "render_exercise", spy)
    at = open_page(monkeypatch, PAGES[0].path, path)
    for page in PAGES[1:]:
        at.switch_page(page.path).run()
        assert_ok(at)
    model = default_model().model  # SORTLIST_MODEL_PATH's, as open_page set it
    code_posable = set()
    for exercise_id in ALL:
        if exercise_id in drawn:
            continue
        try:
            job_params(get_exercise(exercise_id), model)
        except Exception:  # noqa: BLE001 - exactly what the page shows as "cannot be posed"
            continue
        code_posable.add(exercise_id)
    posable = {i for i, e in drawn.items() if not isinstance(e, Skipped)} | code_posable
    skipped = set(ALL) - posable
    assert posable, "nothing can be posed?"

    # every posable exercise solved (as `record_attempt` marks a pass), then any page again
    at.session_state[progress_session.PROGRESS_KEY] = {model.weights_sha256: set(posable)}
    at.switch_page(PAGES[0].path).run()
    assert_ok(at)
    lines = [m.value for m in at.sidebar.markdown if "▫️" in m.value or "✅" in m.value]
    assert lines and all(line.startswith("✅") for line in lines), lines
    progress = at.sidebar.get("progress")[0]
    more = f" ({len(skipped)} skipped on this model)" if skipped else ""
    assert progress.proto.text == f"{len(posable)} of {len(posable)} exercises solved{more}"
    assert progress.proto.value == 100
    for page in PAGES:
        page_skipped = len(set(page.exercises) & skipped)
        if page.exercises:
            total = len(page.exercises) - page_skipped
            note = f" ({page_skipped} skipped on this model)" if page_skipped else ""
            assert f"✅ {page.title}: {total} of {total}{note}" in joined(at.sidebar.markdown)
