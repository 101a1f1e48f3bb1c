"""Where the bundled model lives."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import LoadedModel, load_checkpoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
BUNDLED_MODEL_PATH = ASSETS_DIR / "bundled_model.pt"


def load_bundled_model() -> LoadedModel:
    """The model trained by this package and shipped in `assets/` (raises `CheckpointError`)."""
    return load_checkpoint(BUNDLED_MODEL_PATH, name="bundled model")
