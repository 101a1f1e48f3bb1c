"""A learner solves the code exercises in real Chromium (requests that leave localhost blocked):
types the reference solution into the Ace editor, presses Check, and the real runner (sandbox
where bubblewrap works) answers "Correct" and the sidebar counts it.

One server per model: every exercise on the bundled model; on the original checkpoint and on a
3-head model trained here, a subset of four from four pages (one server start and the pages'
first runs cost far more than a check on 2 CPU cores; set SORTLIST_E2E_ALL_CODE=1 for all 12 on
every model). Also writes docs/screenshots/code_exercise.png (a solved exercise with its plots).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sortlist_app.navigation import PAGES
from sortlist_core.exercises import CodeExercise, all_exercises

from .harness import (
    BUNDLED_MODEL,
    MODEL_PATH_ENV,
    REFERENCE_MODEL,
    SCREENSHOT_DIR,
    VIEWPORT,
    NetworkLog,
    StreamlitServer,
    app_pages,
    assert_no_exception,
    offline_context,
    open_page,
    wait_ready,
)

pytestmark = pytest.mark.e2e

SUBSET = ("problem.summary", "attention.mean_ablation", "circuits.full_ov", "mystery.dla_yz")
CHECK_S = 120  # a cold runner imports torch + TransformerLens first; the adversarial ones search
TYPE_SETTLE_MS = 1200  # the editor sends its text after a short debounce


def selection(model: str) -> list[CodeExercise]:
    everything = model == "bundled" or os.environ.get("SORTLIST_E2E_ALL_CODE") == "1"
    return [ex for ex in all_exercises() if everything or ex.id in SUBSET]


@pytest.fixture(scope="module")
def three_head_path(tmp_path_factory) -> Path:
    """A freshly trained 3-head model of the full task size (a few hundred steps: its accuracy
    does not matter, only that every exercise is well-posed on it)."""
    from sortlist_core.config import ModelConfig
    from sortlist_core.training import train

    from ..tiny import tiny_recipe

    cfg = ModelConfig(n_heads=3, d_model=32, d_head=8)
    result = train(cfg, tiny_recipe(n_train=128 * 25, eval_every=25, val_size=200))
    return result.save(tmp_path_factory.mktemp("three_heads") / "three_heads.pt")


def model_env(model: str, request) -> dict[str, str]:
    if model == "bundled":
        if not BUNDLED_MODEL.is_file():
            pytest.skip("no bundled model")
        return {}
    if model == "reference":
        if not REFERENCE_MODEL.is_file():
            pytest.skip(f"no reference checkpoint at {REFERENCE_MODEL}")
        return {MODEL_PATH_ENV: str(REFERENCE_MODEL)}
    return {MODEL_PATH_ENV: str(request.getfixturevalue("three_head_path"))}


def exercise_box(page, ex: CodeExercise):
    """The exercise's bordered box: the innermost block holding its title (ancestors come first
    in document order, so the last match is the innermost)."""
    title = f"Write the analysis yourself: {ex.title}"
    return (
        page.locator('[data-testid="stVerticalBlock"]').filter(has=page.get_by_text(title, exact=False)).last
    )


def solve(page, ex: CodeExercise, n_links: int) -> str:
    """Type the reference solution into the editor, press Check, return the success text."""
    box = exercise_box(page, ex)
    box.scroll_into_view_if_needed()
    editor = box.frame_locator("iframe").first.locator(".ace_text-input")
    editor.focus()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(ex.solution)
    page.wait_for_timeout(TYPE_SETTLE_MS)
    wait_ready(page, n_links)
    box.get_by_role("button", name="Check my code").click()
    success = box.locator('[data-testid="stAlertContentSuccess"]')
    warning = box.locator('[data-testid="stAlertContentWarning"]')
    success.or_(warning).first.wait_for(timeout=CHECK_S * 1000)
    wait_ready(page, n_links)
    assert not warning.count(), f"{ex.id}: {warning.first.inner_text()}"
    return success.first.inner_text()


@pytest.mark.parametrize("model", ["bundled", "reference", "three_heads"])
def test_learner_solves_code_exercises(model, browser, tmp_path, request):
    env = model_env(model, request)
    exercises = selection(model)
    n_links = len(PAGES)
    network = NetworkLog()
    with StreamlitServer(tmp_path / "server.log", env) as server:
        context = offline_context(browser, network)
        page = context.new_page()
        try:
            for app_page in app_pages():
                mine = [ex for ex in exercises if ex.page == app_page.key]
                if not mine:
                    continue
                open_page(page, server.url, app_page, n_links)
                title = next(p.title for p in PAGES if p.key == app_page.key)
                for ex in mine:
                    message = solve(page, ex, n_links)
                    assert "Correct" in message, (ex.id, message)
                    assert_no_exception(page, f"{model}: {ex.id}", server)
                    if model == "bundled" and ex.id == "circuits.full_ov":
                        screenshot(page, ex)
                # a check reruns only its exercise's fragment: the sidebar counts the solves at the
                # next page run, here a reload of the page
                open_page(page, server.url, app_page, n_links)
                sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
                count = re.search(rf"{re.escape(title)}: (\d+) of \d+", sidebar)
                assert count and int(count.group(1)) >= len(mine), sidebar
            assert not network.blocked, f"requests that leave localhost: {network.blocked}"
        finally:
            context.close()


def screenshot(page, ex: CodeExercise) -> None:
    """The solved exercise's box (verdict and the two plots) at 1280 px, for the README.
    Streamlit scrolls inside `stMain`: the viewport is stretched to its height for the shot."""
    box = exercise_box(page, ex)
    box.locator('[data-testid="stPlotlyChart"]').first.wait_for()  # a pass draws one figure
    page.mouse.move(0, 0)  # no tooltip over the buttons
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(min(max(height, 900), 16_000))})
        page.wait_for_timeout(1000)  # relayout and plotly's redraw
        box.screenshot(path=str(SCREENSHOT_DIR / "code_exercise.png"), animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)
