"""The learner key in a real browser: the app's inline script stores it in a cookie, a reload
(a new Streamlit session) comes back as the same learner, and another browser (a new context)
is another learner until it opens the resume link."""

from __future__ import annotations

import re

import pytest

from sortlist_app.widgets.learner import COOKIE

from .harness import assert_no_exception, offline_context, wait_ready

pytestmark = pytest.mark.e2e


def shown_key(page) -> str:
    """The key in the sidebar's resume link (the expander is opened to read it)."""
    page.get_by_text("Continue on another device").click()
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').inner_text(timeout=30_000)
    match = re.search(r"learner=([A-Za-z0-9_-]+)", link)
    assert match, link
    return match.group(1)


def learner_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def test_the_browser_keeps_the_learner_and_the_link_moves_it(server, pages, page, browser, network):
    page.goto(server.url)
    wait_ready(page, len(pages))
    assert_no_exception(page, "first visit", server)
    key = shown_key(page)
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')", timeout=30_000)
    assert learner_cookie(page.context) == key

    page.reload()  # a new session: the key comes back from the cookie
    wait_ready(page, len(pages))
    assert shown_key(page) == key

    other = offline_context(browser, network)
    try:
        second = other.new_page()
        second.goto(server.url)
        wait_ready(second, len(pages))
        assert shown_key(second) != key  # another browser is another learner
        second.goto(f"{server.url}/?learner={key}")  # ... until it opens the resume link
        wait_ready(second, len(pages))
        assert "learner=" not in second.url  # the key does not stay in the address bar
        # it has a learner of its own, so it is asked first (a planted link must not switch it)
        second.get_by_text("Switch learner?").wait_for(timeout=30_000)
        second.get_by_role("button", name="Switch to the link's learner").click()
        wait_ready(second, len(pages))
        assert shown_key(second) == key
        second.wait_for_function(f"() => document.cookie.includes('{COOKIE}={key}')", timeout=30_000)
    finally:
        other.close()
