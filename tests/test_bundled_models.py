"""The two bundled models: both ship with their training record, load by key, and the lesson
model was trained with the original recipe and meets the criteria assets/TRAINING.md records."""

from __future__ import annotations

import json

import pytest

from sortlist_core.lesson_criteria import lesson_criteria
from sortlist_core.paths import (
    BUNDLED_MODELS,
    DEFAULT_MODEL_KEY,
    LESSON_MODEL,
    bundled_model_by_key,
    load_bundled,
)
from sortlist_core.training import ORIGINAL_RECIPE

# What assets/TRAINING.md records for the shipped lesson model (seed 1): every criterion but the
# minor head's block, whose six values 24–29 come with two strays (3 and 4).
LESSON_FAILS = {"minor_head_block"}


def test_every_bundled_model_ships_with_its_record():
    assert [m.key for m in BUNDLED_MODELS] == ["lesson", "strong"]
    for entry in BUNDLED_MODELS:
        assert entry.path.stat().st_size < 1_000_000, f"{entry.path} must be committed and small"
        meta = json.loads(entry.metadata_path.read_text())
        model = load_bundled(entry.key)
        assert model.name == entry.name
        assert meta["config"] == model.config.to_dict() and meta["stop_reason"] == "completed"


def test_keys_and_default():
    assert bundled_model_by_key("lesson") is LESSON_MODEL
    assert bundled_model_by_key(DEFAULT_MODEL_KEY).path.exists()
    with pytest.raises(ValueError, match="unknown bundled model 'best'; choose from lesson, strong"):
        bundled_model_by_key("best")


def test_lesson_model_used_the_original_recipe():
    recipe = json.loads(LESSON_MODEL.metadata_path.read_text())["recipe"]
    for name in ("n_train", "epochs", "batch_size", "lr_start", "lr_end", "weight_decay", "optimizer"):
        assert recipe[name] == getattr(ORIGINAL_RECIPE, name), name
    assert recipe["fresh_data"] is False and recipe["name"] == "original"


def test_lesson_model_meets_the_recorded_criteria():
    results = lesson_criteria(load_bundled("lesson"))
    assert {r.name for r in results if not r.passed} == LESSON_FAILS
    assert 0.02 <= next(r.value for r in results if r.name == "loss_range") <= 0.06
