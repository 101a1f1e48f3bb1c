import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sortlist_core import (
    SEP,
    CustomSortedListDataset,
    InvalidListError,
    SortedListDataset,
    format_list,
    parse_unsorted_list,
)
from sortlist_core.config import ModelConfig
from sortlist_core.data import eval_dataset


def test_writeup_eval_set_first_list():
    ds = eval_dataset(ModelConfig())  # the one definition every measurement uses
    assert ds.unsorted[0].tolist() == [7, 5, 47, 20, 48, 24, 11, 4, 19, 39]
    assert ds.toks.shape == (500, 21)
    assert ds.seq_len == 21 and ds.list_len == 10
    assert (ds.toks[:, 10] == 51).all()
    assert torch.equal(ds.toks[:, 11:], ds.toks[:, :10].sort(-1).values)


def test_writeup_small_example():
    ds = SortedListDataset(size=1, list_len=5, max_value=10, seed=42)
    assert ds.tolist() == [9, 6, 2, 4, 5, 11, 2, 4, 5, 6, 9]
    assert ds.str_toks[0] == ["9", "6", "2", "4", "5", SEP, "2", "4", "5", "6", "9"]
    assert ds.vocab == [str(i) for i in range(11)] + ["SEP"]


def test_matches_global_seed_recipe_without_touching_global_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ds = SortedListDataset(64, 10, 50, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(7)
    expected = torch.argsort(torch.rand(64, 51), dim=-1)[:, :10]
    assert torch.equal(ds.unsorted, expected)


def test_lists_are_distinct_values_in_range():
    ds = SortedListDataset(200, 10, 50, seed=1)
    for row in ds.unsorted.tolist():
        assert len(set(row)) == 10 and all(0 <= v <= 50 for v in row)


def test_custom_dataset():
    ds = CustomSortedListDataset([[3, 1, 2], [9, 0, 5]], max_value=10)
    assert ds.toks.tolist() == [[3, 1, 2, 11, 1, 2, 3], [9, 0, 5, 11, 0, 5, 9]]
    assert ds.list_len == 3 and ds.seq_len == 7 and ds.size == 2
    assert ds.str_toks[1][3] == SEP
    with pytest.raises(InvalidListError, match="same length"):
        CustomSortedListDataset([[1, 2], [1, 2, 3]], max_value=10)
    with pytest.raises(InvalidListError, match="more than once"):
        CustomSortedListDataset([[1, 1, 2]], max_value=10)


@pytest.mark.parametrize(
    "text",
    ["3, 1, 2", "[3 1 2]", "3;1;2", "3\n1\n2", "  (3,1 ,2)  ", "3,,1,2", "+3 1 2"],
)
def test_parse_accepts_common_forms(text):
    assert parse_unsorted_list(text, 3, 10) == [3, 1, 2]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("  [ ] ", "empty"),
        ("3, x, 2", "'x' is not an integer"),
        ("3, 1.5, 2", "'1.5' is not an integer"),
        ("3, 51, 2", "51 is out of range"),
        ("3, -1, 2", "-1 is out of range"),
        ("3, 3, 2", "3 appears more than once"),
        ("3, 1", "expected 3 values, got 2"),
        ("3, 1, 2, 4", "expected 3 values, got 4"),
        ("1" * 40, "out of range"),
    ],
)
def test_parse_rejects_with_named_problem(text, fragment):
    with pytest.raises(InvalidListError, match=None) as info:
        parse_unsorted_list(text, 3, 50)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


@given(st.text(max_size=200))
def test_parse_any_text_raises_only_invalid_list_error(text):
    try:
        values = parse_unsorted_list(text, 10, 50)
    except InvalidListError:
        return
    assert len(values) == 10 and len(set(values)) == 10 and all(0 <= v <= 50 for v in values)


@given(st.lists(st.integers(0, 50), min_size=10, max_size=10, unique=True))
def test_valid_lists_round_trip(values):
    assert parse_unsorted_list(format_list(values), 10, 50) == values


def test_sequence_tokens_and_labels():
    from sortlist_core.data import sequence_tokens, token_labels, tokens_from_unsorted

    toks = sequence_tokens((3, 1, 2), 51)
    assert toks == [3, 1, 2, 51, 1, 2, 3]
    assert toks == tokens_from_unsorted(torch.tensor([[3, 1, 2]]), 50)[0].tolist()
    assert token_labels(toks, 51) == ["3", "1", "2", "SEP", "1", "2", "3"]
    assert token_labels([5, 20], 20) == ["5", "SEP"]  # SEP is whatever the model's sep token is
