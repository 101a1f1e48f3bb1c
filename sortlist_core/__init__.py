"""sortlist_core: data, checkpoints, training and every analysis of the write-up of ARENA's
October 2023 monthly algorithmic problem "Sorted List".

Imports no streamlit. Analyses are pure functions of a `LoadedModel` and token batches.
"""

from .checkpoint import CheckpointError, LoadedModel, load_checkpoint, model_from_state_dict, save_checkpoint
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
