"""What makes the app feel fast, asserted as behaviour (the times are measured in `bench/`):

- the deployed launcher (`python -m sortlist_app.server.serve`) serves the first page once the server
  answers health, and the code worker starts only after that page was served;
- checking a code exercise reruns that exercise's fragment and nothing else: every message the
  server sends for the check belongs to a fragment run (read off the websocket, decoded with
  Streamlit's own protobuf classes), "Running your code…" comes before the verdict, and the
  page around it (its title, the sidebar's count) is left as it was until the next page run.
"""

from __future__ import annotations

import time

import psutil
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from sortlist_core.exercises import get_exercise

from .harness import (
    SERVE,
    NetworkLog,
    StreamlitServer,
    app_pages,
    assert_no_exception,
    default_model_env,
    offline_context,
    wait_ready,
)
from .test_code_exercises import TYPE_SETTLE_MS, exercise_box

pytestmark = pytest.mark.e2e
WORKER_START_S = 120


def code_workers(server_pid: int) -> list[psutil.Process]:
    """The server's code-exercise worker (inside bubblewrap, or a plain child process)."""
    found = []
    for proc in psutil.Process(server_pid).children(recursive=True):
        try:
            if "sortlist_core.runner.worker" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_first_page_renders_once_the_server_starts_and_the_worker_waits_for_it(browser, tmp_path):
    env = {**default_model_env(), "SORTLIST_CODE_EXERCISES": "process"}
    pages = app_pages()
    with StreamlitServer(tmp_path / "server.log", env, launch=SERVE) as server:
        assert not code_workers(server.pid), "the code worker started before any page was served"
        context = offline_context(browser, NetworkLog())
        page = context.new_page()
        page.goto(server.url, wait_until="domcontentloaded")
        wait_ready(page, len(pages), pages[0].heading)
        assert_no_exception(page, "first page", server)
        assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip() == pages[0].heading
        # what the warm start imported works in sessions: the code editor (a component, which
        # registers itself only when declared inside a session's run) is drawn
        editor = page.locator('iframe[title="streamlit_ace.streamlit_ace"]').first
        editor.scroll_into_view_if_needed()
        editor.content_frame.locator(".ace_text-input").wait_for(state="attached", timeout=60_000)
        deadline = time.monotonic() + WORKER_START_S
        while not code_workers(server.pid):
            assert time.monotonic() < deadline, f"no code worker after the first page:\n{server.log_tail()}"
            time.sleep(0.5)
        assert "warm start" not in server.log_text(), server.log_tail()  # the warm-up raised nothing
        context.close()


def test_a_check_reruns_only_its_exercise(browser, tmp_path):
    pages = app_pages()
    circuits = next(p for p in pages if p.key == "circuits")
    ex = get_exercise("circuits.full_ov")
    with StreamlitServer(tmp_path / "server.log", default_model_env(), launch=SERVE) as server:
        context = offline_context(browser, NetworkLog())
        page = context.new_page()
        frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        page.goto(f"{server.url}/{circuits.key}", wait_until="domcontentloaded")
        wait_ready(page, len(pages), circuits.heading)
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_text(f"{circuits.title}: 0 of", exact=False).count()

        box = exercise_box(page, ex)
        box.scroll_into_view_if_needed()
        box.frame_locator("iframe").first.locator(".ace_text-input").focus()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(ex.solution)
        page.wait_for_timeout(TYPE_SETTLE_MS)
        wait_ready(page, len(pages))
        title = page.locator('[data-testid="stMain"] h1').first
        title.evaluate("el => { el.dataset.beforeCheck = 'kept'; }")  # a marker outside the fragment
        before = len(frames)
        box.get_by_role("button", name="Check my code").click()
        box.locator('[data-testid="stAlertContentSuccess"]').first.wait_for(timeout=120_000)
        wait_ready(page, len(pages))
        assert_no_exception(page, "after the check", server)

        msgs = [ForwardMsg.FromString(f) for f in frames[before:] if isinstance(f, bytes)]
        deltas = [m for m in msgs if m.WhichOneof("type") == "delta"]
        assert deltas, "the check sent nothing"
        outside = [m for m in deltas if not m.delta.fragment_id]  # a whole-page run sends these
        assert not outside, f"{len(outside)} of {len(deltas)} elements were not the fragment's"
        finished = [m.script_finished for m in msgs if m.WhichOneof("type") == "script_finished"]
        assert finished and set(finished) == {ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}, finished
        texts = [m.SerializeToString() for m in deltas]
        running = next(i for i, t in enumerate(texts) if b"Running your code" in t)
        verdict = next(i for i, t in enumerate(texts) if b"Correct" in t or "✅".encode() in t)
        assert running < verdict, "the verdict came before the check was shown as running"
        # outside the fragment nothing changed: the page's own title is the same element and the
        # sidebar still shows the count from the page's last run; the box shows the solve and
        # that it was saved, and the next page run counts it
        assert title.evaluate("el => el.dataset.beforeCheck") == "kept"
        assert sidebar.get_by_text(f"{circuits.title}: 0 of", exact=False).count()
        assert box.get_by_text("✅ Write the analysis yourself", exact=False).count()
        assert box.get_by_text("Saved", exact=False).count(), "the attempt was not shown as saved"
        page.locator(f'[data-testid="stSidebarNav"] a[href$="/{pages[0].key}"]').first.click()  # another page
        sidebar.get_by_text(f"{circuits.title}: 1 of", exact=False).wait_for(timeout=60_000)
        context.close()
