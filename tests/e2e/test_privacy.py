"""In a real Chromium against the real app (no nginx in front): a page opened with a resume key
in its address sends no Referer anywhere, neither for a link the learner follows nor for a
request the page makes. The app sets the policy itself for deployments without
the shipped nginx site (which sends the header)."""

from __future__ import annotations

import http.server
import threading

import pytest

from sortlist_progress.store import new_learner_key

from .harness import assert_no_exception, wait_ready

pytestmark = pytest.mark.e2e


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append((self.path, self.headers.get("Referer")))
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>landed</body></html>")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    """Another origin (another port on localhost, so the offline context lets it through)."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_no_referer_leaves_a_page_opened_with_a_resume_key(server, pages, page, recorder):
    other_origin, seen = recorder
    page.goto(f"{server.url}/?learner={new_learner_key()}")
    wait_ready(page, len(pages))
    assert_no_exception(page, "resume link", server)
    page.wait_for_function(
        "() => document.querySelector('meta[name=referrer]')?.content === 'no-referrer'", timeout=30_000
    )
    # a request the page makes (an image), then a link the learner clicks
    page.evaluate(f"() => {{ new Image().src = '{other_origin}/pixel'; }}")
    page.evaluate(
        f"""() => {{
            const a = document.createElement('a');
            a.href = '{other_origin}/landing'; a.id = 'sortlist-test-link'; a.textContent = 'away';
            a.style.cssText = 'position:fixed;top:300px;left:500px;z-index:2147483647;font-size:40px';
            document.body.appendChild(a);
        }}"""
    )
    page.click("#sortlist-test-link")
    page.wait_for_url(f"{other_origin}/landing", timeout=30_000)
    paths = dict(seen)
    assert "/pixel" in paths and "/landing" in paths, seen
    assert paths["/pixel"] is None and paths["/landing"] is None, seen  # Chromium's default sends the origin
