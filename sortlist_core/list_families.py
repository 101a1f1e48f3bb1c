"""The structured list families the write-up names, and scoring lists by the model's margin.

uniform: any distinct values (the training distribution); high: values packed in a top window;
gap: two values far apart with nothing between; cluster: a tight triple. The adversarial
search, the failure rates per family and the accuracy maps all draw from these.
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Int
from torch import Tensor

from .checkpoint import LoadedModel
from .data import tokens_from_unsorted
from .metrics import prediction_slice
from .model import TokenTables, prediction_logits

FAMILIES = ("uniform", "high", "gap", "cluster")


# ---- candidate generators: each returns [n list_len] long tensors of distinct values ----


def _sample_from_mask(
    allowed: Bool[Tensor, "n vocab"], forced: Bool[Tensor, "n vocab"], k: int, g: torch.Generator
) -> Tensor:
    """k distinct values per row: all `forced` ones, the rest uniformly from `allowed`,
    returned in random order (the unsorted half's order matters to the model)."""
    keys = torch.rand(allowed.shape, generator=g)
    keys = torch.where(allowed, keys, 2.0)
    keys = torch.where(forced, -1.0 + keys * 0.5, keys)
    chosen = keys.argsort(-1)[:, :k]
    shuffle = torch.rand(chosen.shape, generator=g).argsort(-1)
    return chosen.gather(1, shuffle)


def generate_family(
    family: str, n: int, list_len: int, max_value: int, g: torch.Generator
) -> Int[Tensor, "n list_len"]:
    """Random lists of one family.

    uniform: any distinct values (the training distribution); high: all values in a top window
    just wide enough to hold the list; gap: two values at least a third of the range apart with
    nothing between; cluster: a tight triple x<y<z with z-x <= 4.
    """
    V = max_value + 1
    values = torch.arange(V)[None, :].expand(n, V)
    none = torch.zeros(n, V, dtype=torch.bool)
    if family == "uniform":
        return _sample_from_mask(torch.ones(n, V, dtype=torch.bool), none, list_len, g)
    if family == "high":
        width = torch.randint(list_len, min(V, 2 * list_len) + 1, (n, 1), generator=g)
        return _sample_from_mask(values >= V - width, none, list_len, g)
    if family == "gap":
        min_gap = max(2, V // 3)
        gap = torch.randint(min_gap, max(min_gap + 1, V - list_len + 2), (n, 1), generator=g)
        start = (torch.rand(n, 1, generator=g) * (V - gap).clamp(min=1)).long()
        end = (start + gap).clamp(max=V - 1)
        allowed = (values <= start) | (values >= end)
        forced = (values == start) | (values == end)
        return _sample_from_mask(allowed, forced, list_len, g)
    if family == "cluster":
        x = torch.randint(0, max(1, V - 4), (n, 1), generator=g)
        spread = torch.randint(2, 5, (n, 1), generator=g)  # z - x in 2..4
        y = x + 1 + (torch.rand(n, 1, generator=g) * (spread - 1)).long()
        z = (x + spread).clamp(max=V - 1)
        forced = (values == x) | (values == y) | (values == z)
        allowed = ~((values > x) & (values < z)) | forced
        return _sample_from_mask(allowed, forced, list_len, g)
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def family_lists(
    family: str, n: int, list_len: int, max_value: int, seed: int
) -> tuple[tuple[int, ...], ...]:
    """`n` lists of `family` from a private generator seeded with `seed` (same seed, same lists)."""
    g = torch.Generator().manual_seed(int(seed))
    return tuple(
        tuple(int(v) for v in row) for row in generate_family(family, n, list_len, max_value, g).tolist()
    )


@torch.inference_mode()
def score_lists(
    model: LoadedModel, unsorted: Int[Tensor, "n list_len"], tables: TokenTables | None = None
) -> tuple[Tensor, Tensor]:
    """(margin [n], n_wrong [n]): the smallest over positions of target logit minus the best
    other logit (negative = a wrong prediction), and how many positions are wrong."""
    cfg = model.config
    toks = tokens_from_unsorted(unsorted, cfg.max_value)
    logits = prediction_logits(model.weights, toks, prediction_slice(cfg.list_len), tables)
    targets = toks[:, cfg.list_len + 1 :]
    target_logit = logits.gather(-1, targets[..., None])[..., 0]
    other = logits.scatter(-1, targets[..., None], float("-inf")).max(-1).values
    margin = target_logit - other
    return margin.min(-1).values, (margin < 0).sum(-1)
