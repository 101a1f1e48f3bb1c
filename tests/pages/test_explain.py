"""The Explain page in AppTest, through the real runner: it renders with the references measured,
a loaded reference is tested in the sandbox and shows its recovered fraction and worst lists
(linked to the Attention and Mystery pages), an edited hypothesis changes the number, and a
malformed one gets a teaching assistant's message without losing the code."""

from __future__ import annotations

from sortlist_app.widgets import hypothesis_editor as editor

from ..page_helpers import assert_ok, joined, open_page

PAGE = "pages/7_explain.py"


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _test(at, code: str | None = None, load: str | None = None):
    if load is not None:
        at.button(key=f"explain.load.{load}").click()
        at.run()
    if code is not None:
        at.session_state[editor.TEXT] = code
        at.session_state[editor.VERSION] = (
            at.session_state[editor.VERSION] + 1 if editor.VERSION in at.session_state else 1
        )
        at.run()
    at.button(key="explain.test").click()
    at.run()
    assert_ok(at)
    return at


def test_writeup_reference_then_edit_changes_the_number(monkeypatch, reference_path):
    at = open_page(monkeypatch, PAGE, reference_path)
    assert at.get("plotly_chart") and at.download_button and at.sidebar.get("progress")
    text = joined(at.markdown)
    assert "The write-up's algorithm" in text and "Uniform attention" in text and "recovers" in text
    _test(at, load="writeup")
    recovered = _metric(at, "Loss recovered")
    assert recovered.endswith("%") and float(recovered[:-1]) > 90, recovered
    links = [m for m in joined(at.markdown).splitlines() if "./attention?lists=" in m]
    assert len(links) == 5 and all("./mystery?lists=" in m for m in links), links
    # the learner breaks head routing: every value to the first head
    edited = at.session_state[editor.TEXT].replace(
        "return set(HANDLES[head])", "return set(range(51)) if head == 0 else set()"
    )
    _test(at, code=edited)
    changed = _metric(at, "Loss recovered")
    assert changed != recovered, (changed, recovered)


def test_malformed_hypothesis_gets_a_ta_message_and_keeps_the_code(monkeypatch, reference_path):
    at = open_page(monkeypatch, PAGE, reference_path)
    code = "import torch\n\ndef attention(tokens, head):\n    return torch.tril(torch.ones(tokens.shape[0], 21, 21))\n"
    _test(at, code=code)
    warnings = joined(at.warning)
    assert "sums to" in warnings and "not 1" in warnings, warnings
    assert at.session_state[editor.TEXT] == code


def test_without_a_model_the_page_explains_and_links_to_the_model_page(monkeypatch, tmp_path):
    at = open_page(monkeypatch, PAGE, tmp_path / "missing.pt")
    assert "No model to analyse" in joined(at.error)
    assert any(link.proto.page == "model" for link in at.get("page_link"))
