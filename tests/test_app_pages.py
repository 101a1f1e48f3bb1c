"""The Problem, Attention and OV/QK circuits pages in AppTest: they render on the default model
and on the reference checkpoint, every widget works, bad input is reported and kept, every
exercise accepts the right answer and rejects a wrong one, links reproduce the view, and the
prose follows the model (a head-swapped checkpoint swaps the heads named in it)."""

from __future__ import annotations

import numpy as np
import pytest

from sortlist_core import SortedListDataset
from sortlist_core.ablation import head_ablation
from sortlist_core.attention import top_attended_position
from sortlist_core.circuits import head_responsibility, qk_scores
from sortlist_core.metrics import evaluate, sequence_predictions

from .page_helpers import assert_ok, check_exercise, default_model_usable, joined, open_page

PROBLEM, ATTENTION, CIRCUITS = "pages/1_problem.py", "pages/2_attention.py", "pages/3_circuits.py"
PAGES = (PROBLEM, ATTENTION, CIRCUITS)


@pytest.fixture(scope="module")
def default_path(reference_path):
    """None (the bundled model) when it loads, else the reference checkpoint stands in."""
    return None if default_model_usable() else reference_path


def flat(text: str) -> str:
    """Markdown text with line breaks and runs of spaces collapsed (templates wrap lines)."""
    return " ".join(text.split())


def sidebar_text(at) -> str:
    return joined(at.sidebar.markdown)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_default_and_reference_models(monkeypatch, page, default_path, reference_path):
    for path in (default_path, reference_path):
        at = open_page(monkeypatch, page, path)
        assert not at.error, joined(at.error)
        assert at.get("plotly_chart"), "no figure drawn"
        assert at.download_button, "no data downloads"
        assert at.sidebar.get("progress"), "no exercise progress in the sidebar"


@pytest.mark.parametrize("page", PAGES)
def test_page_without_a_model_explains_and_links_to_the_model_page(monkeypatch, tmp_path, page):
    at = open_page(monkeypatch, page, tmp_path / "missing.pt")
    assert "No model to analyse" in joined(at.error) and "missing" in joined(at.error)
    assert any(link.proto.page == "model" for link in at.get("page_link"))


def test_sidebar_shows_model_and_progress(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    text = sidebar_text(at)
    assert reference_model.short_id in text and reference_model.name in text
    assert "Problem: 0 of 2" in text
    accuracy = evaluate(reference_model, SortedListDataset(500).toks).accuracy
    assert f"{accuracy:.1%}" in [m.value for m in at.sidebar.metric]


# --------------------------------------------------------------------------- Problem


def test_problem_widgets_and_own_list(monkeypatch, reference_path):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    assert [m.value for m in at.metric][:4] == ["0.039", "0.966", "0.981", "0.001"]
    at.number_input(key="problem.seed").set_value(44).run()
    at.number_input(key="problem.idx").set_value(3).run()
    assert_ok(at)
    assert at.query_params["seed"] == "44" and at.query_params["idx"] == "3"
    at.text_input(key="problem.own_list").input("9 8 7 6 5 4 3 2 1 0").run()
    assert_ok(at)
    assert not at.error and "sorts it correctly" in joined(at.markdown)
    assert at.query_params["lists"] == "9-8-7-6-5-4-3-2-1-0"
    for hint in [b for b in at.button if b.label.startswith("Show hint")]:
        hint.click().run()
    assert_ok(at)
    assert len(at.info) >= 2


@pytest.mark.parametrize(
    "text, message",
    [("1, 2, x", "not an integer"), ("1 2 3", "wrong length"), ("1 1 2 3 4 5 6 7 8 9", "more than once")],
)
def test_problem_invalid_list_shows_error_and_keeps_text(monkeypatch, reference_path, text, message):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    at.text_input(key="problem.own_list").input(text).run()
    assert_ok(at)
    assert message in joined(at.error)
    assert at.text_input(key="problem.own_list").value == text


def test_problem_exercises(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    ds = SortedListDataset(500)
    predicted = sequence_predictions(reference_model, ds.toks[:1])[0].predicted[0]
    wrong = next(v for v in ds.unsorted[0].tolist() if v != predicted)
    assert check_exercise(at, "problem.sep_prediction", wrong, "number")[0] is False
    assert check_exercise(at, "problem.sep_prediction", predicted, "number")[0] is True
    acc = evaluate(reference_model, ds.toks).per_position_accuracy
    assert check_exercise(at, "problem.least_accurate_position", int(np.argmax(acc)), "select")[0] is False
    assert check_exercise(at, "problem.least_accurate_position", int(np.argmin(acc)), "select")[0] is True
    assert "Problem: 2 of 2" in sidebar_text(at)


def test_problem_link_reproduces_the_view(monkeypatch, reference_path):
    at = open_page(
        monkeypatch, PROBLEM, reference_path, {"seed": "44", "idx": "9", "lists": "0-1-2-3-4-5-6-7-8-9"}
    )
    assert at.number_input(key="problem.seed").value == 44
    assert at.number_input(key="problem.idx").value == 9
    assert at.text_input(key="problem.own_list").value == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    assert not at.warning


# --------------------------------------------------------------------------- Attention


def test_attention_widgets(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    assert len(at.get("iframe")) == 1  # circuitsvis view of list #0
    at.multiselect(key="attention.idx").select(5).run()
    assert len(at.get("iframe")) == 2
    at.text_area(key="attention.lists").input("0 1 2 3 4 5 6 7 8 9\n40 41 42 43 44 45 46 47 48 49").run()
    assert_ok(at)
    assert len(at.get("iframe")) == 4 and not at.error
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
    assert not at.get("iframe") and "Choose at least one list" in joined(at.info)


def test_attention_views_are_small(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    html = at.get("iframe")[0].proto.srcdoc
    assert len(html.encode()) <= 10_000
    assert "/app/static/circuitsvis-" in html and "CircuitsVis.AttentionHeads" in html


def test_attention_invalid_list_shows_error_and_keeps_text(monkeypatch, reference_path):
    at = open_page(monkeypatch, ATTENTION, reference_path)
    text = "0 1 2 3 4 5 6 7 8 9\n1 2 99"
    at.text_area(key="attention.lists").input(text).run()
    assert_ok(at)
    assert "Line 2" in joined(at.error) and "out of range" in joined(at.error)
    assert at.text_area(key="attention.lists").value == text
    assert len(at.get("iframe")) == 2  # list #0 and the valid line


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
    assert "mean-ablating head 0.1 hurts" in text


def test_attention_link_reproduces_the_view(monkeypatch, reference_path):
    query = {"idx": "2-4", "head": "1", "pos": "14", "lists": "9-8-7-6-5-4-3-2-1-0"}
    at = open_page(monkeypatch, ATTENTION, reference_path, query)
    assert at.multiselect(key="attention.idx").value == [2, 4]
    assert at.radio(key="attention.head").value == 1
    assert at.selectbox(key="attention.pos").value == 14
    assert at.text_area(key="attention.lists").value == "9, 8, 7, 6, 5, 4, 3, 2, 1, 0"
    assert len(at.get("iframe")) == 3


# --------------------------------------------------------------------------- Circuits


def test_circuits_widgets(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    assert at.slider(key="circuits.dest").value == 25
    at.button(key="circuits.pick.40").click().run()
    assert at.slider(key="circuits.dest").value == 40 and at.query_params["dest"] == "40"
    assert "Attention scores for destination token 40" in str([c.proto.spec for c in at.get("plotly_chart")])
    at.button(key="circuits.pick.25").click().run()
    assert at.slider(key="circuits.dest").value == 25 and "dest" not in at.query_params
    at.slider(key="circuits.dest").set_value(31).run()
    at.radio(key="circuits.head").set_value(1).run()
    assert_ok(at)
    assert at.query_params["dest"] == "31" and at.query_params["head"] == "1"


def test_circuits_exercises(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    resp = head_responsibility(reference_model)
    minor = int(np.argmin([len(c) for c in resp.copies]))
    run = resp.main_range(minor)
    probe = (run.start + run.end) // 2
    assert f"Who copies token {probe}?" in joined(at.markdown)
    owner = resp.owner[probe]
    assert check_exercise(at, "circuits.copier_of_token", 1 - owner, "select")[0] is False
    assert check_exercise(at, "circuits.copier_of_token", owner, "select")[0] is True
    count = len(resp.copies[minor])
    assert check_exercise(at, "circuits.copy_count", count + 1, "number")[0] is False
    assert check_exercise(at, "circuits.copy_count", count, "number")[0] is True
    scores = qk_scores(reference_model, 25)[0, :51]
    best = int(np.argmax(scores))
    assert check_exercise(at, "circuits.top_source", best - 1, "number")[0] is False
    assert check_exercise(at, "circuits.top_source", best, "number")[0] is True
    assert "OV/QK circuits: 3 of 3" in sidebar_text(at)


@pytest.mark.parametrize("model, minor, major", [("reference", "0.0", "0.1"), ("swapped", "0.1", "0.0")])
def test_circuits_prose_follows_the_heads(monkeypatch, reference_path, swapped_path, model, minor, major):
    at = open_page(monkeypatch, CIRCUITS, reference_path if model == "reference" else swapped_path)
    text = flat(joined(at.markdown))
    assert (
        f"Head **{minor}** is the less used head: it is the stronger copier only for tokens **28–36**" in text
    )
    assert f"head **{major}** deals with the other 42 (0–27 and 37–50)" in text
    assert f"head {minor} is the stronger copier of 9 tokens (28–36)" in text


def test_circuits_bad_link_warns_and_uses_defaults(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path, {"dest": "abc", "head": "7"})
    warnings = joined(at.warning)
    assert "`dest=abc`" in warnings and "`head=7`" in warnings
    assert at.slider(key="circuits.dest").value == 25 and at.radio(key="circuits.head").value == 0
    assert "dest" not in at.query_params and "head" not in at.query_params
    at.slider(key="circuits.dest").set_value(30).run()
    assert not at.warning  # the warning is shown once, for the link


def test_circuits_link_reproduces_the_view(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path, {"dest": "40", "head": "1"})
    assert at.slider(key="circuits.dest").value == 40 and at.radio(key="circuits.head").value == 1
    assert "For destination token **40**" in joined(at.markdown)


def test_tables_are_built_when_opened_and_downloads_are_deferred(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    assert not at.dataframe  # every table expander is closed: nothing built or sent
    assert {"dl_csv_full_ov_circuit", "dl_json_full_ov_circuit"} <= {b.key for b in at.get("download_button")}
    at.session_state["table_full_ov_circuit"] = True
    at.run()
    assert_ok(at)
    assert len(at.dataframe) == 1 and at.dataframe[0].value.shape == (2 * 52 * 52, 4)


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
        assert not at.get("iframe")
        assert "circuitsvis view unavailable" in joined(at.caption)
        assert len(at.get("plotly_chart")) == 3  # the fallback heatmaps, the claims and the ablation
    finally:
        monkeypatch.undo()
        ensure_bundle.clear()
