"""sortlist_core: data, checkpoints, training and every analysis of the write-up of ARENA's
October 2023 monthly algorithmic problem "Sorted List".

Imports no streamlit. Analyses are pure functions of a `LoadedModel` and token batches.

The names below are imported on first use: `import sortlist_core.settings` (what the progress
package and the runner's worker read) must not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint import (
        CheckpointError,
        LoadedModel,
        load_checkpoint,
        model_from_state_dict,
        save_checkpoint,
    )
    from .config import ConfigError, ModelConfig, config_from_architecture
    from .data import (
        EVAL_SEED,
        EVAL_SIZE,
        SEP,
        CustomSortedListDataset,
        InvalidListError,
        SortedListDataset,
        eval_dataset,
        format_list,
        parse_unsorted_list,
    )
    from .paths import BUNDLED_MODEL_PATH, load_bundled_model

_EXPORTS = {
    "checkpoint": (
        "CheckpointError",
        "LoadedModel",
        "load_checkpoint",
        "model_from_state_dict",
        "save_checkpoint",
    ),
    "config": ("ConfigError", "ModelConfig", "config_from_architecture"),
    "data": (
        "EVAL_SEED",
        "EVAL_SIZE",
        "SEP",
        "CustomSortedListDataset",
        "InvalidListError",
        "SortedListDataset",
        "eval_dataset",
        "format_list",
        "parse_unsorted_list",
    ),
    "paths": ("BUNDLED_MODEL_PATH", "load_bundled_model"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


__all__ = [
    "BUNDLED_MODEL_PATH",
    "EVAL_SEED",
    "EVAL_SIZE",
    "SEP",
    "CheckpointError",
    "ConfigError",
    "CustomSortedListDataset",
    "InvalidListError",
    "LoadedModel",
    "ModelConfig",
    "SortedListDataset",
    "config_from_architecture",
    "eval_dataset",
    "format_list",
    "load_bundled_model",
    "load_checkpoint",
    "model_from_state_dict",
    "parse_unsorted_list",
    "save_checkpoint",
]
