"""OV and QK circuits of layer 0, the direct path, and which head copies which tokens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float

from . import positions
from .checkpoint import LoadedModel


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def full_ov(model: LoadedModel) -> np.ndarray:
    """[head src_token predicted_token]: `W_E W_OV W_U`, what attending to a token writes."""
    w = model.weights
    return _np(w.W_E @ w.W_OV @ w.W_U)


def full_qk(model: LoadedModel) -> np.ndarray:
    """[head dest_token src_token]: `W_E W_QK W_E^T`, token-token attention scores."""
    w = model.weights
    return _np(w.W_E @ w.W_QK @ w.W_E.T)


def qk_scores(model: LoadedModel, dest_token: int) -> np.ndarray:
    """[head src_token]: one destination token's QK scores over source tokens (`qk_bar`)."""
    if not 0 <= dest_token < model.config.d_vocab:
        raise ValueError(f"dest_token must be in 0..{model.config.d_vocab - 1}, got {dest_token}")
    return full_qk(model)[:, dest_token, :]


def positional_qk(model: LoadedModel) -> np.ndarray:
    """[head query_position key_token]: `W_pos W_QK W_E^T`."""
    w = model.weights
    return _np(w.W_pos @ w.W_QK @ w.W_E.T)


def position_labels(list_len: int) -> list[str]:
    """Query position labels with SEP marked ('10 (SEP)'): the one numbering of
    `sortlist_core.positions`, so every axis shows the same positions."""
    return positions.position_labels(list_len)


def direct_path(model: LoadedModel) -> np.ndarray:
    """[input_token predicted_token]: `W_E W_U`, the logit contribution skipping attention."""
    w = model.weights
    return _np(w.W_E @ w.W_U)


@dataclass(frozen=True)
class HeadRange:
    head: int
    start: int
    end: int  # inclusive

    @property
    def label(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"


@dataclass(frozen=True)
class HeadResponsibility:
    """For each value token, the head whose full OV circuit copies it most strongly.

    owner[t] = head index; copy_strength [head value]: the OV diagonal; ranges: maximal runs of
    consecutive tokens with the same owner; copies[h]: the tokens head h owns.
    """

    owner: list[int]
    copy_strength: np.ndarray
    ranges: list[HeadRange]
    copies: list[list[int]]

    def ranges_of(self, head: int) -> list[HeadRange]:
        return [r for r in self.ranges if r.head == head]

    def main_range(self, head: int) -> HeadRange | None:
        """The head's longest run of owned tokens."""
        runs = self.ranges_of(head)
        return max(runs, key=lambda r: r.end - r.start) if runs else None

    def to_dict(self) -> dict:
        return {
            "owner": self.owner,
            "ranges": [{"head": r.head, "start": r.start, "end": r.end} for r in self.ranges],
            "copies": self.copies,
        }


def head_responsibility(model: LoadedModel) -> HeadResponsibility:
    n_values = model.config.max_value + 1  # SEP is never copied: it is not a prediction target
    diag = np.stack([np.diag(m)[:n_values] for m in full_ov(model)])  # [head value]
    return responsibility_from_copy_strength(diag)


def responsibility_from_copy_strength(diag: Float[np.ndarray, "head value"]) -> HeadResponsibility:
    """`HeadResponsibility` from each head's OV diagonal over the value tokens (ties: the lower head)."""
    n_heads, n_values = diag.shape
    owner = diag.argmax(0).tolist()
    ranges: list[HeadRange] = []
    start = 0
    for t in range(1, n_values + 1):
        if t == n_values or owner[t] != owner[start]:
            ranges.append(HeadRange(owner[start], start, t - 1))
            start = t
    copies = [[t for t in range(n_values) if owner[t] == h] for h in range(n_heads)]
    return HeadResponsibility(owner, diag, ranges, copies)
