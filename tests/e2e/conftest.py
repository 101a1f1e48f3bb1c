"""Fixtures of the real-browser tests: one Streamlit server and one Chromium for the session,
and a fresh offline browser context (= a new Streamlit session) per test."""

from __future__ import annotations

import pytest

from .harness import (
    NetworkLog,
    StreamlitServer,
    app_pages,
    default_model_env,
    hostile_env,
    launch_chromium,
    offline_context,
)


@pytest.fixture(scope="session")
def pages():
    return app_pages()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app with its default model (bundled, else the reference via SORTLIST_MODEL_PATH),
    run as a hosted deployment may be: HOME and the XDG cache/config directories not writable,
    no internet (see `hostile_env`). Stopped (its whole process group) at the end of the
    session, whatever happens."""
    tmp = tmp_path_factory.mktemp("streamlit")
    srv = StreamlitServer(tmp / "server.log", {**default_model_env(), **hostile_env(tmp)})
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = launch_chromium(playwright_instance)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def network():
    return NetworkLog()


@pytest.fixture
def context(browser, network):
    context = offline_context(browser, network)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context):
    return context.new_page()
