"""Chromium driven by Playwright, for tests, bench and scripts (no pytest here).

- `launch_chromium`: Debian's Chromium (`$SORTLIST_CHROMIUM`).
- `offline_context`: a 1280x900 browser context that aborts (and records) every request that
  leaves localhost, so a CDN dependency fails loudly.
- `wait_ready`: the page's script run has finished and the page has settled.
- `assert_no_exception`, `assert_charts_drawn`, `assert_circuitsvis_rendered`: the checks every
  page must pass (no exception, charts drawn, circuitsvis views rendered inside their iframes).
- `full_page_screenshot`: Streamlit scrolls inside `stMain`, not the document, so
  `full_page=True` alone would stop at the viewport: the viewport is stretched to the content
  height for the shot (width stays 1280 px).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .server import StreamlitServer

CHROMIUM = os.environ.get("SORTLIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Generous: 2 shared CPU cores, and a page's first run computes its analyses.
PAGE_READY_S = 180
SETTLE_S = 0.6


class ChromiumMissing(RuntimeError):
    pass


# --------------------------------------------------------------------------- browser


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise ChromiumMissing(
            f"Chromium not found at {CHROMIUM} (set SORTLIST_CHROMIUM or apt-get install chromium)"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class NetworkLog:
    """What the browser tried to fetch outside localhost (aborted), and console errors."""

    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def block_external(context, log: NetworkLog) -> None:
    """Abort and record every request (and websocket) that leaves localhost."""

    def route(route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort("blockedbyclient")

    def watch(page):
        page.on("websocket", lambda ws: None if is_local(ws.url) else log.blocked.append(ws.url))
        page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)

    context.route("**/*", route)
    context.on("page", watch)


def offline_context(browser, log: NetworkLog):
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(60_000)
    block_external(context, log)
    return context


# --------------------------------------------------------------------------- waiting

_STATE_JS = """([nLinks, heading]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.getAttribute('data-test-script-state') : 'no stApp';
  const conn = app ? app.getAttribute('data-test-connection-state') : '';
  const skeletons = document.querySelectorAll('[data-testid="stSkeleton"]').length;
  const spinners = document.querySelectorAll('[data-testid="stSpinner"]').length;
  const stale = document.querySelectorAll('[data-stale="true"]').length;
  const links = document.querySelectorAll('[data-testid="stSidebarNav"] a').length;
  const h1 = [...document.querySelectorAll('[data-testid="stMain"] h1')].map(h => h.innerText);
  const exceptions = document.querySelectorAll('[data-testid="stException"]').length;
  // a run that ended in an exception is finished too: the caller's checks report it at once
  const ok = state === 'notRunning' && conn === 'CONNECTED' && !skeletons && !spinners && !stale
    && (exceptions > 0 || ((nLinks === null || links === nLinks) && (heading === null || h1.some(t => t.includes(heading)))));
  return {ok, state, conn, skeletons, spinners, stale, links, h1, exceptions};
}"""
# Polled inside the page (no round trip per poll): true once the state has been ok for settleMs.
_READY_JS = (
    """([nLinks, heading, settleMs]) => {
  const info = (%s)([nLinks, heading]);
  const now = performance.now();
  if (!info.ok) { window.__sortlistReadySince = null; return false; }
  if (window.__sortlistReadySince == null) window.__sortlistReadySince = now;
  return now - window.__sortlistReadySince >= settleMs;
}"""
    % _STATE_JS
)


def wait_ready(
    page, n_links: int | None = None, heading: str | None = None, timeout_s: float = PAGE_READY_S
) -> None:
    """Wait until the script run has finished: `stApp` says `notRunning`, no skeleton, spinner
    or stale element, the `st.navigation` menu (`n_links` entries, not the file-name menu
    Streamlit shows before `app.py` ran) and the page's h1 are there, all for `SETTLE_S`; or
    the run ended with an exception box (callers then check for exceptions)."""
    page.evaluate("() => { window.__sortlistReadySince = null; }")
    try:
        page.wait_for_function(
            _READY_JS, arg=[n_links, heading, SETTLE_S * 1000], polling=150, timeout=timeout_s * 1000
        )
    except Exception as exc:  # noqa: BLE001 - re-raised with the page's state
        info = page.evaluate(_STATE_JS, [n_links, heading])
        raise AssertionError(
            f"page {page.url} not ready after {timeout_s:.0f} s (h1 {heading!r}): {info}"
        ) from exc


async def wait_ready_async(
    page, n_links: int | None = None, heading: str | None = None, timeout_s: float = PAGE_READY_S
) -> None:
    """`wait_ready` for Playwright's async API."""
    await page.evaluate("() => { window.__sortlistReadySince = null; }")
    try:
        await page.wait_for_function(
            _READY_JS, arg=[n_links, heading, SETTLE_S * 1000], polling=150, timeout=timeout_s * 1000
        )
    except Exception as exc:  # noqa: BLE001 - re-raised with the page's state
        info = await page.evaluate(_STATE_JS, [n_links, heading])
        raise AssertionError(
            f"page {page.url} not ready after {timeout_s:.0f} s (h1 {heading!r}): {info}"
        ) from exc


# --------------------------------------------------------------------------- checks


def exception_texts(page) -> list[str]:
    return [t[:2000] for t in page.locator('[data-testid="stException"]').all_inner_texts()]


def assert_no_exception(page, where: str, server: StreamlitServer | None = None) -> None:
    """No exception box (their text is redacted in production mode: the server log has it)."""
    texts = exception_texts(page)
    log = f"\nserver log:\n{server.log_tail(40)}" if server is not None else ""
    assert not texts, f"{where}: {len(texts)} exception box(es) on the page:\n" + "\n---\n".join(texts) + log


_CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(c => {
  const svg = c.querySelector('.js-plotly-plot .main-svg');
  const box = svg ? svg.getBoundingClientRect() : null;
  const marks = c.querySelectorAll(
    '.cartesianlayer .point, .cartesianlayer .hm image, .cartesianlayer .js-line, .cartesianlayer .trace path').length;
  return {svg: !!svg, width: box ? box.width : 0, height: box ? box.height : 0, marks,
          title: (c.querySelector('.gtitle') || {}).textContent || ''};
})"""


def assert_charts_drawn(page, where: str, minimum: int = 0) -> list[dict]:
    """Every `stPlotlyChart` holds a drawn plotly figure (an SVG with marks in its plot area)."""
    charts = page.evaluate(_CHARTS_JS)
    assert len(charts) >= minimum, f"{where}: {len(charts)} plotly chart(s), expected at least {minimum}"
    bad = [c for c in charts if not c["svg"] or c["width"] < 100 or c["height"] < 80 or c["marks"] == 0]
    assert not bad, f"{where}: plotly chart(s) not drawn: {bad}"
    return charts


CIRCUITSVIS_FRAME = '[data-testid="stMain"] [data-testid="stIFrame"]'


def circuitsvis_frames(page):
    """The iframes the page renders with `st.iframe` (circuitsvis views; the main area only: the
    sidebar may hold the tiny frame that stores the learner cookie)."""
    return page.locator(CIRCUITSVIS_FRAME)


_CANVAS_PAINTED_JS = """(canvas) => {
  const ctx = canvas.getContext('2d');
  if (!ctx || !canvas.width || !canvas.height) return false;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}"""


def assert_circuitsvis_rendered(page, where: str, minimum: int = 1, n_heads: int = 2) -> int:
    """Each circuitsvis view drew inside its iframe: the AttentionHeads head selector, one
    painted canvas per head plus the enlarged pattern, and not the 'could not load' fallback."""
    frames = circuitsvis_frames(page)
    count = frames.count()
    assert count >= minimum, f"{where}: {count} circuitsvis iframe(s), expected at least {minimum}"
    for i in range(count):
        frame = page.frame_locator(CIRCUITSVIS_FRAME).nth(i)
        root = frame.locator("#cv")
        drawn = frame.locator("#cv canvas").nth(n_heads)
        try:  # the view drew its canvases, or its script failed and it says so
            drawn.or_(frame.get_by_text("could not load")).first.wait_for(state="attached", timeout=30_000)
        except Exception as exc:  # noqa: BLE001 - re-raised with what the frame shows instead
            shown = root.inner_text(timeout=5_000) if root.count() else "(no #cv element)"
            raise AssertionError(f"{where}: circuitsvis view {i} did not render: {shown[:300]!r}") from exc
        text = root.inner_text()
        assert "could not load" not in text, f"{where}: circuitsvis view {i}: {text[:300]!r}"
        assert "Head Selector" in text, f"{where}: circuitsvis view {i} has no head selector: {text[:300]!r}"
        canvases = frame.locator("#cv canvas")
        assert canvases.count() >= n_heads + 1, (
            f"{where}: circuitsvis view {i}: {canvases.count()} canvas(es)"
        )
        for _ in range(20):  # charts paint on an animation frame: allow a few seconds
            painted = [canvases.nth(j).evaluate(_CANVAS_PAINTED_JS) for j in range(canvases.count())]
            if all(painted):
                break
            page.wait_for_timeout(500)
        assert all(painted), f"{where}: circuitsvis view {i}: blank canvas(es) {painted}"
    return count


TOP_HEIGHT = 900  # px of a page's first screen in the README


def full_page_screenshot(page, path: Path, n_links: int | None = None) -> None:
    """The whole page at 1280 px width (plus `<name>_top.png`, its first `TOP_HEIGHT` px). Streamlit scrolls inside `stMain`, so the viewport is
    stretched to the content's height for the shot, then put back."""
    height = page.evaluate(
        """() => {
          const main = document.querySelector('[data-testid="stMain"]');
          const side = document.querySelector('[data-testid="stSidebarContent"]');
          return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0, document.body.scrollHeight);
        }"""
    )
    height = int(min(max(height, VIEWPORT["height"]), 16_000))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(500)
        wait_ready(page, n_links)
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)
    # and its first screen, for the README (a whole page shrunk into a table cell is unreadable)
    from PIL import Image

    with Image.open(path) as shot:
        shot.crop((0, 0, shot.width, min(shot.height, TOP_HEIGHT))).save(
            path.with_name(f"{path.stem}_top.png")
        )


def traceback_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Traceback" in line or re.search(r"\bUncaught\b", line)]
