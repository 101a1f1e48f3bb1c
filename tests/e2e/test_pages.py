"""Every page of the running app in a real (headless Debian Chromium) browser, offline.

For each page of `sortlist_app.navigation.PAGES`: open it by URL path, wait for the script run
to finish, check there is no exception box, that the plotly charts are drawn and that every
circuitsvis view rendered inside its iframe, do one real interaction and check the page changed
accordingly, then save a full-page screenshot (1280 px wide) to `docs/screenshots/<page>.png`.
Any request that leaves localhost is aborted and fails the test (no CDN dependency).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .harness import (
    BUNDLED_MODEL,
    REFERENCE_MODEL,
    SCREENSHOT_DIR,
    VIEWPORT,
    AppPage,
    app_pages,
    assert_charts_drawn,
    assert_circuitsvis_rendered,
    assert_no_exception,
    circuitsvis_frames,
    full_page_screenshot,
    open_page,
    traceback_lines,
    wait_ready,
)

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 120_000


@dataclass
class Ctx:
    page: Page
    n_links: int
    tmp_path: Path

    def ready(self) -> None:
        wait_ready(self.page, self.n_links)

    def n_charts(self) -> int:
        return self.page.locator('[data-testid="stPlotlyChart"]').count()


def exercise_box(page: Page, answer_label):
    """The bordered exercise container holding the answer widget labelled `answer_label`."""
    answer = page.get_by_label(answer_label)
    return (
        page.locator('[data-testid="stVerticalBlock"]')
        .filter(has=answer)
        .filter(has=page.get_by_role("button", name="Check answer"))
        .last
    )


# --------------------------------------------------------------------------- interactions


def interact_problem(c: Ctx) -> None:
    """Type a custom list: the verdict and the model's output for it appear, with a heatmap."""
    before = c.n_charts()
    box = c.page.get_by_label(re.compile(r"distinct integers"))
    box.fill("9, 8, 7, 6, 5, 4, 3, 2, 1, 0")
    box.press("Enter")
    verdict = c.page.get_by_text(re.compile(r"The model (sorts it correctly|gets \d+ position)"))
    expect(verdict).to_be_visible(timeout=TIMEOUT_MS)
    c.ready()
    text = verdict.inner_text()
    if "sorts it correctly" in text:
        assert "0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in text, text
    assert c.n_charts() == before + 1, "no heatmap for the custom list"


def interact_attention(c: Ctx) -> None:
    """Type a list of your own: its circuitsvis view is added next to the evaluation list's."""
    assert_iframes_fit(c)  # as first drawn, at 1280 x 900
    before = circuitsvis_frames(c.page).count()
    area = c.page.get_by_label(re.compile(r"your own lists"))
    area.fill("3, 1, 4, 15, 9, 2, 6, 5, 35, 8")
    area.press("Control+Enter")
    expect(c.page.get_by_text("your list 1").first).to_be_visible(timeout=TIMEOUT_MS)
    c.ready()
    assert circuitsvis_frames(c.page).count() == before + 1, "no circuitsvis view for the typed list"
    expect(c.page.locator('[data-testid="stIFrame"][title*="your list 1"]')).to_have_count(1)
    c.page.set_viewport_size({"width": 1280, "height": 1440})
    try:
        assert_iframes_fit(c)
    finally:
        c.page.set_viewport_size(VIEWPORT)


def assert_iframes_fit(c: Ctx) -> None:
    """A circuitsvis view grew to 2156 px around ~600 px of drawing (~1500 px blank):
    each iframe of the main area is as tall as what it drew (the sidebar's 1 px cookie frame draws
    nothing)."""
    c.page.wait_for_timeout(3_000)  # the view draws, then reports its size
    sizes = c.page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stIFrame"]')].map(f => {
          const cv = f.contentDocument && f.contentDocument.getElementById('cv');
          return [f.getBoundingClientRect().height, cv ? cv.getBoundingClientRect().bottom : null];
        })"""
    )
    assert sizes and all(cv is not None and frame <= cv + 40 for frame, cv in sizes), sizes


def interact_circuits(c: Ctx) -> None:
    """Move the destination-token slider one step: the QK bar chart follows."""
    slider = c.page.get_by_role("slider", name=re.compile("Destination token"))
    old = int(slider.input_value())
    slider.focus()
    slider.press("ArrowRight")
    new = old + 1
    expect(slider).to_have_value(str(new), timeout=TIMEOUT_MS)
    title = c.page.locator(".gtitle", has_text=f"destination token {new}")
    expect(title).to_have_count(1, timeout=TIMEOUT_MS)
    c.ready()
    assert f"dest={new}" in c.page.url, c.page.url


def interact_adversarial(c: Ctx) -> None:
    """Answer the 'find a list it gets wrong' exercise with the write-up's list: graded."""
    box = exercise_box(c.page, "Your list")
    answer = box.get_by_label("Your list")
    answer.fill("0, 40, 41, 42, 43, 44, 45, 46, 47, 48")
    answer.press("Enter")
    c.ready()
    box.get_by_role("button", name="Check answer").click()
    feedback = box.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"goes wrong|sorts \("))
    expect(feedback).to_have_count(1, timeout=TIMEOUT_MS)
    c.ready()


def interact_mystery(c: Ctx) -> None:
    """Add a list of your own: the page picks its tightest triple and adds its case."""
    before = c.n_charts()
    box = c.page.get_by_label(re.compile(r"^Your list \("))
    box.fill("3, 14, 15, 17, 30, 1, 40, 22, 9, 48")
    box.press("Enter")
    expect(c.page.get_by_text(re.compile(r"tightest triple \(x, y, z\) = \(14, 15, 17\)"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    c.ready()
    assert c.n_charts() >= before, "charts disappeared after adding a list"


def interact_model(c: Ctx) -> None:
    """Upload a checkpoint: it is loaded for this session and the sidebar names it."""
    # the bundled checkpoint carries training metadata: the screenshot then shows all of it
    source = BUNDLED_MODEL if BUNDLED_MODEL.is_file() else REFERENCE_MODEL
    upload = c.tmp_path / "uploaded_checkpoint.pt"
    shutil.copyfile(source, upload)
    uploader = c.page.locator('[data-testid="stFileUploader"]').filter(has_text="Checkpoint file")
    uploader.locator('input[type="file"]').set_input_files(str(upload))
    expect(c.page.locator('[data-testid="stAlert"]', has_text="Loaded uploaded_checkpoint.pt")).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    c.ready()
    sidebar = c.page.locator('[data-testid="stSidebarUserContent"]')
    expect(sidebar).to_contain_text("uploaded_checkpoint.pt")
    expect(sidebar).to_contain_text("Uploaded in this session")
    # F5 keeps the model: the URL carries its fingerprint, the server's cache gives it back
    assert re.search(r"[?&]fp=[0-9a-f]{8}", c.page.url), c.page.url
    c.page.reload(wait_until="domcontentloaded")
    c.ready()
    expect(sidebar).to_contain_text("uploaded_checkpoint.pt", timeout=TIMEOUT_MS)
    expect(c.page.locator('[data-testid="stMain"]')).not_to_contain_text("no longer has")


def interact_explain(c: Ctx) -> None:
    """Load the write-up's hypothesis, test it, edit it, test again: the fraction changes."""
    from .test_explain import load_test_edit_retest

    before, after = load_test_edit_retest(c.page, c.n_links)
    assert before != after, (before, after)


@dataclass(frozen=True)
class PageCheck:
    interact: Callable[[Ctx], None]
    min_charts: int = 0  # plotly charts expected when the page has loaded
    circuitsvis: int = 0  # circuitsvis views expected when the page has loaded


CHECKS: dict[str, PageCheck] = {
    "problem": PageCheck(interact_problem, min_charts=2),
    "attention": PageCheck(interact_attention, min_charts=2, circuitsvis=1),
    "circuits": PageCheck(interact_circuits, min_charts=5),
    "adversarial": PageCheck(interact_adversarial, min_charts=2, circuitsvis=1),
    "mystery": PageCheck(interact_mystery, min_charts=2),
    "explain": PageCheck(interact_explain, min_charts=1),
    "model": PageCheck(interact_model),
}
PAGES = app_pages()


def test_every_page_has_a_check():
    missing = sorted({p.key for p in PAGES} - set(CHECKS))
    assert not missing, f"pages without an e2e check (add them to CHECKS): {missing}"


@pytest.mark.parametrize("app_page", PAGES, ids=[p.key for p in PAGES])
def test_page(app_page: AppPage, server, page, network, tmp_path):
    check = CHECKS.get(app_page.key)
    if check is None:
        pytest.fail(f"no e2e check for page {app_page.key!r}: add one to CHECKS")
    log_start = len(server.log_text())
    n_links = len(PAGES)
    where = f"page {app_page.key!r}"

    open_page(page, server.url, app_page, n_links)
    # every page answers at its own path (the first one too: no "Page not found", no redirect)
    assert page.url.split("?")[0].rstrip("/").endswith(f"/{app_page.key}"), page.url
    assert not page.get_by_text("Page not found").count(), f"{where}: Streamlit says the page was not found"
    assert not network.blocked, f"{where}: requests that leave localhost (CDN?): {network.blocked}"
    assert_no_exception(page, where, server)
    assert_charts_drawn(page, where, check.min_charts)
    if check.circuitsvis:
        assert_circuitsvis_rendered(page, where, check.circuitsvis)

    check.interact(Ctx(page, n_links, tmp_path))
    where += " after the interaction"
    assert_no_exception(page, where, server)
    assert_charts_drawn(page, where, check.min_charts)
    if circuitsvis_frames(page).count():
        assert_circuitsvis_rendered(page, where)

    full_page_screenshot(page, SCREENSHOT_DIR / f"{app_page.key}.png", n_links)

    assert not network.blocked, f"{where}: requests that leave localhost (CDN?): {network.blocked}"
    errors = traceback_lines(server.log_text()[log_start:])
    assert not errors, f"{where}: the server logged errors:\n{server.log_tail()}"


def test_sidebar_navigation(server, page, network):
    """The st.navigation menu lists every page by its title, in order, and its links open pages
    within the session (every page's content is checked by `test_page`)."""
    n_links = len(PAGES)
    page.goto(server.url, wait_until="domcontentloaded")
    wait_ready(page, n_links, PAGES[0].heading)
    links = page.locator('[data-testid="stSidebarNav"] a')
    texts = [t.split("\n")[-1].strip() for t in links.all_inner_texts()]
    assert texts == [p.title for p in PAGES]
    for app_page in (PAGES[1], PAGES[0]):
        links.filter(has_text=app_page.title).first.click()
        wait_ready(page, n_links, app_page.heading)
        assert_no_exception(page, f"page {app_page.key!r} opened from the sidebar", server)
        assert page.url.split("?")[0].rstrip("/").endswith(f"/{app_page.key}"), page.url
    assert not network.blocked, f"requests that leave localhost: {network.blocked}"
