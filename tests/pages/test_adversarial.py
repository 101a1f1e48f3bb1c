"""The Adversarial page (pages/4_adversarial.py) in AppTest: renders on the default and the
reference model, every widget works, bad lines are reported with the text kept, exercises grade
right and wrong answers, and a link reproduces the lists."""

from __future__ import annotations

import pytest

from sortlist_app.lessons import adversarial as facts
from sortlist_core import load_checkpoint
from sortlist_core.adversarial import family_failure_rates, predict_lists
from sortlist_core.data import format_list
from sortlist_core.list_text import MAX_EDITOR_LISTS, editor_text

from ..conftest import REFERENCE_PATH
from ..page_helpers import assert_ok, check_exercise, default_model_usable, joined, open_page, show_solutions

PAGE = "pages/4_adversarial.py"
HIGH = [0, *range(40, 49)]
EVENS = [5, *range(30, 48, 2)]


@pytest.fixture
def ref_page(monkeypatch, reference_path):
    return open_page(monkeypatch, PAGE, reference_path)


def test_renders_on_the_default_model(monkeypatch):
    at = open_page(monkeypatch, PAGE)
    assert at.title[0].value.startswith("🧨")
    # With a usable default model the page is complete; without one it explains and stops.
    if default_model_usable():
        assert at.text_area(key="adv.lists_text").value
    else:
        assert "No model to analyse" in joined(at.error)


def test_renders_on_the_reference_with_the_writeup_presets(ref_page, reference_model):
    at = ref_page
    text = at.text_area(key="adv.lists_text").value
    assert text.splitlines() == [format_list(HIGH), format_list(EVENS)]
    preds = predict_lists(reference_model, [HIGH, EVENS])
    show_solutions(at, "adversarial.worst_family", "adversarial.wrong_position")  # predict, then see
    md = joined(at.markdown)
    for i, p in enumerate(preds, start=1):
        if p.wrong:
            assert f"**List {i}**" in md and facts.describe_prediction(p) in md
    assert len(at.get("plotly_chart")) >= 3  # family bars, show_multiple, accuracy maps
    assert at.main.get("iframe") or at.get("plotly_chart")  # circuitsvis view (or its fallback)
    assert at.query_params["lists"] == "0-40-41-42-43-44-45-46-47-48_5-30-32-34-36-38-40-42-44-46"


def test_every_widget(ref_page):
    at = ref_page
    text = at.text_area(key="adv.lists_text")
    at.button(key="adv.preset_writeup_high").click().run()
    assert at.text_area(key="adv.lists_text").value == format_list(HIGH)
    at.button(key="adv.preset_writeup_evens").click().run()
    assert at.text_area(key="adv.lists_text").value == format_list(EVENS)
    at.button(key="adv.preset_all").click().run()
    assert len(at.text_area(key="adv.lists_text").value.splitlines()) == 2
    at.number_input(key="adv.n_generate").set_value(6).run()
    at.number_input(key="adv.generate_seed").set_value(3).run()
    at.button(key="adv.gen_high").click().run()
    high_lines = at.text_area(key="adv.lists_text").value.splitlines()
    assert (
        high_lines
        == editor_text(
            facts.generated_lists("high", 6, load_checkpoint(REFERENCE_PATH).config, 3)
        ).splitlines()
    )
    at.button(key="adv.gen_gap").click().run()
    assert_ok(at)
    assert at.text_area(key="adv.lists_text").value != "\n".join(high_lines)
    # more than 4 lists: choose which to draw, and which one's attention to show
    at.multiselect[0].set_value([0, 5]).run()
    assert_ok(at)
    attention_box = next(s for s in at.selectbox if s.key and s.key.startswith("adv.attention_list"))
    attention_box.select(5).run()
    assert_ok(at)
    # search, then load its results into the editor
    at.selectbox(key="adv.search_budget").select(2048).run()
    at.number_input(key="adv.search_seed").set_value(1).run()
    at.button(key="adv.search").click().run()
    assert_ok(at)
    assert "Scored **2,048** candidate lists" in joined(at.markdown)
    if any(b.key == "adv.load_0" for b in at.button):
        at.button(key="adv.load_0").click().run()
        assert len(at.text_area(key="adv.lists_text").value.splitlines()) == 1
        at.button(key="adv.load_all").click().run()
        assert 1 <= len(at.text_area(key="adv.lists_text").value.splitlines()) <= MAX_EDITOR_LISTS
    at.button(key="adv.load_exercise").click().run()
    assert_ok(at)
    text = at.text_area(key="adv.lists_text")
    text.input("10, 9, 8, 7, 6, 5, 4, 3, 2, 1").run()
    assert_ok(at)
    assert at.query_params["lists"] == "10-9-8-7-6-5-4-3-2-1"


def test_invalid_lines_show_which_line_and_keep_the_text(ref_page):
    at = ref_page
    bad = f"{format_list(HIGH)}\n1, 2, 3\n\n0, 1, 2, 3, 4, 5, 6, 7, 8, 99\n3, 3, 1, 2, 4, 5, 6, 7, 8, 9"
    at.text_area(key="adv.lists_text").input(bad).run()
    assert_ok(at)
    assert at.text_area(key="adv.lists_text").value == bad
    message = joined(at.error)
    assert "Line 2" in message and "wrong length" in message
    assert "Line 4" in message and "99 is out of range" in message
    assert "Line 5" in message and "appears more than once" in message
    assert "Showing the 1 valid list" in message
    # eleven lists: the eleventh line is reported, not silently dropped
    many = "\n".join(format_list([i, *range(20, 29)]) for i in range(11))
    at.text_area(key="adv.lists_text").input(many).run()
    assert "Line 11" in joined(at.error) and "at most 10 lists" in joined(at.error)
    at.text_area(key="adv.lists_text").input("").run()
    assert_ok(at)
    assert "Enter at least one valid list" in joined(at.info)


def test_exercises_accept_right_and_reject_wrong_answers(ref_page, reference_model):
    at = ref_page
    ok, msg = check_exercise(
        at, "adversarial.find_wrong_list", "0, 5, 10, 15, 20, 25, 30, 35, 40, 45", "text"
    )
    assert not ok and "correctly" in msg
    ok, msg = check_exercise(at, "adversarial.find_wrong_list", "1, 2, 3", "text")
    assert not ok and "not a valid list" in msg
    ok, _ = check_exercise(at, "adversarial.find_wrong_list", format_list(HIGH), "text")
    assert ok == bool(predict_lists(reference_model, [HIGH])[0].wrong)

    target = predict_lists(reference_model, [HIGH])[0]
    assert target.wrong, "the reference model gets the write-up's first list wrong"
    right = [k for k in range(10) if k not in target.wrong][0]
    ok, _ = check_exercise(at, "adversarial.wrong_position", 10 + right, "number")
    assert not ok
    # The heatmap row's label "token (15)" is the answer; typing it was "Enter an answer first".
    wrong_at = 10 + target.wrong[0]
    assert f"({wrong_at})" in target.position_labels[target.wrong[0]]
    ok, msg = check_exercise(at, "adversarial.wrong_position", wrong_at, "number")
    assert ok and f"position {wrong_at} (" in msg


def test_number_feedback_belongs_to_the_value_checked(ref_page, reference_model):
    """After "x is too high", typing another value left the old feedback under it;
    `10^100` or an out-of-range value got "Enter an answer first" instead of the range."""
    at = ref_page
    exercise, key = "adversarial.wrong_position", "exercise.adversarial.wrong_position.answer"
    ok, msg = check_exercise(at, exercise, "10^100", "number")
    assert not ok and "from 10 to 19" in msg and "Enter an answer first" not in msg
    ok, msg = check_exercise(at, exercise, 3, "number")
    assert not ok and "from 10 to 19" in msg
    ok, msg = check_exercise(at, exercise, 12, "number")
    assert at.text_input(key=key).value == "12" and "12" in msg
    at.text_input(key=key).input("-5").run()  # changed, not checked: the old feedback goes
    assert_ok(at)
    assert "position 12" not in joined(at.warning) + joined(at.success)

    rates = family_failure_rates(reference_model)
    worst = max(rates.families, key=rates.rate)
    other = min(rates.families, key=rates.rate)
    ok, _ = check_exercise(at, "adversarial.worst_family", other, "select")
    assert not ok
    ok, _ = check_exercise(at, "adversarial.worst_family", worst, "select")
    assert ok


def test_a_link_reproduces_the_lists(monkeypatch, reference_path):
    query = {"lists": "0-40-41-42-43-44-45-46-47-48_9-8-7-6-5-4-3-2-1-0_1-2-3"}
    at = open_page(monkeypatch, PAGE, reference_path, query=query)
    assert at.text_area(key="adv.lists_text").value.splitlines() == [
        format_list(HIGH),
        format_list(range(9, -1, -1)),
    ]
    assert any("Ignored list 3" in str(w.value) for w in at.warning)  # the bad one is named
    assert at.query_params["lists"] == "0-40-41-42-43-44-45-46-47-48_9-8-7-6-5-4-3-2-1-0"


def test_swapped_heads_model_renders(monkeypatch, swapped_path):
    at = open_page(monkeypatch, PAGE, swapped_path)
    assert_ok(at)
    assert at.text_area(key="adv.lists_text").value


def test_says_what_it_measures_and_links_to_the_mystery_page(ref_page):
    """Adversarial's "fully sorted" rate and Mystery's "right at d" seemed to disagree."""
    text = joined(show_solutions(ref_page, "adversarial.worst_family").markdown)
    assert "counts as wrong here when *any* of its 10 predictions" in text
    assert "Of your 2 lists," in text and "(s)" not in text  # was "Of your 2 list(s)"
    assert any(link.proto.page == "mystery" for link in ref_page.get("page_link"))
