"""Real browser sessions (Playwright async API driving the system Chromium).

A page counts as rendered when the app is connected, its script has finished a run
(`data-test-script-state="notRunning"` after at least one run), and the main area shows a title
or an exception, every plotly chart has drawn, and every circuitsvis iframe has filled its view.
Runs are counted from the app's websocket (installed before the app loads, so waiting after a
click never mistakes the previous page's finished run for the new one): every `script_finished`
message the server sends, except a run cut short for a rerun, is one finished run (whole page or
fragment). Not from `data-test-script-state`: when a run is fast (a 40 ms fragment or page run)
the frontend handles "running" and "finished" in one React render, the attribute never shows
`running`, and a counter of its transitions missed the run (the browser interaction benchmark
then waited forever for a rerun that had already finished).
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
  const SCRIPT_FINISHED = 6;    // ForwardMsg.script_finished (streamlit/proto/ForwardMsg.proto)
  const EARLY_FOR_RERUN = 2;    // ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN: a new run follows
  // The top-level fields of one ForwardMsg: its script_finished status, or -1.
  const finishedStatus = (bytes) => {
    let i = 0;
    const varint = () => {
      let v = 0, mul = 1, b;
      do { b = bytes[i++]; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80 && i < bytes.length);
      return v;
    };
    while (i < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) { const v = varint(); if (field === SCRIPT_FINISHED) return v; }
      else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return -1;
    }
    return -1;
  };
  // Counted once the frontend has handled the message: after its next render (two frames).
  const count = () => requestAnimationFrame(() => requestAnimationFrame(() => {
    window.__benchRunsDone += 1;
  }));
  const onMessage = (data) => {
    const status = finishedStatus(new Uint8Array(data));
    if (status >= 0 && status !== EARLY_FOR_RERUN) count();
  };
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (ev) => {
      if (ev.data instanceof ArrayBuffer) onMessage(ev.data);
      else if (ev.data instanceof Blob) ev.data.arrayBuffer().then(onMessage);
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
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
