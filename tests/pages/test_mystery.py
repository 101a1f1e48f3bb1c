"""The Mystery page (pages/5_mystery.py) in AppTest: the write-up's four lists and the learner's
own, validation with the text kept, head choice, exercises, links, and a checkpoint with its
heads swapped (the page must follow the weights, not the write-up)."""

from __future__ import annotations

import pytest

from sortlist_app.lessons import mystery as facts
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, direct_path_experiment, dla_yz

from ..page_helpers import assert_ok, check_exercise, default_model_usable, joined, open_page, show_solutions

PAGE = "pages/5_mystery.py"
OWN = "0, 5, 10, 20, 21, 23, 30, 40, 45, 50"


@pytest.fixture
def ref_page(monkeypatch, reference_path):
    return open_page(monkeypatch, PAGE, reference_path)


def test_renders_on_the_default_model(monkeypatch):
    at = open_page(monkeypatch, PAGE)
    assert at.title[0].value.startswith("🕵️")
    assert default_model_usable(), "the bundled model must load"  # it ships with the repo
    show_solutions(at, "mystery.cross_sign", "mystery.larger_total")  # predict, then see
    assert "List #0" in joined(at.markdown) and not at.error


def test_reference_shows_the_four_lists_with_measured_sentences(ref_page, reference_model):
    at = show_solutions(ref_page, "mystery.cross_sign", "mystery.larger_total", "mystery.direct_path")
    md = joined(at.markdown)
    for lst, xyz in DEFAULT_MYSTERY_LISTS:
        case = dla_yz(reference_model, lst, *xyz)
        assert facts.case_sentence(case, reference_model.config.head_names) in md
    # the write-up's signs, measured: z->y positive, y->z negative, y's total larger
    assert "z→y is positive (+1.80) and y→z is negative (−1.53)" in md
    exp = direct_path_experiment(reference_model)
    assert facts.direct_path_experiment_facts(exp)["dp_verdict"] in md
    assert len(at.get("plotly_chart")) >= 4  # direct path bars + heatmap, OV profile, DLA


def test_own_list_head_choice_and_validation(ref_page, reference_model):
    at = show_solutions(ref_page, "mystery.cross_sign", "mystery.larger_total")
    at.text_input(key="mystery.list").input(OWN).run()
    assert_ok(at)
    assert "Using the list's tightest triple (x, y, z) = (20, 21, 23)" in joined(at.caption)
    assert "Your list (x, y, z) = (20, 21, 23)" in joined(at.markdown)
    at.text_input(key="mystery.xyz").input("10, 20, 21").run()
    assert_ok(at)
    assert "Your list (x, y, z) = (10, 20, 21)" in joined(at.markdown)
    assert at.query_params["xyz"] == "10-20-21" and at.query_params["lists"] == "0-5-10-20-21-23-30-40-45-50"
    # y must follow x in sorted order: error, text kept
    at.text_input(key="mystery.xyz").input("10, 21, 23").run()
    assert_ok(at)
    assert "y must be the value right after x" in joined(at.error)
    assert at.text_input(key="mystery.xyz").value == "10, 21, 23"
    bad_list = "0, 5, 10, 20, 21, 23, 30, 40, 45, 60"
    at.text_input(key="mystery.list").input(bad_list).run()
    assert "60 is out of range" in joined(at.error)
    assert at.text_input(key="mystery.list").value == bad_list
    # head choice: every case is attributed to head 0.0
    at.text_input(key="mystery.list").input("").run()
    at.selectbox(key="mystery.head").select(0).run()
    assert_ok(at)
    md = joined(at.markdown)
    assert "head 0.1 attends" not in md and "head 0.0 attends" in md
    assert at.query_params["head"] == "0"


def test_exercises_accept_right_and_reject_wrong_answers(ref_page, reference_model):
    at = ref_page
    first = dla_yz(reference_model, *DEFAULT_MYSTERY_LISTS[0][:1], *DEFAULT_MYSTERY_LISTS[0][1])
    right = "positive" if first.dla[0][1] > 0 else "negative"
    wrong = "negative" if right == "positive" else "positive"
    assert not check_exercise(at, "mystery.cross_sign", wrong, "select")[0]
    assert check_exercise(at, "mystery.cross_sign", right, "select")[0]

    last = dla_yz(reference_model, *DEFAULT_MYSTERY_LISTS[-1][:1], *DEFAULT_MYSTERY_LISTS[-1][1])
    right = "y" if last.total_to_y > last.total_to_z else "z"
    assert not check_exercise(at, "mystery.larger_total", "z" if right == "y" else "y", "select")[0]
    assert check_exercise(at, "mystery.larger_total", right, "select")[0]

    exp = direct_path_experiment(reference_model)
    right = "yes" if exp.becomes_adversarial else "no"
    assert not check_exercise(at, "mystery.direct_path", "no" if right == "yes" else "yes", "select")[0]
    assert check_exercise(at, "mystery.direct_path", right, "select")[0]


def test_a_link_reproduces_list_xyz_and_head(monkeypatch, reference_path):
    query = {"lists": "0-5-10-20-21-23-30-40-45-50", "xyz": "20-21-23", "head": "1"}
    at = open_page(monkeypatch, PAGE, reference_path, query=query)
    show_solutions(at, "mystery.cross_sign", "mystery.larger_total")
    assert at.text_input(key="mystery.list").value == OWN
    assert at.text_input(key="mystery.xyz").value == "20, 21, 23"
    assert at.selectbox(key="mystery.head").value == 1
    assert "Your list (x, y, z) = (20, 21, 23)" in joined(at.markdown)
    assert {k: v for k, v in at.query_params.items() if k not in ("model", "fp")} == query
    bad = open_page(monkeypatch, PAGE, reference_path, query={"head": "7", "xyz": "1-2"})
    assert bad.selectbox(key="mystery.head").value == "auto"
    warnings = joined(bad.warning)
    assert "head=7" in warnings and "xyz=1-2" in warnings


def test_swapped_heads_checkpoint_swaps_the_attributed_heads(monkeypatch, swapped_path, swapped_model):
    at = show_solutions(
        open_page(monkeypatch, PAGE, swapped_path), "mystery.cross_sign", "mystery.larger_total"
    )
    md = joined(at.markdown)
    for lst, xyz in DEFAULT_MYSTERY_LISTS:
        case = dla_yz(swapped_model, lst, *xyz)
        assert facts.case_sentence(case, swapped_model.config.head_names) in md
    # the reference attributes list #0 to head 0.1; the swapped model to head 0.0
    assert "At x = 14, head 0.0 attends" in md


def test_says_what_it_measures_and_links_to_the_adversarial_page(ref_page):
    """Adversarial's "fully sorted" rate and Mystery's "right at d" seemed to disagree."""
    text = joined(ref_page.markdown)
    assert "contributes *one* prediction: the one made at *d*" in text
    assert any(link.proto.page == "adversarial" for link in ref_page.get("page_link"))
