"""Reliability: the default model file is missing or corrupt.

A server whose `$SORTLIST_MODEL_PATH` names a missing file, or a truncated checkpoint, still
starts; every page says there is no model (no exception box), the sidebar says so too, and the
Model page offers upload and training; uploading a checkpoint there makes the session work.
(The CLI's exit code 2 on a corrupt `--checkpoint` is tested in `tests/test_cli.py`.)
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from .harness import (
    BUNDLED_MODEL,
    MODEL_PATH_ENV,
    REFERENCE_MODEL,
    NetworkLog,
    StreamlitServer,
    assert_no_exception,
    hostile_env,
    offline_context,
    traceback_lines,
    wait_ready,
)

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 120_000
PROBLEM = {"missing": "is missing", "corrupt": "could not be loaded"}


def _good_checkpoint():
    source = REFERENCE_MODEL if REFERENCE_MODEL.is_file() else BUNDLED_MODEL
    if not source.is_file():
        pytest.skip("no checkpoint to upload")
    return source


@pytest.fixture(params=["missing", "corrupt"])
def broken_server(request, tmp_path):
    kind = request.param
    model = tmp_path / "model.pt"
    if kind == "corrupt":  # an interrupted download: the first half of a real checkpoint
        data = _good_checkpoint().read_bytes()
        model.write_bytes(data[: len(data) // 2])
    with StreamlitServer(
        tmp_path / "server.log", {MODEL_PATH_ENV: str(model), **hostile_env(tmp_path)}
    ) as srv:
        yield kind, srv


def test_pages_without_a_default_model(broken_server, browser, pages, tmp_path):
    kind, server = broken_server
    network = NetworkLog()
    context = offline_context(browser, network)
    try:
        page = context.new_page()
        sidebar = page.locator('[data-testid="stSidebarUserContent"]')
        main = page.locator('[data-testid="stMain"]')
        page.goto(server.url, wait_until="domcontentloaded")
        wait_ready(page, len(pages), pages[0].heading)
        assert_no_exception(page, f"{kind} model, first page", server)
        for app_page in pages:  # through the sidebar menu: one session, no page reloads
            where = f"{kind} model, page {app_page.key!r}"
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=app_page.title).first.click()
            wait_ready(page, len(pages), app_page.heading)
            assert_no_exception(page, where, server)
            expect(sidebar).to_contain_text("No model loaded")
            if app_page.key == "model":
                expect(main).to_contain_text("The default model is unavailable")
                expect(main).to_contain_text(PROBLEM[kind])
                expect(
                    main.locator('[data-testid="stFileUploader"]').filter(has_text="Checkpoint file")
                ).to_have_count(1)
                expect(main.get_by_role("button", name=re.compile("Start training"))).to_be_enabled()
            else:
                expect(main).to_contain_text("No model to analyse")
                expect(main).to_contain_text(PROBLEM[kind])
                expect(main.locator('[data-testid="stPageLink"]')).to_contain_text("Model page")

        # The Model page's upload rescues the session.
        upload = tmp_path / "uploaded_checkpoint.pt"
        shutil.copyfile(_good_checkpoint(), upload)
        page.locator('[data-testid="stFileUploader"]').filter(has_text="Checkpoint file").locator(
            'input[type="file"]'
        ).set_input_files(str(upload))
        # ARENA's file is recognised by its sha256 whatever it is called; any other keeps its file name
        shown = "original (ARENA)" if _good_checkpoint() == REFERENCE_MODEL else "uploaded_checkpoint.pt"
        expect(sidebar).to_contain_text(shown, timeout=TIMEOUT_MS)
        assert_no_exception(page, f"{kind} model, after an upload", server)
        assert not network.blocked, f"requests that leave localhost: {network.blocked}"
    finally:
        context.close()
    assert not traceback_lines(server.log_text()), server.log_tail()
