"""The Explain page in real Chromium, with the real runner, on three models: the lesson model
(the app's default), ARENA's original checkpoint and a 3-head model trained here with the CLI's
fast recipe. The learner loads the write-up's hypothesis, tests it, sees the fraction of loss
recovered and the five worst lists (linked to the Attention and Mystery pages), edits the code
in the Ace editor and sees the number change; then solves the page's two graded exercises and
the sidebar counts them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sortlist_core.exercises import exercises_on_page

from .harness import (
    BUNDLED_MODEL,
    MODEL_PATH_ENV,
    REFERENCE_MODEL,
    REPO_ROOT,
    NetworkLog,
    StreamlitServer,
    app_pages,
    assert_no_exception,
    offline_context,
    open_page,
    wait_ready,
)
from .test_code_exercises import solve

pytestmark = pytest.mark.e2e
RUN_S = 180  # a cold runner imports torch + TransformerLens, then builds the model
TYPE_SETTLE_MS = 1200  # the editor sends its text after a short debounce
# Every value to the first head, none to the others: routing the model does not use.
EDIT = "\n\ndef handles(head):\n    return set(range(model.cfg.d_vocab - 1)) if head == 0 else set()\n"


def recovered(page: Page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Loss recovered")
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def press_test(page: Page, n_links: int, previous: str | None = None) -> str:
    """Press "Test my hypothesis"; wait for a recovered fraction (different from `previous`)."""
    page.get_by_role("button", name="Test my hypothesis").click()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Loss recovered")
    metric.first.wait_for(timeout=RUN_S * 1000)
    if previous is not None:
        expect(metric.locator('[data-testid="stMetricValue"]')).not_to_have_text(
            previous, timeout=RUN_S * 1000
        )
    wait_ready(page, n_links)
    return recovered(page)


def load_test_edit_retest(page: Page, n_links: int) -> tuple[str, str]:
    """The whole round trip; returns (recovered before, after the edit)."""
    page.get_by_role("button", name="Load: The write-up's algorithm").click()
    wait_ready(page, n_links)
    before = press_test(page, n_links)
    assert re.fullmatch(r"-?\d+(\.\d)?%", before), before
    links = page.get_by_role("link", name="open in Attention")
    expect(links).to_have_count(5)
    assert all("attention?lists=" in (a.get_attribute("href") or "") for a in links.all())
    expect(page.get_by_role("link", name="open in Mystery")).to_have_count(5)
    editor = page.frame_locator('[data-testid="stMain"] iframe').first.locator(".ace_text-input")
    editor.focus()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(EDIT)
    page.wait_for_timeout(TYPE_SETTLE_MS)
    wait_ready(page, n_links)
    after = press_test(page, n_links, previous=before)
    return before, after


@pytest.fixture(scope="module")
def three_head_path(tmp_path_factory) -> Path:
    """A 3-head model trained with the CLI's fast recipe (about half a minute on one thread)."""
    out = tmp_path_factory.mktemp("three_heads") / "three_heads.pt"
    cmd = [sys.executable, "-m", "sortlist_core", "train", "--n-heads", "3", "--seed", "1", "--threads", "1"]
    subprocess.run([*cmd, "--quiet", "--out", str(out)], cwd=REPO_ROOT, check=True, timeout=900)
    return out


@pytest.mark.parametrize("model", ["lesson", "original", "three_heads"])
def test_learner_tests_and_edits_an_explanation(model, browser, tmp_path, request):
    if model == "lesson":
        if not BUNDLED_MODEL.is_file():
            pytest.fail("the bundled models are missing")
        env = {}
    elif model == "original":
        if not REFERENCE_MODEL.is_file():
            pytest.skip(f"no reference checkpoint at {REFERENCE_MODEL}")
        env = {MODEL_PATH_ENV: str(REFERENCE_MODEL)}
    else:
        env = {MODEL_PATH_ENV: str(request.getfixturevalue("three_head_path"))}
    explain = next(p for p in app_pages() if p.key == "explain")
    n_links = len(app_pages())
    network = NetworkLog()
    with StreamlitServer(tmp_path / "server.log", env) as server:
        context = offline_context(browser, network)
        page = context.new_page()
        try:
            open_page(page, server.url, explain, n_links)
            assert_no_exception(page, f"explain on {model}", server)
            before, after = load_test_edit_retest(page, n_links)
            assert float(before[:-1]) > 90, before  # the write-up's story holds on each of them
            assert float(after[:-1]) < float(before[:-1]), (before, after)
            assert_no_exception(page, f"explain on {model} after the edit", server)
            # the page's two graded code exercises, solved through the same editor and runner
            for ex in exercises_on_page("explain"):
                assert "Correct" in solve(page, ex, n_links), ex.id
            # a check reruns only its fragment: the sidebar counts the solves at the next page run
            open_page(page, server.url, explain, n_links)
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar).to_contain_text("Explain it: 2 of 2", timeout=RUN_S * 1000)
            assert not network.blocked, f"requests that leave localhost: {network.blocked}"
        finally:
            context.close()
