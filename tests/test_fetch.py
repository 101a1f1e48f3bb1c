"""Fetching the original challenge model, against a real HTTP server on 127.0.0.1 started by the
tests (CI has no internet): success, cache reuse, fallback URLs, a wrong hash, 404, stall and
deadline, oversized bodies, redirects to other schemes, an unreachable host, a proxy, the CLI."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sortlist_core import fetch
from sortlist_core.fetch import (
    EXPECTED_SHA256,
    EXPECTED_SIZE,
    FetchBadURL,
    FetchError,
    FetchHTTPStatus,
    FetchLimits,
    FetchTimeout,
    FetchTooLarge,
    FetchUnreachable,
    FetchWrongHash,
    cached_original,
    cached_original_path,
    download_original,
    load_original_model,
    original_urls,
)
from tests.conftest import REPO_ROOT, require_reference

QUICK = FetchLimits(connect_s=2, stall_s=0.4, deadline_s=5)
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    body: bytes = b""
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the client gave up first, as the tests want
            pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {"Content-Length": str(len(body))}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path  # absolute-form when we are the proxy
        self.server.requests.append(self.path)
        body = self.server.body
        if path == "/ok":
            self._send(200, body)
        elif path == "/wrong":
            self._send(200, body[:-1] + bytes([body[-1] ^ 1]))
        elif path == "/missing":
            self._send(404, b"not here")
        elif path == "/stall":  # headers and a little data, then nothing
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:1000])
            self.wfile.flush()
            time.sleep(3)
        elif path == "/trickle":  # a byte every 50 ms: never stalls, never finishes in time
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for b in body[:200]:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(0.05)
        elif path == "/big-announced":
            self._send(200, b"", {"Content-Length": "2000000"})
        elif path == "/big-unannounced":  # no length: the cap must trip while reading
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\0" * 65536
            for _ in range(40):
                self.wfile.write(chunk)
        elif path.startswith("/redirect-"):
            targets = {
                "/redirect-file": "file:///etc/passwd",
                "/redirect-ftp": "ftp://127.0.0.1/sorted_list_model.pt",
                "/redirect-ok": "/ok",
                "/redirect-loop": "/redirect-loop",
            }
            self._send(302, b"", {"Location": targets[path], "Content-Length": "0"})
        else:
            self._send(500, b"unknown test path")


@pytest.fixture(scope="module")
def original_bytes() -> bytes:
    data = require_reference().read_bytes()
    assert hashlib.sha256(data).hexdigest() == EXPECTED_SHA256 and len(data) == EXPECTED_SIZE
    return data


@pytest.fixture
def server(original_bytes) -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.body = original_bytes
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """A private cache directory, no proxies, no configured URL."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in (*PROXY_VARS, fetch.URL_ENV):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache" / "sortlist"


def url(srv: _Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def test_success_writes_the_cache_atomically_and_loads(server, isolated):
    path = download_original(url(server, "/ok"), limits=QUICK)
    assert path == cached_original_path() == isolated / "sorted_list_model.pt"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256
    assert [p.name for p in isolated.iterdir()] == ["sorted_list_model.pt"]  # no .part left behind
    model = load_original_model(url(server, "/missing"), limits=QUICK)  # from the cache
    assert model.name == "original challenge model" and model.config.n_heads == 2


def test_cache_is_reused_without_network(server):
    assert cached_original() is None
    download_original(url(server, "/ok"), limits=QUICK)
    assert cached_original() == cached_original_path()
    n = len(server.requests)
    path = download_original(url(server, "/missing"), limits=QUICK)
    assert len(server.requests) == n
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256


def test_corrupt_cache_is_downloaded_again(server, isolated):
    isolated.mkdir(parents=True)
    (isolated / "sorted_list_model.pt").write_bytes(b"half a file")
    path = download_original(url(server, "/ok"), limits=QUICK)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256
    assert server.requests == ["/ok"]


def test_out_path_and_redirect_within_http(server, tmp_path):
    out = tmp_path / "models" / "original.pt"
    assert download_original(url(server, "/redirect-ok"), out, limits=QUICK) == out
    assert server.requests == ["/redirect-ok", "/ok"]
    assert out.read_bytes() == cached_original_path().read_bytes()


def test_wrong_hash_is_refused_and_nothing_cached(server):
    with pytest.raises(FetchWrongHash, match="not the original model") as exc:
        download_original(url(server, "/wrong"), limits=QUICK)
    assert str(exc.value).endswith("upload it on the Model page instead.")
    assert not cached_original_path().exists()


def test_404(server):
    with pytest.raises(FetchHTTPStatus, match="HTTP 404") as exc:
        download_original(url(server, "/missing"), limits=QUICK)
    assert exc.value.status == 404


def test_stall_times_out(server):
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match="stopped sending for 0.4 s after 1,000 bytes"):
        download_original(url(server, "/stall"), limits=QUICK)
    assert time.monotonic() - started < 2.5


def test_deadline_caps_a_trickle(server):
    limits = FetchLimits(connect_s=2, stall_s=1, deadline_s=0.6)
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match="longer than 0.6 s"):
        download_original(url(server, "/trickle"), limits=limits)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("path", ["/big-announced", "/big-unannounced"])
def test_oversized_body(server, path):
    with pytest.raises(FetchTooLarge, match="1,000,000-byte cap"):
        download_original(url(server, path), limits=QUICK)


@pytest.mark.parametrize("path", ["/redirect-file", "/redirect-ftp"])
def test_redirect_to_another_scheme_is_refused(server, path):
    with pytest.raises(FetchBadURL, match="not an http\\(s\\) URL"):
        download_original(url(server, path), limits=QUICK)
    assert server.requests == [path]


def test_redirect_loop_stops(server):
    with pytest.raises(FetchHTTPStatus, match="redirected more than"):
        download_original(url(server, "/redirect-loop"), limits=QUICK)
    assert len(server.requests) == fetch.MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "bad", ["file:///etc/passwd", "ftp://example.org/x.pt", "http://", "javascript:alert(1)"]
)
def test_non_http_url_is_refused_before_any_io(bad):
    with pytest.raises(FetchBadURL, match="only http:// and https://"):
        download_original(bad, limits=QUICK)


def test_unreachable_host_says_offline_and_upload():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchUnreachable, match="offline or behind a firewall") as exc:
        download_original(f"http://127.0.0.1:{port}/ok", limits=QUICK)
    assert "upload it on the Model page instead" in str(exc.value)


def test_configured_url_and_fallback(server, monkeypatch):
    assert original_urls() == fetch.DEFAULT_URLS and len(fetch.DEFAULT_URLS) == 2
    assert "ARENA_3.0" in fetch.DEFAULT_URLS[0] and "ARENA_2.0" in fetch.DEFAULT_URLS[1]
    monkeypatch.setenv(fetch.URL_ENV, url(server, "/ok"))
    assert original_urls() == (url(server, "/ok"),)
    assert original_urls("http://x/y") == ("http://x/y",)
    # defaults: the first URL 404s, the second serves the file
    monkeypatch.delenv(fetch.URL_ENV)
    monkeypatch.setattr(fetch, "DEFAULT_URLS", (url(server, "/missing"), url(server, "/ok")))
    path = download_original(limits=QUICK)
    assert server.requests == ["/missing", "/ok"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256


def test_all_urls_failing_raises_the_first_error(server, monkeypatch):
    monkeypatch.setattr(fetch, "DEFAULT_URLS", (url(server, "/missing"), url(server, "/wrong")))
    with pytest.raises(FetchHTTPStatus):
        download_original(limits=QUICK)


def test_http_proxy_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("http_proxy", url(server, ""))
    monkeypatch.setenv("no_proxy", "")
    download_original("http://sortlist.invalid/ok", limits=QUICK)
    assert server.requests == ["http://sortlist.invalid/ok"]  # absolute-form: the proxy fetched it


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache), "HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "sortlist_core", "fetch-original", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_cli_success_and_failure(server, tmp_path):
    out = tmp_path / "o.pt"
    ok = _cli("--url", url(server, "/ok"), "--out", str(out), cache=tmp_path / "c1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == str(out) and hashlib.sha256(out.read_bytes()).hexdigest() == EXPECTED_SHA256
    bad = _cli("--url", url(server, "/missing"), cache=tmp_path / "c2")
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "HTTP 404" in lines[0]


def test_fetch_error_message_always_gives_the_manual_route():
    assert str(FetchError("Something broke.")).startswith("Something broke. Download sorted_list_model.pt")
