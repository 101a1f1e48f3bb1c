"""Reliability: many learners at once on one server.

`test_20_concurrent_sessions_match_a_single_session`: 20 browser sessions (tabs of one
Chromium, driven concurrently with asyncio) open the Attention page at the same time and each
types a list of its own; every session must finish without an exception box and show exactly
what a single session shows for the same list: the attention weights its circuitsvis view was
given (the iframe's document, 3 decimals, per head) and the sidebar's evaluation accuracy.
The sessions use lists nothing else uses, so their analyses are computed while they run
concurrently (not read from a cache); the single session types the same lists afterwards on
`/attention?idx=` (no evaluation list), so its analyses have other cache keys and are computed
again, alone. Sessions share 5 lists, 4 each, so a session given another's result fails too.

`test_fresh_server_serves_deep_links_opened_at_once`: right after a (re)start, every page's URL
opened at the same moment (a class reconnecting) is served through `app.py`: the
`st.navigation` menu and the shared sidebar, not the page script alone.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from .harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MODEL_PATH_ENV,
    VIEWPORT,
    NetworkLog,
    StreamlitServer,
    assert_no_exception,
    exception_texts,
    hostile_env,
    is_local,
    open_page,
    traceback_lines,
    wait_ready,
    wait_ready_async,
)

pytestmark = pytest.mark.e2e
N_SESSIONS = 20
LISTS = tuple(", ".join(map(str, random.Random(1000 + i).sample(range(51), 10))) for i in range(5))
OWN_LISTS = re.compile(r"your own lists")
VIEW = '[data-testid="stIFrame"][title*="your list 1"]'
ACCURACY = '[data-testid="stSidebar"] [data-testid="stMetricValue"]'
SIDEBAR = '[data-testid="stSidebarUserContent"]'
SESSION_TIMEOUT_S = 400
SMALL_VIEWPORT = {"width": 900, "height": 600}  # 20 tabs: less to paint; results do not depend on it
RENDERER_PROCESSES = 1
CIRCUITSVIS_BUNDLE = re.compile(r"/app/static/circuitsvis[^/]*\.js")


@dataclass(frozen=True)
class Outcome:
    text: str
    weights: str  # the circuitsvis document (attention weights) of the typed list
    accuracy: str
    exceptions: tuple[str, ...] = ()


def _page(pages, key):
    return next(p for p in pages if p.key == key)


# --------------------------------------------------------------------------- async driver


def run_tabs(
    url: str, log: NetworkLog, tabs: list[Callable], viewport=VIEWPORT, skip_circuitsvis=False, intercept=True
) -> list:
    """Run `tab(context)` coroutines at once, each in a tab of one browser context (tabs share
    the browser's cache; each has its own websocket, i.e. its own Streamlit session). asyncio
    runs in a thread of its own: the sync Playwright of the other tests owns this one.
    With `intercept`, requests leaving localhost are aborted and recorded; without (routing
    every request through Playwright staggers the tabs), they are only recorded.
    Returns each tab's result or exception."""
    from playwright.async_api import async_playwright

    async def route(route):
        request_url = route.request.url
        if skip_circuitsvis and CIRCUITSVIS_BUNDLE.search(request_url):
            # 20 tabs x 2 views running the 1.3 MB bundle would measure the browser, not the
            # server; the views' data (what is compared) is in the iframe's document.
            await route.abort("blockedbyclient")
        elif is_local(request_url):
            await route.continue_()
        else:
            log.blocked.append(request_url)
            await route.abort("blockedbyclient")

    async def main() -> list:
        async with async_playwright() as pw:
            # tabs of one site share renderer processes (and their compiled frontend code)
            args = [*CHROMIUM_ARGS, f"--renderer-process-limit={RENDERER_PROCESSES}"]
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
            try:
                context = await browser.new_context(viewport=viewport, service_workers="block")
                context.set_default_timeout(SESSION_TIMEOUT_S * 1000)
                if intercept:
                    await context.route("**/*", route)
                else:
                    context.on("request", lambda r: None if is_local(r.url) else log.blocked.append(r.url))
                return await asyncio.gather(*(tab(context) for tab in tabs), return_exceptions=True)
            finally:
                await browser.close()

    result: dict[str, object] = {}

    def thread_main():
        try:
            result["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=thread_main, name="e2e-concurrent-tabs")
    thread.start()
    thread.join(SESSION_TIMEOUT_S + 120)
    assert not thread.is_alive(), "the concurrent sessions did not finish"
    if "error" in result:
        raise result["error"]
    return result["value"]


def _failures(results: list) -> list:
    return [(i, repr(r)[:600]) for i, r in enumerate(results) if isinstance(r, BaseException)]


# --------------------------------------------------------------------------- 20 sessions


def _typing_session(url: str, attention, n_links: int, text: str) -> Callable[[object], Awaitable[Outcome]]:
    async def tab(context) -> Outcome:
        page = await context.new_page()
        try:
            await page.goto(f"{url}/{attention.key}", wait_until="domcontentloaded")
            await wait_ready_async(page, n_links, attention.heading, SESSION_TIMEOUT_S)
            area = page.get_by_label(OWN_LISTS)
            await area.fill(text)
            await area.press("Control+Enter")
            await page.locator(VIEW).wait_for()
            await wait_ready_async(page, n_links, attention.heading, SESSION_TIMEOUT_S)
            exceptions = tuple(await page.locator('[data-testid="stException"]').all_inner_texts())
            weights = await page.locator(VIEW).get_attribute("srcdoc")
            accuracy = await page.locator(ACCURACY).text_content()
            return Outcome(text, weights, accuracy, exceptions)
        finally:
            await page.close()

    return tab


def single_session_outcomes(page, server, n_links) -> dict[str, Outcome]:
    """The page (already open on `/attention?idx=`) alone types each list in turn."""
    out: dict[str, Outcome] = {}
    previous = None
    for text in LISTS:
        area = page.get_by_label(OWN_LISTS)
        area.fill(text)
        area.press("Control+Enter")
        page.wait_for_function(
            "([sel, prev]) => { const f = document.querySelector(sel); return f && f.srcdoc && f.srcdoc !== prev; }",
            arg=[VIEW, previous],
            timeout=SESSION_TIMEOUT_S * 1000,
        )
        wait_ready(page, n_links)
        assert_no_exception(page, f"single session, list {text}", server)
        weights = page.locator(VIEW).get_attribute("srcdoc")
        out[text] = Outcome(text, weights, page.locator(ACCURACY).text_content())
        previous = weights
    return out


def test_20_concurrent_sessions_match_a_single_session(server, pages, page, network):
    attention = _page(pages, "attention")
    n_links = len(pages)
    log_start = len(server.log_text())
    # The reference session opens first (so the server has run app.py once: a cold start under
    # load is the other test's subject); it types its lists only after the 20 sessions.
    open_page(page, server.url, attention, n_links, query="?idx=")

    texts = [LISTS[i % len(LISTS)] for i in range(N_SESSIONS)]
    started = time.monotonic()
    outcomes = run_tabs(
        server.url,
        network,
        [_typing_session(server.url, attention, n_links, t) for t in texts],
        viewport=SMALL_VIEWPORT,
        skip_circuitsvis=True,
    )
    elapsed = time.monotonic() - started
    failed = _failures(outcomes)
    assert not failed, f"{len(failed)} of {N_SESSIONS} sessions failed: {failed}"

    expected = single_session_outcomes(page, server, n_links)
    assert len({o.weights for o in expected.values()}) == len(LISTS), "different lists gave the same view"
    with_exceptions = [(i, o.exceptions) for i, o in enumerate(outcomes) if o.exceptions]
    assert not with_exceptions, f"sessions showed exceptions: {with_exceptions}\n{server.log_tail(40)}"
    wrong = [
        (i, o.text)
        for i, o in enumerate(outcomes)
        if o.weights != expected[o.text].weights or o.accuracy != expected[o.text].accuracy
    ]
    assert not wrong, f"{len(wrong)} sessions showed results that differ from a single session's: {wrong}"
    assert not network.blocked, f"requests that leave localhost: {network.blocked}"
    assert not exception_texts(page)
    errors = traceback_lines(server.log_text()[log_start:])
    assert not errors, f"the server logged errors:\n{server.log_tail()}"
    print(f"{N_SESSIONS} concurrent sessions finished in {elapsed:.0f} s")


# --------------------------------------------------------------------------- cold start


def _deep_link(url: str, app_page, n_links: int) -> Callable[[object], Awaitable[tuple]]:
    async def tab(context) -> tuple:
        page = await context.new_page()
        try:
            await page.goto(f"{url}/{app_page.key}", wait_until="domcontentloaded")
            # the page's own run has finished (served through app.py or not: checked below;
            # a tab served without it stays so, the grace period only absorbs a late menu)
            await wait_ready_async(page, None, app_page.heading, 240)
            if await page.locator('[data-testid="stSidebarNav"] a').count() != n_links:
                await page.wait_for_timeout(3000)
            links = await page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
            sidebar = page.locator(SIDEBAR)
            side = (await sidebar.text_content() or "") if await sidebar.count() else ""
            exceptions = await page.locator('[data-testid="stException"]').count()
            return app_page.key, [t.split("\n")[-1].strip() for t in links], side[:40], exceptions
        finally:
            await page.close()

    return tab


def test_fresh_server_serves_deep_links_opened_at_once(pages, tmp_path):
    network = NetworkLog()
    n_links = len(pages)
    # Routing is what is tested: without a default model every page stops early (cheap), and
    # app.py's sidebar still starts with "Model in use".
    env = {MODEL_PATH_ENV: str(tmp_path / "no-model.pt"), **hostile_env(tmp_path)}
    with StreamlitServer(tmp_path / "server.log", env) as fresh:
        # no request interception: it would stagger the tabs, and the race is about "at once"
        results = run_tabs(
            fresh.url, network, [_deep_link(fresh.url, p, n_links) for p in pages], intercept=False
        )
        log = fresh.log_tail()
    failed = _failures(results)
    assert not failed, f"tabs failed: {failed}"
    titles = [p.title for p in pages]
    wrong = [r for r in results if r[1] != titles or not r[2].startswith("Model in use") or r[3]]
    assert not wrong, (
        "deep links opened at once on a fresh server were not served through app.py "
        f"(expected menu {titles} and the shared sidebar): {wrong}\n{log}"
    )
    assert not network.blocked, f"requests that leave localhost: {network.blocked}"
