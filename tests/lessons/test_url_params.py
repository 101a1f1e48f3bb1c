"""The one URL codec: decoding never raises, bad values fall back to defaults with a warning,
the list forms people type are accepted, and every valid state round-trips through
`encode_params` / `decode_params` for every lesson's `URL_PARAMS`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sortlist_app.lessons import adversarial, attention, circuits, mystery, problem
from sortlist_app.lessons.url_params import (
    DATASET_SIZE,
    MAX_INDICES,
    MAX_LISTS,
    MAX_SEED,
    decode_lists,
    decode_params,
    encode_params,
    split_values,
)
from sortlist_core.config import ModelConfig
from sortlist_core.data import format_list

CFG = ModelConfig()  # list_len 10, values 0..50, 2 heads, 21 positions
LESSONS = (problem, attention, circuits, adversarial, mystery)
ALL_KEYS = sorted({p.key for lesson in LESSONS for p in lesson.URL_PARAMS})


def defaults(lesson) -> dict:
    return {p.widget: p.default(CFG) for p in lesson.URL_PARAMS}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_defaults_encode_to_nothing(lesson):
    encoded = encode_params(lesson.URL_PARAMS, defaults(lesson), CFG)
    if lesson is adversarial:  # the editor's lists always go into the link, so it can be shared
        assert decode_params(lesson.URL_PARAMS, encoded, CFG) == (defaults(lesson), [])
    else:
        assert encoded == {}
    assert decode_params(lesson.URL_PARAMS, {}, CFG) == (defaults(lesson), [])


def test_example_links_decode_and_encode_back():
    link = {
        "lists": "3-1-2-9-8-7-6-5-4-0_11-12-13-14-15-16-17-18-19-20",
        "idx": "4-0",
        "head": "1",
        "pos": "13",
    }
    values, warnings = decode_params(attention.URL_PARAMS, link, CFG)
    assert warnings == []
    assert values == {
        attention.LISTS: "3, 1, 2, 9, 8, 7, 6, 5, 4, 0\n11, 12, 13, 14, 15, 16, 17, 18, 19, 20",
        attention.IDX: [4, 0],
        attention.HEAD: 1,
        attention.POS: 13,
    }
    assert encode_params(attention.URL_PARAMS, values, CFG) == link
    values, warnings = decode_params(problem.URL_PARAMS, {"seed": "7", "idx": "4"}, CFG)
    assert warnings == [] and values[problem.SEED] == 7 and values[problem.IDX] == 4
    values, warnings = decode_params(circuits.URL_PARAMS, {"dest": "40", "head": "1"}, CFG)
    assert warnings == [] and (values[circuits.DEST], values[circuits.HEAD]) == (40, 1)


def test_empty_idx_means_no_sequences():
    values, warnings = decode_params(attention.URL_PARAMS, {"idx": ""}, CFG)
    assert values[attention.IDX] == [] and warnings == []
    assert encode_params(attention.URL_PARAMS, values, CFG) == {"idx": ""}


def test_bad_values_fall_back_with_a_warning_each():
    link = {"head": "2", "pos": "21", "idx": "500", "lists": "1-2-3"}
    values, warnings = decode_params(attention.URL_PARAMS, link, CFG)
    assert values == defaults(attention) | {attention.IDX: [0]}
    assert len(warnings) == 4 and any("wrong length" in w for w in warnings)
    values, warnings = decode_params(problem.URL_PARAMS, {"seed": "-1"}, CFG)
    assert values == defaults(problem) and len(warnings) == 1 and "showing seed 43" in warnings[0]
    values, warnings = decode_params(circuits.URL_PARAMS, {"dest": "51"}, CFG)
    assert values == defaults(circuits) and "`dest=51`" in warnings[0]


def test_partly_valid_values_keep_the_good_part():
    link = {"idx": "3-x-5", "lists": "1-2-3_" + "-".join(map(str, range(10)))}
    values, warnings = decode_params(attention.URL_PARAMS, link, CFG)
    assert values[attention.IDX] == [3, 5]
    assert values[attention.LISTS] == format_list(range(10))
    assert len(warnings) == 2


def test_limits():
    many = "_".join("-".join(str(v + k) for v in range(10)) for k in range(MAX_LISTS + 3))
    link = {"lists": many, "idx": "-".join(map(str, range(MAX_INDICES + 5)))}
    values, warnings = decode_params(attention.URL_PARAMS, link, CFG)
    assert (
        len(values[attention.LISTS].splitlines()) == MAX_LISTS and len(values[attention.IDX]) == MAX_INDICES
    )
    assert len(warnings) == 2
    values, warnings = decode_params(problem.URL_PARAMS, {"seed": "1" * 5000}, CFG)
    assert values == defaults(problem) and warnings


def test_a_misbehaving_mapping_is_an_empty_link():
    class Broken(dict):
        def __getitem__(self, key):
            raise RuntimeError("boom")

    values, warnings = decode_params(circuits.URL_PARAMS, Broken(head="1"), CFG)
    assert values == defaults(circuits) and warnings


@pytest.mark.parametrize("text", ["14,15,17", "14-15-17", "14 15 17", "(14, 15, 17)", "14, 15,17"])
def test_the_list_forms_people_type(text):
    assert split_values(text) == ["14", "15", "17"]
    small = ModelConfig(list_len=3, max_value=20)
    assert decode_lists(text, small) == ([(14, 15, 17)], [])
    values, warnings = decode_params(mystery.URL_PARAMS, {"xyz": text}, CFG)
    assert values[mystery.XYZ] == "14, 15, 17" and warnings == []


def test_mystery_link_a_list_its_triple_and_a_head_or_auto():
    link = {"lists": "0-5-10-20-21-23-30-40-45-50", "xyz": "20-21-23", "head": "1"}
    values, warnings = decode_params(mystery.URL_PARAMS, link, CFG)
    assert warnings == [] and values[mystery.HEAD] == 1
    assert values[mystery.LIST] == "0, 5, 10, 20, 21, 23, 30, 40, 45, 50"
    assert encode_params(mystery.URL_PARAMS, values, CFG) == link
    values, _ = decode_params(mystery.URL_PARAMS, {"head": "AUTO"}, CFG)
    assert values[mystery.HEAD] == mystery.AUTO
    values, warnings = decode_params(mystery.URL_PARAMS, {"lists": "1-2-3", "head": "2", "xyz": "1-2"}, CFG)
    assert values == defaults(mystery) and len(warnings) == 3
    assert any("wrong length" in w for w in warnings) and any("0..1" in w for w in warnings)
    assert any("give three values" in w for w in warnings)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ALL_KEYS + ["other"]), st.text(max_size=60)))
def test_any_text_decodes_without_raising(link):
    for lesson in LESSONS:
        values, warnings = decode_params(lesson.URL_PARAMS, link, CFG)
        assert set(values) == {p.widget for p in lesson.URL_PARAMS}
        assert all(isinstance(w, str) and w for w in warnings)
    # Whatever came in, the values are valid for the model...
    values, warnings = decode_params(attention.URL_PARAMS, link, CFG)
    assert 0 <= values[attention.HEAD] < CFG.n_heads
    assert CFG.list_len <= values[attention.POS] < 2 * CFG.list_len
    assert all(0 <= i < DATASET_SIZE for i in values[attention.IDX])
    values, warnings = decode_params(problem.URL_PARAMS, link, CFG)
    assert 0 <= values[problem.SEED] <= MAX_SEED
    # ...and a value differs from its default only if its text was valid (no warning about it).
    if values[problem.SEED] != defaults(problem)[problem.SEED]:
        assert not any("`seed=" in w for w in warnings)


unique_list = st.lists(
    st.integers(0, CFG.max_value), min_size=CFG.list_len, max_size=CFG.list_len, unique=True
)


@settings(max_examples=200)
@given(
    lists=st.lists(unique_list, max_size=MAX_LISTS),
    indices=st.lists(st.integers(0, DATASET_SIZE - 1), max_size=MAX_INDICES, unique=True),
    head=st.integers(0, CFG.n_heads - 1),
    pos=st.integers(CFG.list_len, 2 * CFG.list_len - 1),
    seed=st.integers(0, MAX_SEED),
    dest=st.integers(0, CFG.max_value),
)
def test_valid_states_round_trip(lists, indices, head, pos, seed, dest):
    cases = (
        (
            attention,
            {
                attention.LISTS: "\n".join(format_list(x) for x in lists),
                attention.IDX: indices,
                attention.HEAD: head,
                attention.POS: pos,
            },
        ),
        (
            problem,
            {
                problem.SEED: seed,
                problem.IDX: indices[0] if indices else 0,
                problem.OWN: format_list(lists[0]) if lists else "",
            },
        ),
        (circuits, {circuits.HEAD: head, circuits.DEST: dest}),
    )
    for lesson, values in cases:
        encoded = encode_params(lesson.URL_PARAMS, values, CFG)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in encoded.items())
        assert decode_params(lesson.URL_PARAMS, encoded, CFG) == (values, [])


def test_the_forms_people_type_are_accepted_and_negative_indices_refused():
    """`/mystery?xyz=14,15,17` was refused (only `14-15-17` worked; a browser can
    hand the commas over percent-encoded) and `idx=-1` silently became list 1."""
    from sortlist_app.lessons import mystery, problem

    cfg = ModelConfig()
    for text in ("14,15,17", "14, 15, 17", "14%2C15%2C17", "14-15-17", "(14 15 17)", "14/15/17"):
        values, warnings = decode_params(mystery.URL_PARAMS, {"xyz": text}, cfg)
        assert values[mystery.XYZ] == "14, 15, 17" and warnings == [], text
    for text in ("-1", "3,-1", "--1"):
        values, warnings = decode_params(problem.URL_PARAMS, {"idx": text}, cfg)
        assert values[problem.IDX] != 1 and len(warnings) == 1, text
        assert warnings[0].startswith(f"Ignored `idx={text}`") and "0..499" in warnings[0]
    assert decode_params(problem.URL_PARAMS, {"idx": "17"}, cfg)[0][problem.IDX] == 17
