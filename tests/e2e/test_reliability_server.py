"""Reliability: 20 learners at once on one server.

20 browser sessions (tabs of one Chromium, driven concurrently with asyncio) open the Attention
page at the same time and each types a list of its own; every session must finish without an
exception box and show exactly what a single session shows for the same list: the attention
weights its circuitsvis view was given (the iframe's document, 3 decimals, per head) and the
sidebar's evaluation accuracy.

The sessions go first, with lists nothing else uses, so their analyses are computed while they
run concurrently (not read from a cache). The single session comes afterwards and opens the page
with `?idx=` (no evaluation list), so its analyses have other cache keys and are computed again,
alone. Sessions share 5 lists, 4 each, so a session that got another session's result fails too.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from dataclasses import dataclass

import pytest

from .harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NetworkLog,
    assert_no_exception,
    exception_texts,
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
SESSION_TIMEOUT_S = 400
SMALL_VIEWPORT = {"width": 900, "height": 600}
CIRCUITSVIS_BUNDLE = re.compile(r"/app/static/circuitsvis[^/]*\.js")


@dataclass(frozen=True)
class Outcome:
    text: str
    weights: str  # the circuitsvis document (attention weights) of the typed list
    accuracy: str
    exceptions: tuple[str, ...] = ()


def _attention(pages):
    return next(p for p in pages if p.key == "attention")


# --------------------------------------------------------------------------- one session


def single_session_outcomes(page, server, attention, n_links) -> dict[str, Outcome]:
    """One session alone types each list in turn: the reference results. `?idx=` (no list of
    the evaluation set) keeps its cache keys apart from the concurrent sessions'."""
    open_page(page, server.url, attention, n_links, query="?idx=")
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


# --------------------------------------------------------------------------- 20 sessions


async def _session(context, url: str, attention, n_links: int, text: str) -> Outcome:
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


async def _sessions(url: str, attention, n_links: int, texts: list[str], log: NetworkLog) -> list:
    """One browser context (shared HTTP cache, so the browser does not compile the frontend 20
    times over) with a tab per session: each tab has its own websocket, i.e. its own Streamlit
    session."""
    from playwright.async_api import async_playwright

    async def route(route):
        url = route.request.url
        if CIRCUITSVIS_BUNDLE.search(url):
            # 20 sessions x 2 views running the 1.3 MB bundle would measure the browser, not
            # the server; the views' data (compared below) is in the iframe's document.
            await route.abort("blockedbyclient")
        elif is_local(url):
            await route.continue_()
        else:
            log.blocked.append(url)
            await route.abort("blockedbyclient")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # a small window: less to paint for 20 tabs; the results compared do not depend on it
            context = await browser.new_context(viewport=SMALL_VIEWPORT, service_workers="block")
            context.set_default_timeout(SESSION_TIMEOUT_S * 1000)
            await context.route("**/*", route)
            return await asyncio.gather(
                *(_session(context, url, attention, n_links, t) for t in texts), return_exceptions=True
            )
        finally:
            await browser.close()


def run_concurrently(url: str, attention, n_links: int, texts: list[str], log: NetworkLog) -> list:
    """asyncio in a thread of its own (the sync Playwright of the other tests owns this one)."""
    result: dict[str, object] = {}

    def main():
        try:
            result["value"] = asyncio.run(_sessions(url, attention, n_links, texts, log))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=main, name="e2e-concurrent-sessions")
    thread.start()
    thread.join(SESSION_TIMEOUT_S + 120)
    assert not thread.is_alive(), "the concurrent sessions did not finish"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_20_concurrent_sessions_match_a_single_session(server, pages, page, network):
    attention = _attention(pages)
    n_links = len(pages)
    log_start = len(server.log_text())
    texts = [LISTS[i % len(LISTS)] for i in range(N_SESSIONS)]
    started = time.monotonic()
    outcomes = run_concurrently(server.url, attention, n_links, texts, network)
    elapsed = time.monotonic() - started

    expected = single_session_outcomes(page, server, attention, n_links)
    assert len({o.weights for o in expected.values()}) == len(LISTS), "different lists gave the same view"

    failed = [(i, repr(o)[:500]) for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
    assert not failed, f"{len(failed)} of {N_SESSIONS} sessions failed: {failed}"
    with_exceptions = [(i, o.exceptions) for i, o in enumerate(outcomes) if o.exceptions]
    assert not with_exceptions, f"sessions showed exceptions: {with_exceptions}"
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
