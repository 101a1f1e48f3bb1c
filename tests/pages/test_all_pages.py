"""Every lesson page in AppTest: renders on the default model and on the reference checkpoint
(figures, downloads, progress), and explains itself when there is no model."""

from __future__ import annotations

import pytest

from sortlist_app.server import heap
from sortlist_app.server.run_gate import RUN_GATE

from ..page_helpers import default_model_usable, joined, open_page

PROBLEM, ATTENTION, CIRCUITS = "pages/1_problem.py", "pages/2_attention.py", "pages/3_circuits.py"
PAGES = (PROBLEM, ATTENTION, CIRCUITS, "pages/4_adversarial.py", "pages/5_mystery.py")


@pytest.fixture(scope="module")
def default_path(reference_path):
    """None (the bundled model) when it loads, else the reference checkpoint stands in."""
    return None if default_model_usable() else reference_path


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_default_and_reference_models(monkeypatch, page, default_path, reference_path):
    for path in (default_path, reference_path):
        at = open_page(monkeypatch, page, path)
        assert not at.error, joined(at.error)
        assert at.get("plotly_chart"), "no figure drawn"
        assert at.download_button, "no data downloads"
        assert at.sidebar.get("progress"), "no exercise progress in the sidebar"
        _assert_run_gate_free()
        assert heap._frozen, "app.py freezes the warmed-up heap after its first finished run"  # noqa: SLF001


@pytest.mark.parametrize("page", PAGES)
def test_page_without_a_model_explains_and_links_to_the_model_page(monkeypatch, tmp_path, page):
    at = open_page(monkeypatch, page, tmp_path / "missing.pt")
    assert "No model to analyse" in joined(at.error) and "missing" in joined(at.error)
    assert any(link.proto.page == "model" for link in at.get("page_link"))
    _assert_run_gate_free()  # st.stop() ended the run: its turn was still given back


def _assert_run_gate_free() -> None:
    """Every run gives its turn back (app.py runs under `RUN_GATE.admitted()`)."""
    assert RUN_GATE._semaphore.acquire(blocking=False), "a finished run kept the run gate"  # noqa: SLF001
    RUN_GATE._semaphore.release()  # noqa: SLF001
