"""Reading what a learner types (`sortlist_core/list_text.py`): the Mystery page's list and
(x, y, z), the Adversarial page's editor (one list per line), and the separators of both."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sortlist_core.config import ModelConfig
from sortlist_core.data import InvalidListError, format_list
from sortlist_core.list_text import (
    MAX_EDITOR_CHARS,
    MAX_EDITOR_LISTS,
    CustomInput,
    custom_input,
    editor_text,
    parse_custom,
    parse_editor,
    split_values,
    suggest_xyz,
)

CFG = ModelConfig()  # lists of 10 distinct values in 0..50
OWN = "0, 5, 10, 20, 21, 23, 30, 40, 45, 50"
HIGH = [0, *range(40, 49)]
EVENS = [5, *range(30, 48, 2)]


def test_a_list_and_its_triple_or_the_reason_not():
    got = parse_custom(OWN, "(20, 21, 23)", CFG)
    assert got == CustomInput((0, 5, 10, 20, 21, 23, 30, 40, 45, 50), (20, 21, 23))
    for xyz, message in (
        ("20 21", "three values"),
        ("a, b, c", "whole numbers"),
        ("20, 23, 30", "right after x"),
        ("20, 21, 22", "z = 22 is not in the list"),
    ):
        with pytest.raises(InvalidListError, match=message):
            parse_custom(OWN, xyz, CFG)
    with pytest.raises(InvalidListError, match="the list"):
        parse_custom("1, 2", "1, 2, 3", CFG)


def test_without_a_triple_the_tightest_is_suggested():
    assert suggest_xyz([0, 5, 10, 20, 21, 23, 30]) == (20, 21, 23)
    assert suggest_xyz([3, 1]) is None
    got, suggested = custom_input(OWN, "", CFG)
    assert got.xyz == (20, 21, 23) and suggested
    got, suggested = custom_input(OWN, "20-21-23", CFG)  # the forms people type
    assert got.xyz == (20, 21, 23) and not suggested
    with pytest.raises(InvalidListError, match="wrong length"):
        custom_input("1, 2", "", CFG)


def test_separators_people_type():
    for text in ("14,15,17", "14-15-17", "14 15 17", "(14, 15, 17)", "14%2C15%2C17", "[14/15/17]"):
        assert split_values(text) == ["14", "15", "17"], text
    assert split_values("-1") == ["-1"]  # a minus sign, refused by the caller, not list 1


def test_the_editor_reports_every_bad_line_and_keeps_order():
    text = "\n".join(
        [
            format_list(HIGH),
            "",
            "a, b",
            format_list(HIGH),
            format_list(EVENS),
            "[" + format_list(range(10)) + "]",
        ]
    )
    parsed = parse_editor(text, CFG)
    assert parsed.lists == (tuple(HIGH), tuple(EVENS), tuple(range(10)))
    assert [e.line for e in parsed.errors] == [3] and "not an integer" in parsed.errors[0].message
    assert parsed.errors[0].sentence().startswith("Line 3 (`a, b`): ")
    assert parsed.notes and "Line 4 repeats" in parsed.notes[0]
    assert parse_editor(editor_text(parsed.lists), CFG).lists == parsed.lists
    too_long = parse_editor("1" * (MAX_EDITOR_CHARS + 1), CFG)  # refused, not parsed
    assert too_long.lists == () and "longer than" in too_long.errors[0].message
    assert parse_editor(None, CFG).errors[0].message == "expected text"  # type: ignore[arg-type]


def test_the_editor_refuses_lists_past_its_limit_by_line():
    lists = [[(i + k) % 51 for k in range(10)] for i in range(MAX_EDITOR_LISTS + 2)]
    parsed = parse_editor(editor_text(lists), CFG)
    assert len(parsed.lists) == MAX_EDITOR_LISTS
    assert [e.line for e in parsed.errors] == [MAX_EDITOR_LISTS + 1, MAX_EDITOR_LISTS + 2]
    assert all(f"at most {MAX_EDITOR_LISTS} lists" in e.message for e in parsed.errors)


@given(st.text(max_size=300))
def test_the_editor_never_raises(text):
    parsed = parse_editor(text, CFG)
    assert len(parsed.lists) <= MAX_EDITOR_LISTS
    assert all(len(lst) == CFG.list_len for lst in parsed.lists)
