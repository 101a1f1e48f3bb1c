"""Reliability: no writable home or cache directory, no internet.

The session's server (conftest `server`) runs with `HOME`, `XDG_CACHE_HOME` and
`XDG_CONFIG_HOME` pointing at a directory nothing can be written to, and with dead HTTP(S)
proxies, so every page test in `test_pages.py` already runs under these conditions. This test
checks that the conditions really hold for the server process and that a page renders, so a
change that quietly relaxes them (or an app that needs them) fails here.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from .harness import (
    assert_charts_drawn,
    assert_no_exception,
    is_writable,
    open_page,
    traceback_lines,
)

pytestmark = pytest.mark.e2e


def test_server_runs_without_writable_home_or_internet(server, pages, page, network):
    env = psutil.Process(server.pid).environ()
    for var in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        assert var in env, f"the server runs without ${var}"
        assert not is_writable(Path(env[var])), f"${var}={env[var]} is writable: the test would prove nothing"
    assert env.get("HTTPS_PROXY", "").startswith("http://127.0.0.1:"), (
        "the server process may reach the internet"
    )

    first = pages[0]
    open_page(page, server.url, first, len(pages))
    assert_no_exception(page, f"page {first.key!r} with a read-only home", server)
    assert_charts_drawn(page, f"page {first.key!r} with a read-only home", 1)
    assert not network.blocked, f"requests that leave localhost: {network.blocked}"
    assert not traceback_lines(server.log_text()), server.log_tail()
