"""Helpers for the AppTest suites of the Adversarial, Mystery and Model pages."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from sortlist_app.widgets.session_model import MODEL_PATH_ENV

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(
    monkeypatch, page: str, model_path: Path | str | None = None, query: dict[str, str] | None = None
) -> AppTest:
    """Run the app once (default page), then switch to `page` and run it, with the default model
    taken from `model_path` (None: the real default, i.e. the bundled model)."""
    if model_path is None:
        monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    else:
        monkeypatch.setenv(MODEL_PATH_ENV, str(model_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if query:
        at.query_params.update(query)
    at.switch_page(page)
    at.run()
    assert_ok(at)
    return at


def default_model_usable() -> bool:
    """Whether the real default model (bundled, or $SORTLIST_MODEL_PATH) loads."""
    from sortlist_core.checkpoint import CheckpointError, load_checkpoint
    from sortlist_core.paths import BUNDLED_MODEL_PATH

    try:
        load_checkpoint(BUNDLED_MODEL_PATH)
    except CheckpointError:
        return False
    return True


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def joined(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _exercise_box(at: AppTest, exercise_id: str):
    """The bordered container that holds the exercise's Check button."""
    key = f"exercise.{exercise_id}.check"
    best = None
    for node in _walk(at._tree):
        if getattr(node, "type", None) == "vertical" or hasattr(node, "children"):
            if any(getattr(n, "key", None) == key for n in _walk(node)) and node is not at._tree:
                best = node  # the deepest block containing the button wins (walk is pre-order)
    return best


def check_exercise(at: AppTest, exercise_id: str, answer, kind: str) -> tuple[bool, str]:
    """Enter `answer` into the exercise's widget, press Check; (accepted?, its feedback text)."""
    key = f"exercise.{exercise_id}.answer"
    if kind == "text":
        at.text_input(key=key).input(answer)
    elif kind == "number":
        at.text_input(key=key).input(str(answer))
    else:
        at.selectbox(key=key).select(answer)
    at.run()
    at.button(key=f"exercise.{exercise_id}.check").click()
    at.run()
    assert_ok(at)
    box = _exercise_box(at, exercise_id)
    assert box is not None, f"exercise {exercise_id} not rendered"
    nodes = list(_walk(box))
    good = [str(n.value) for n in nodes if type(n).__name__ == "Success"]
    bad = [str(n.value) for n in nodes if type(n).__name__ == "Warning"]
    assert good or bad, f"no feedback for {exercise_id}"
    return bool(good), "\n".join(good + bad)


def show_solutions(at: AppTest, *exercise_ids: str) -> AppTest:
    """Press each exercise's "Show the solution" (what the page holds back until then appears)."""
    for exercise_id in exercise_ids:
        at.button(key=f"exercise.{exercise_id}.solution").click()
        at.run()
        assert_ok(at)
    return at
