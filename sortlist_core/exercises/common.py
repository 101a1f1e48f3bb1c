"""Shared pieces of the exercise definitions: the learner's import header, the evaluation set,
and a small cache so a reference is computed once per model and parameters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch

from ..checkpoint import LoadedModel
from .fixtures import DEFAULT_DATASET_SEED, DEFAULT_DATASET_SIZE, dataset_for

# What every starter and solution imports: the ecosystem's names, so the code runs unchanged
# in a notebook next to a TransformerLens model. (TransformerLens 4.x renamed `utils` to
# `utilities`; `utils.get_act_name` is unchanged.)
HEADER = """\
import torch
import einops
from eindex import eindex
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens import utilities as utils
"""

EVAL_PARAMS = {"dataset_size": DEFAULT_DATASET_SIZE, "dataset_seed": DEFAULT_DATASET_SEED}

_CACHE: dict[tuple[str, str, str], Any] = {}


def cached(model: LoadedModel, key: str, params: dict, compute: Callable[[], Any]) -> Any:
    """`compute()` once per (model weights, key, params)."""
    k = (model.weights_sha256, key, json.dumps(params, sort_keys=True, default=str))
    value = _CACHE.get(k)
    if value is None:  # sessions may race here: both compute the same value, which is harmless
        value = compute()
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[k] = value
    return value


def eval_toks(model: LoadedModel, params: dict) -> torch.Tensor:
    return dataset_for(model, params).toks


def on_eval_set(model: LoadedModel, key: str, analysis: Callable[[LoadedModel, torch.Tensor], Any]) -> Any:
    """`analysis(model, the evaluation set's tokens)`, once per model (`cached`)."""
    return cached(model, key, EVAL_PARAMS, lambda: analysis(model, eval_toks(model, EVAL_PARAMS)))


def source(body: str) -> str:
    """A complete learner file: the header and one function."""
    return HEADER + "\n\n" + body.strip() + "\n"


def head_word(h: int) -> str:
    return f"head 0.{h}"
