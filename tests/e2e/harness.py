"""The pytest layer over the shared harness (`harness/`, used by tests, bench and scripts):
every test under `tests/e2e/` imports from here.

- `app_pages`: every page of the app's navigation, with the h1 a test waits for.
- `default_model_env`: a server environment with a working default model (skips, or fails
  under `CI=true`, when there is none).
- `hostile_env`: no writable home or cache, no internet, for the server process.
- `open_page`: open one app page and wait until it has settled.
- The server and browser helpers themselves (`StreamlitServer`, `launch_chromium`,
  `wait_ready`, the page checks, `full_page_screenshot`) are re-exported from `harness`.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    NetworkLog,
    assert_charts_drawn,
    assert_circuitsvis_rendered,
    assert_no_exception,
    circuitsvis_frames,
    exception_texts,
    full_page_screenshot,
    is_local,
    launch_chromium,
    offline_context,
    traceback_lines,
    wait_ready,
    wait_ready_async,
)
from harness.server import MODEL_PATH_ENV, REPO_ROOT, SERVE, STREAMLIT_RUN, StreamlitServer

__all__ = [
    "AppPage",
    "BUNDLED_MODEL",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "MODEL_PATH_ENV",
    "NetworkLog",
    "REFERENCE_MODEL",
    "REPO_ROOT",
    "SCREENSHOT_DIR",
    "SERVE",
    "STREAMLIT_RUN",
    "StreamlitServer",
    "VIEWPORT",
    "app_pages",
    "assert_charts_drawn",
    "assert_circuitsvis_rendered",
    "assert_no_exception",
    "circuitsvis_frames",
    "default_model_env",
    "exception_texts",
    "full_page_screenshot",
    "hostile_env",
    "is_local",
    "is_writable",
    "launch_chromium",
    "offline_context",
    "open_page",
    "traceback_lines",
    "unwritable_dir",
    "wait_ready",
    "wait_ready_async",
]

SCREENSHOT_DIR = REPO_ROOT / "docs" / "screenshots"
BUNDLED_MODEL = REPO_ROOT / "assets" / "bundled_model.pt"
REFERENCE_MODEL = REPO_ROOT.parent / "shared" / "reference" / "arena_sorted_list_model.pt"


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class AppPage:
    key: str  # URL path
    title: str  # navigation title
    script: Path
    heading: str  # the page's st.title text


def _heading(script: Path) -> str:
    """The first `st.title("...")` or `page.start("...", lesson)` of a page script (the h1 the
    test waits for)."""
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("title", "start")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return node.args[0].value
    raise AssertionError(f"{script}: no st.title(...) or page.start(...) with a literal string")


def app_pages() -> list[AppPage]:
    """Every page registered in `sortlist_app.navigation.PAGES` (the app's one registry)."""
    from sortlist_app.navigation import PAGES

    return [AppPage(p.key, p.title, REPO_ROOT / p.path, _heading(REPO_ROOT / p.path)) for p in PAGES]


def default_model_env() -> dict[str, str]:
    """Environment for a server with a working default model: the bundled model when it is
    there, else the reference checkpoint through `$SORTLIST_MODEL_PATH`."""
    if BUNDLED_MODEL.is_file():
        return {}
    if REFERENCE_MODEL.is_file():
        return {MODEL_PATH_ENV: str(REFERENCE_MODEL)}
    if os.environ.get("CI") == "true":
        pytest.fail(f"no model for the e2e tests: neither {BUNDLED_MODEL} nor {REFERENCE_MODEL}")
    pytest.skip("no model for the e2e tests (bundled model and reference checkpoint both missing)")


# --------------------------------------------------------------------------- environment


def is_writable(path: Path) -> bool:
    """Whether this process can create a file or a directory in `path` (it tries)."""
    probe = path / f".sortlist-write-probe-{os.getpid()}"
    try:
        probe.mkdir(parents=True)
    except OSError:
        pass
    else:
        probe.rmdir()
        return True
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink()
    return True


def unwritable_dir(tmp: Path) -> Path:
    """A directory nothing can be written to: a `chmod 555` directory, or, where that does not
    stop us (root), `/sys` (sysfs: even root cannot create files there), or as a last resort a
    path below a regular file (every mkdir/open fails with ENOTDIR)."""
    ro = tmp / "read-only-home"
    ro.mkdir(parents=True, exist_ok=True)
    ro.chmod(0o555)
    if not is_writable(ro):
        return ro
    sysfs = Path("/sys")
    if sysfs.is_dir() and not is_writable(sysfs):
        return sysfs
    blocker = tmp / "not-a-directory"
    blocker.write_bytes(b"")
    return blocker / "home"


def hostile_env(tmp: Path) -> dict[str, str]:
    """No writable home or cache directory, and no internet for the server process either
    (any HTTP(S) client that honours the proxy variables fails at once)."""
    home = unwritable_dir(tmp)
    dead_proxy = "http://127.0.0.1:9"
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "HTTP_PROXY": dead_proxy,
        "HTTPS_PROXY": dead_proxy,
        "ALL_PROXY": dead_proxy,
        "http_proxy": dead_proxy,
        "https_proxy": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


# --------------------------------------------------------------------------- pages in the browser


def open_page(page, base_url: str, app_page: AppPage, n_links: int, query: str = "") -> None:
    page.goto(f"{base_url}/{app_page.key}{query}", wait_until="domcontentloaded")
    wait_ready(page, n_links, app_page.heading)
