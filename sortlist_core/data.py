"""Sorted-list datasets exactly as the write-up builds them, and parsing of lists people type."""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from jaxtyping import Int
from torch import Tensor

from .config import ModelConfig

SEP = "SEP"
# The write-up's evaluation set: SortedListDataset(size=500, list_len=10, max_value=50, seed=43).
# Every measurement the app and the CLI report "on the evaluation set" uses `eval_dataset`.
EVAL_SEED = 43
EVAL_SIZE = 500


class InvalidListError(ValueError):
    """A list the user typed cannot be sorted by the model; the message names the problem."""


def make_vocab(max_value: int) -> list[str]:
    return [str(i) for i in range(max_value + 1)] + [SEP]


def sequence_tokens(unsorted: Sequence[int], sep_token: int) -> list[int]:
    """The model's input for one list: `[*unsorted, SEP, *sorted(unsorted)]` (as token ids)."""
    return [*unsorted, sep_token, *sorted(unsorted)]


def token_labels(toks: Sequence[int], sep_token: int) -> list[str]:
    """Display labels of token ids: the value itself, or `SEP`."""
    return [SEP if t == sep_token else str(t) for t in toks]


def tokens_from_unsorted(unsorted: Int[Tensor, "batch list_len"], max_value: int) -> Int[Tensor, "batch seq"]:
    """`[unsorted, SEP, sorted(unsorted)]` for each row."""
    sep = torch.full((unsorted.shape[0], 1), max_value + 1, dtype=torch.long)
    return torch.cat([unsorted.long(), sep, torch.sort(unsorted.long(), dim=-1).values], dim=-1)


class SortedListDataset:
    """Random lists of `list_len` distinct values in 0..max_value, as in the write-up.

    Seeded with a private `torch.Generator`, so building a dataset never touches the global RNG,
    yet gives exactly the tokens of `torch.manual_seed(seed)` followed by the original code.
    """

    def __init__(self, size: int, list_len: int = 10, max_value: int = 50, seed: int = EVAL_SEED):
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        if not 1 <= list_len <= max_value + 1:
            raise ValueError(f"list_len must be in 1..{max_value + 1}, got {list_len}")
        generator = torch.Generator().manual_seed(seed)
        unsorted = torch.argsort(torch.rand(size, max_value + 1, generator=generator), dim=-1)[:, :list_len]
        self._init_from_unsorted(unsorted, max_value)
        self.seed = seed

    def _init_from_unsorted(self, unsorted: Tensor, max_value: int) -> None:
        self.size = unsorted.shape[0]
        self.list_len = unsorted.shape[1]
        self.max_value = max_value
        self.seq_len = 2 * self.list_len + 1
        self.vocab = make_vocab(max_value)
        self.toks: Int[Tensor, "batch seq"] = tokens_from_unsorted(unsorted, max_value)
        self.str_toks: list[list[str]] = [[self.vocab[t] for t in row] for row in self.toks.tolist()]

    @property
    def unsorted(self) -> Int[Tensor, "batch list_len"]:
        return self.toks[:, : self.list_len]

    @property
    def targets(self) -> Int[Tensor, "batch list_len"]:
        """The token predicted at each position SEP .. second-to-last: the sorted half."""
        return self.toks[:, self.list_len + 1 :]

    def tolist(self) -> list[list[int]]:
        return self.toks.squeeze(0).tolist() if self.size == 1 else self.toks.tolist()

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Int[Tensor, " seq"]:
        return self.toks[index]


class CustomSortedListDataset(SortedListDataset):
    """A dataset from the user's own unsorted lists (each `list_len` distinct values)."""

    def __init__(self, unsorted_lists: Sequence[Sequence[int]], max_value: int = 50):
        if len(unsorted_lists) == 0:
            raise InvalidListError("no lists given")
        lengths = {len(lst) for lst in unsorted_lists}
        if len(lengths) != 1:
            raise InvalidListError(f"all lists must have the same length, got lengths {sorted(lengths)}")
        list_len = lengths.pop()
        for lst in unsorted_lists:
            validate_list(list(lst), list_len, max_value)
        self._init_from_unsorted(torch.tensor([list(x) for x in unsorted_lists], dtype=torch.long), max_value)
        self.seed = None


_ITEM = re.compile(r"[+-]?\d+")
_SPLIT = re.compile(r"[\s,;]+")
_BRACKETS = str.maketrans({c: " " for c in "[](){}"})


def _shorten(item: str, limit: int = 20) -> str:
    return item if len(item) <= limit else item[: limit - 1] + "…"


def validate_list(values: list[int], list_len: int, max_value: int) -> list[int]:
    """Check a list of ints against the task; raise `InvalidListError` naming the first problem."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidListError(f"{_shorten(repr(value))} is not an integer")
        if not 0 <= value <= max_value:
            raise InvalidListError(
                f"{_shorten(str(value))} is out of range: values must be in 0..{max_value}"
            )
    seen: set[int] = set()
    for value in values:
        if value in seen:
            raise InvalidListError(f"{value} appears more than once: values must be distinct")
        seen.add(value)
    if len(values) != list_len:
        raise InvalidListError(f"wrong length: expected {list_len} values, got {len(values)}")
    return values


def parse_unsorted_list(text: str, list_len: int, max_value: int) -> list[int]:
    """Parse `3, 1, 2`, `[3 1 2]`, `3;1;2` or values on separate lines into a list of ints.

    Raises only `InvalidListError`, for any input whatsoever, with a message naming the problem
    and the offending item: empty, not an integer, out of range, duplicate, wrong length.
    """
    if not isinstance(text, str):
        raise InvalidListError(f"expected text, got {type(text).__name__}")
    items = [item for item in _SPLIT.split(text.translate(_BRACKETS)) if item]
    if not items:
        raise InvalidListError(f"empty: enter {list_len} distinct integers in 0..{max_value}")
    values: list[int] = []
    for item in items:
        if not _ITEM.fullmatch(item) or len(item) > 12:
            if _ITEM.fullmatch(item):
                raise InvalidListError(f"{_shorten(item)} is out of range: values must be in 0..{max_value}")
            raise InvalidListError(f"{_shorten(item)!r} is not an integer")
        values.append(int(item))
    return validate_list(values, list_len, max_value)


def format_list(values: Sequence[int]) -> str:
    """The canonical text form, which `parse_unsorted_list` reads back unchanged."""
    return ", ".join(str(v) for v in values)


def eval_dataset(config: ModelConfig) -> SortedListDataset:
    """The write-up's evaluation set (`EVAL_SIZE` lists, seed `EVAL_SEED`) shaped to `config`'s task."""
    return SortedListDataset(EVAL_SIZE, config.list_len, config.max_value, seed=EVAL_SEED)
