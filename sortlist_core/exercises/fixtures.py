"""The arguments a learner's function receives, built by name.

Runs inside the runner's child process (and in notebooks), so it imports only torch and
sortlist_core's model/data/checkpoint modules; TransformerLens is imported only when a model is
asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..checkpoint import LoadedModel, load_checkpoint
from ..data import SortedListDataset

MODEL_FIXTURES = ("model", "cache")
DATA_FIXTURES = ("dataset", "cache")
DEFAULT_DATASET_SIZE = 500  # the write-up's evaluation set
DEFAULT_DATASET_SEED = 43


def dataset_for(loaded: LoadedModel, params: Mapping[str, Any]) -> SortedListDataset:
    cfg = loaded.config
    return SortedListDataset(
        int(params.get("dataset_size", DEFAULT_DATASET_SIZE)),
        cfg.list_len,
        cfg.max_value,
        seed=int(params.get("dataset_seed", DEFAULT_DATASET_SEED)),
    )


def build_inputs_for_model(
    names: Sequence[str], params: Mapping[str, Any], loaded: LoadedModel, tl_model: Any = None
) -> dict[str, Any]:
    """name -> object for each fixture in `names`: "model" (TransformerLens 4.x, processed
    weights), "dataset", "cache" (`model.run_with_cache(dataset.toks)[1]`), or a plain param."""
    out: dict[str, Any] = {}
    model = None
    if any(n in MODEL_FIXTURES for n in names):
        if tl_model is None:
            from ..model import to_transformer_lens

            tl_model = to_transformer_lens(loaded.state_dict, loaded.config)
        model = tl_model
        model.reset_hooks()
    dataset = dataset_for(loaded, params) if any(n in DATA_FIXTURES for n in names) else None
    for name in names:
        if name == "model":
            out[name] = model
        elif name == "dataset":
            out[name] = dataset
        elif name == "cache":
            import torch

            with torch.no_grad():
                out[name] = model.run_with_cache(dataset.toks)[1]
        elif name in params:
            out[name] = params[name]
        else:
            raise KeyError(f"unknown fixture {name!r}: neither a built-in fixture nor a parameter")
    return out


def build_inputs(
    names: Sequence[str], params: Mapping[str, Any], checkpoint: str | os.PathLike | bytes
) -> dict:
    """The runner's entry point: fixtures for the model in the checkpoint (a path or its bytes)."""
    return build_inputs_for_model(names, params, load_checkpoint(checkpoint))
