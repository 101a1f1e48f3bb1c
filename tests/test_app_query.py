"""URL query parameters: decoding never raises, bad values fall back to defaults with a warning,
and every valid state round-trips through `encode_query` / `decode_query`."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sortlist_app.query import (
    DATASET_SIZE,
    DEFAULT_STATE,
    KNOWN_KEYS,
    MAX_INDICES,
    MAX_LISTS,
    MAX_SEED,
    QueryState,
    decode_query,
    encode_query,
)
from sortlist_core.config import ModelConfig

CFG = ModelConfig()  # list_len 10, values 0..50, 2 heads, 21 positions


def test_defaults_encode_to_nothing():
    assert encode_query(DEFAULT_STATE) == {}
    assert decode_query({}, CFG) == (DEFAULT_STATE, [])


def test_example_link_decodes():
    params = {
        "lists": "3-1-2-9-8-7-6-5-4-0_11-12-13-14-15-16-17-18-19-20",
        "idx": "4-0",
        "seed": "7",
        "head": "1",
        "dest": "40",
        "pos": "13",
    }
    state, warnings = decode_query(params, CFG)
    assert warnings == []
    assert state == QueryState(
        lists=((3, 1, 2, 9, 8, 7, 6, 5, 4, 0), tuple(range(11, 21))),
        indices=(4, 0),
        seed=7,
        head=1,
        dest=40,
        pos=13,
    )
    assert encode_query(state) == params


def test_repeated_keys_use_the_last_value():
    state, warnings = decode_query({"head": ["0", "1"]}, CFG)
    assert state.head == 1 and warnings == []


def test_empty_idx_means_no_sequences():
    state, warnings = decode_query({"idx": ""}, CFG)
    assert state.indices == () and warnings == []


def test_bad_values_fall_back_with_a_warning_each():
    params = {"head": "2", "dest": "51", "pos": "21", "seed": "-1", "idx": "500", "lists": "1-2-3"}
    state, warnings = decode_query(params, CFG)
    assert state == DEFAULT_STATE
    assert len(warnings) == 6
    assert any("wrong length" in w for w in warnings)


def test_partly_valid_values_keep_the_good_part():
    state, warnings = decode_query({"idx": "3-x-5", "lists": "1-2-3_" + "-".join(map(str, range(10)))}, CFG)
    assert state.indices == (3, 5)
    assert state.lists == (tuple(range(10)),)
    assert len(warnings) == 2


def test_limits():
    many = "_".join("-".join(str(v + k) for v in range(10)) for k in range(MAX_LISTS + 3))
    state, warnings = decode_query({"lists": many, "idx": "-".join(map(str, range(MAX_INDICES + 5)))}, CFG)
    assert len(state.lists) == MAX_LISTS and len(state.indices) == MAX_INDICES
    assert len(warnings) == 2
    state, warnings = decode_query({"seed": "1" * 5000}, CFG)
    assert state == DEFAULT_STATE and warnings


def test_a_misbehaving_mapping_is_an_empty_link():
    class Broken(dict):
        def __getitem__(self, key):
            raise RuntimeError("boom")

    state, warnings = decode_query(Broken(head="1"), CFG)
    assert state == DEFAULT_STATE and warnings


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(KNOWN_KEYS + ("other",)),
        st.one_of(st.text(max_size=60), st.lists(st.text(max_size=20), max_size=3)),
    )
)
def test_any_text_decodes_without_raising(params):
    state, warnings = decode_query(params, CFG)
    assert isinstance(state, QueryState) and all(isinstance(w, str) and w for w in warnings)
    # Whatever came in, the state is valid for the model...
    assert 0 <= state.head < CFG.n_heads and 0 <= state.seed <= MAX_SEED
    assert all(0 <= i < DATASET_SIZE for i in state.indices)
    assert state.dest is None or 0 <= state.dest <= CFG.max_value
    assert state.pos is None or 0 <= state.pos < CFG.n_ctx
    assert all(sorted(x) == sorted(set(x)) and len(x) == CFG.list_len for x in state.lists)
    # ...and a field differs from its default only if its text was valid (no warning about it).
    for key, field in (("head", "head"), ("seed", "seed"), ("dest", "dest"), ("pos", "pos")):
        if getattr(state, field) != getattr(DEFAULT_STATE, field):
            assert not any(f"`{key}=" in w for w in warnings)


unique_list = st.lists(
    st.integers(0, CFG.max_value), min_size=CFG.list_len, max_size=CFG.list_len, unique=True
).map(tuple)
valid_states = st.builds(
    QueryState,
    lists=st.lists(unique_list, max_size=MAX_LISTS).map(tuple),
    indices=st.lists(st.integers(0, DATASET_SIZE - 1), max_size=MAX_INDICES, unique=True).map(tuple),
    seed=st.integers(0, MAX_SEED),
    head=st.integers(0, CFG.n_heads - 1),
    dest=st.none() | st.integers(0, CFG.max_value),
    pos=st.none() | st.integers(0, CFG.n_ctx - 1),
)


@settings(max_examples=300)
@given(valid_states)
def test_valid_states_round_trip(state):
    encoded = encode_query(state)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in encoded.items())
    assert decode_query(encoded, CFG) == (state, [])
