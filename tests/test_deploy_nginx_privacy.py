"""The shipped nginx site keeps secrets out of its access log and out of Referer headers, in a
real nginx in front of two tiny replicas: requests carrying `?instructor=TOKEN` and
`?learner=KEY` (in the URL and in a Referer) leave only paths in the log, and every response
says `Referrer-Policy: no-referrer`."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request

from harness.nginx import RENDER, render_site
from tests.test_deploy_nginx import proxied  # noqa: F401 - the nginx + replicas fixture


def _get(port: int, path: str, referer: str | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if referer:
        request.add_header("Referer", referer)
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.headers


def _log(nginx, lines: int, timeout: float = 5.0) -> str:
    """The access log once it holds `lines` lines: nginx writes a line after the response has
    gone, so the client can be faster than the log."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = (nginx.base / "access.log").read_text(errors="replace")
        if len(text.splitlines()) >= lines:
            return text
        time.sleep(0.05)
    return text


def test_the_access_log_has_paths_without_query_strings(proxied):  # noqa: F811
    nginx, _ = proxied
    token, key = "tok-" + secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    _get(nginx.port, f"/?instructor={token}")
    _get(
        nginx.port,
        f"/?learner={key}&model=lesson",
        referer=f"http://127.0.0.1:{nginx.port}/attention?learner={key}",
    )
    _get(nginx.port, f"/?fp=abc&instructor={token}")
    text = _log(nginx, 3)
    lines = text.splitlines()
    assert len(lines) >= 3 and all('"GET / HTTP/1.1" 200' in ln for ln in lines[:3]), text
    assert f'"http://127.0.0.1:{nginx.port}/attention"' in text  # the Referer, cut at its "?"
    for secret in (token, key, "instructor=", "learner=", "?"):
        assert secret not in text, (secret, text)


def test_every_response_forbids_referers(proxied):  # noqa: F811
    nginx, _ = proxied
    for path in ("/", "/_stcore/health", "/healthz", "/missing?learner=x"):
        assert _get(nginx.port, path).get("Referrer-Policy") == "no-referrer", path


def test_the_access_log_path_is_an_option_and_checked():
    text = render_site(["127.0.0.1:9101"], "8088", "/srv/logs/sortlist.log")
    assert "    access_log /srv/logs/sortlist.log sortlist_no_query;" in text
    bad = subprocess.run(
        [sys.executable, str(RENDER), "--upstream", "127.0.0.1:1", "--access-log", "x; evil"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "absolute path" in bad.stderr
