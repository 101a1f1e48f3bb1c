"""The Attention page (pages/2_attention.py) in AppTest: widgets, views, bad input reported and
kept, exercises, prose, links and the fallback without static serving."""

from __future__ import annotations

from sortlist_core import SortedListDataset
from sortlist_core.ablation import head_ablation
from sortlist_core.attention import top_attended_position

from ..page_helpers import assert_ok, check_exercise, joined, open_page

PROBLEM, ATTENTION, CIRCUITS = "pages/1_problem.py", "pages/2_attention.py", "pages/3_circuits.py"


def flat(text: str) -> str:
    """Markdown text with line breaks and runs of spaces collapsed (templates wrap lines)."""
    return " ".join(text.split())


def test_attention_widgets(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    assert len(at.main.get("iframe")) == 1  # circuitsvis view of list #0
    at.multiselect(key="attention.idx").select(5).run()
    assert len(at.main.get("iframe")) == 2
    at.text_area(key="attention.lists").input("0 1 2 3 4 5 6 7 8 9\n40 41 42 43 44 45 46 47 48 49").run()
    assert_ok(at)
    assert len(at.main.get("iframe")) == 4 and not at.error
    at.radio(key="attention.head").set_value(1).run()
    at.selectbox(key="attention.pos").select(15).run()
    assert_ok(at)
    assert (
        at.query_params["idx"] == "0-5" and at.query_params["head"] == "1" and at.query_params["pos"] == "15"
    )
    assert at.query_params["lists"] == "0-1-2-3-4-5-6-7-8-9_40-41-42-43-44-45-46-47-48-49"
    at.multiselect(key="attention.idx").unselect(0).unselect(5).run()
    at.text_area(key="attention.lists").input("").run()
    assert_ok(at)
    assert not at.main.get("iframe") and "Choose at least one list" in joined(at.info)


def test_attention_views_are_small(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    html = at.main.get("iframe")[0].proto.srcdoc
    assert len(html.encode()) <= 10_000
    assert "/app/static/circuitsvis-" in html and "CircuitsVis.AttentionHeads" in html


def test_attention_invalid_list_shows_error_and_keeps_text(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    text = "0 1 2 3 4 5 6 7 8 9\n1 2 99"
    at.text_area(key="attention.lists").input(text).run()
    assert_ok(at)
    assert "Line 2" in joined(at.error) and "out of range" in joined(at.error)
    assert at.text_area(key="attention.lists").value == text
    assert len(at.main.get("iframe")) == 2  # list #0 and the valid line


def test_attention_exercises_and_prose(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    toks = SortedListDataset(500).toks
    expected = top_attended_position(reference_model, toks[:1], 11, 0)
    wrong = next(p for p in range(12) if p != expected)
    assert check_exercise(at, "attention.top_attended", wrong, "number")[0] is False
    assert check_exercise(at, "attention.top_attended", expected, "number")[0] is True
    important = head_ablation(reference_model, toks).most_important_head
    assert check_exercise(at, "attention.important_head", 1 - important, "select")[0] is False
    assert check_exercise(at, "attention.important_head", important, "select")[0] is True
    text = flat(joined(at.markdown))
    assert "0.920 for head 0.0 and 4.963 for head 0.1" in text
    assert "mean-ablating head 0.1 raises the loss 5.4 times as much" in text
    assert "at least 5% of the largest increase" in text  # the rule the quiz grades by


def test_attention_link_reproduces_the_view(monkeypatch, reference_path):
    query = {"idx": "2-4", "head": "1", "pos": "14", "lists": "9-8-7-6-5-4-3-2-1-0"}
    at = open_page(monkeypatch, ATTENTION, reference_path, query)
    assert at.multiselect(key="attention.idx").value == [2, 4]
    assert at.radio(key="attention.head").value == 1
    assert at.selectbox(key="attention.pos").value == 14
    assert at.text_area(key="attention.lists").value == "9, 8, 7, 6, 5, 4, 3, 2, 1, 0"
    assert len(at.main.get("iframe")) == 3


def test_attention_falls_back_to_heatmaps_without_static_serving(monkeypatch, reference_path):
    import streamlit as st

    from sortlist_app.widgets.attention_view import ensure_bundle

    real_get_option = st.get_option
    monkeypatch.setattr(
        st, "get_option", lambda key: False if key == "server.enableStaticServing" else real_get_option(key)
    )
    ensure_bundle.clear()
    try:
        at = open_page(monkeypatch, ATTENTION, reference_path)
        assert not at.main.get("iframe")
        assert "circuitsvis view unavailable" in joined(at.caption)
        # the fallback heatmaps, the one head with every row labelled, the claims and the ablation
        assert len(at.get("plotly_chart")) == 4
    finally:
        monkeypatch.undo()
        ensure_bundle.clear()
