"""A tiny model and recipe for tests that train: small enough to run in seconds on a CPU."""

from __future__ import annotations

from dataclasses import replace

from sortlist_core.config import ModelConfig
from sortlist_core.training import Recipe

TINY = ModelConfig(list_len=4, max_value=12, d_model=32, d_head=16, n_heads=2)

# The shape of the default ("fast") recipe, spelled out so that tuning it never changes tests.
TINY_RECIPE = Recipe(
    name="tiny",
    n_train=128 * 300,
    epochs=1,
    batch_size=128,
    lr_start=3e-3,
    lr_end=1e-4,
    warmup_steps=20,
    weight_decay=0.01,
    optimizer="adamw",
    fresh_data=True,
    seed=7,
    val_size=1_000,
    eval_every=50,
)


def tiny_recipe(**changes) -> Recipe:
    """`TINY_RECIPE` with `changes` applied."""
    return replace(TINY_RECIPE, **changes)
