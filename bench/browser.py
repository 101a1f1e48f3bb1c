"""Real browser sessions (Playwright async API driving the system Chromium).

A page counts as rendered when the app is connected, its script has finished a run
(`data-test-script-state="notRunning"` after at least one run), and the main area shows a title
or an exception, every plotly chart has drawn, and every circuitsvis iframe has filled its view.
Runs are counted by a MutationObserver on `data-test-script-state` installed before the app
loads, so waiting after a click never mistakes the previous page's finished run for the new one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from playwright.async_api import Browser, BrowserContext, Page, Playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

CHROMIUM = os.environ.get("SORTLIST_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}  # wide enough that the sidebar is expanded

_COUNT_RUNS_JS = """
(() => {
  window.__benchRunsDone = 0;
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.oldValue === 'running' && r.target.getAttribute('data-test-script-state') !== 'running') {
        window.__benchRunsDone += 1;
      }
    }
  }).observe(document, {subtree: true, attributes: true,
                        attributeFilter: ['data-test-script-state'], attributeOldValue: true});
})();
"""

_READY_JS = """
({minRuns, prevTitle, path}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (path !== null && !location.pathname.endsWith(path)) return false;
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  const newPage = prevTitle !== null && h1 !== null && h1.innerText !== prevTitle;
  if ((window.__benchRunsDone || 0) < minRuns && !newPage) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;
  if (!h1) return false;
  // Only what is on screen: charts in a closed expander or an inactive tab are never drawn.
  const shown = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (shown(c) && !c.querySelector('.main-svg')) return false;
  }
  for (const f of document.querySelectorAll('[data-testid="stIFrame"]')) {
    if (!shown(f)) continue;
    let doc = null;
    try { doc = f.contentDocument; } catch (e) { continue; }  // opaque origin: cannot look inside
    if (!doc) continue;
    const cv = doc.getElementById('cv');
    if (cv && cv.childNodes.length === 0) return false;  // circuitsvis view not drawn yet
  }
  return true;
}
"""

_STATE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const ex = document.querySelector('[data-testid="stException"]');
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const frames = [...document.querySelectorAll('[data-testid="stIFrame"]')];
  return {exception: ex ? ex.innerText.slice(0, 300) : null, title: h1 ? h1.innerText : null,
          runs: window.__benchRunsDone || 0, url: location.href,
          script: app && app.getAttribute('data-test-script-state'),
          connection: app && app.getAttribute('data-test-connection-state'),
          charts: charts.length, charts_undrawn: charts.filter(c => !c.querySelector('.main-svg')).length,
          iframes: frames.length};
}
"""


async def launch(pw: Playwright) -> Browser:
    return await pw.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--headless=new"]
    )


async def new_context(browser: Browser) -> BrowserContext:
    """A fresh context (its own cookies and cache: a separate visitor) that counts script runs."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(_COUNT_RUNS_JS)
    return context


class NotRendered(RuntimeError):
    """A page that did not finish rendering in time; the message says how far it got."""


@dataclass
class Load:
    seconds: float
    title: str | None
    exception: str | None


async def wait_ready(
    page: Page, min_runs: int, timeout_s: float, prev_title: str | None = None, path: str | None = None
) -> Load:
    """Wait until rendered after at least `min_runs` finished script runs, or, when navigating
    from a page titled `prev_title`, once the title has changed (a page switch), with the URL
    path ending in `path`."""
    t0 = time.perf_counter()
    arg = {"minRuns": min_runs, "prevTitle": prev_title, "path": path}
    try:
        await page.wait_for_function(_READY_JS, arg=arg, timeout=timeout_s * 1000, polling=20)
    except PlaywrightTimeout:
        try:
            state = await page.evaluate(_STATE_JS)
        except Exception as exc:  # noqa: BLE001 - the page may be gone
            state = f"unreadable ({exc})"
        raise NotRendered(
            f"not rendered within {timeout_s:.0f} s (wanted {min_runs} run(s)): {state}"
        ) from None
    seconds = time.perf_counter() - t0
    state = await page.evaluate(_STATE_JS)
    return Load(seconds, state["title"], state["exception"])


async def open_session(context: BrowserContext, url: str, timeout_s: float = 120) -> tuple[Page, Load]:
    """Open `url` in a new tab (a new Streamlit session); Load.seconds runs from `goto` to
    rendered."""
    page = await context.new_page()
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    load = await wait_ready(page, 1, timeout_s)
    load.seconds = time.perf_counter() - t0
    return page, load


async def visit(page: Page, key: str, timeout_s: float = 120) -> Load:
    """Go to the page whose URL path is `key` within the same session, by clicking its link in
    the sidebar navigation (as a learner does); seconds from click to rendered."""
    before = await page.evaluate(_STATE_JS)
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{key}"]').first
    t0 = time.perf_counter()
    await link.click(timeout=timeout_s * 1000)
    load = await wait_ready(page, before["runs"] + 1, timeout_s, prev_title=before["title"], path=f"/{key}")
    load.seconds = time.perf_counter() - t0
    return load
