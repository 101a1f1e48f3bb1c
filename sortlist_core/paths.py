"""Where the bundled models live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checkpoint import LoadedModel, load_checkpoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
# The strong model: near-perfect, its two heads share the vocabulary in interleaved ranges.
BUNDLED_MODEL_PATH = ASSETS_DIR / "bundled_model.pt"
STRONG_MODEL_PATH = BUNDLED_MODEL_PATH
# The lesson model: trained with the original recipe and chosen by the criteria in
# assets/TRAINING.md to show what the write-up shows (a dominant head, one block for the other).
LESSON_MODEL_PATH = ASSETS_DIR / "lesson_model.pt"


@dataclass(frozen=True)
class BundledModel:
    """A model shipped in `assets/`. key: stable identifier (deep links, settings); name: what
    the learner reads; metadata: the training record beside it (`<file>.json`)."""

    key: str
    name: str
    path: Path
    description: str = ""  # one line, for the model switcher

    def exists(self) -> bool:
        return self.path.is_file()

    @property
    def metadata_path(self) -> Path:
        return self.path.with_name(self.path.name + ".json")


LESSON_MODEL = BundledModel(
    "lesson",
    "lesson model",
    LESSON_MODEL_PATH,
    "Trained with the original recipe; shows what the write-up describes (a dominant head, failures).",
)
STRONG_MODEL = BundledModel(
    "strong",
    "strong model",
    STRONG_MODEL_PATH,
    "Near-perfect; its two heads share the vocabulary in interleaved ranges.",
)
BUNDLED_MODELS: tuple[BundledModel, ...] = (LESSON_MODEL, STRONG_MODEL)
# Kept for callers that need a constant: the model that always ships. The app and the CLI
# default to `default_bundled_key()`, the lesson model when its file is there.
DEFAULT_MODEL_KEY = "strong"


def default_bundled_key() -> str:
    """The lesson model when its file exists, else the strong model."""
    return LESSON_MODEL.key if LESSON_MODEL.exists() else STRONG_MODEL.key


def bundled_model_by_key(key: str) -> BundledModel:
    """The bundled model with this key; `ValueError` naming the known keys otherwise."""
    for model in BUNDLED_MODELS:
        if model.key == key:
            return model
    raise ValueError(f"unknown bundled model {key!r}; choose from {', '.join(m.key for m in BUNDLED_MODELS)}")


def load_bundled(key: str = DEFAULT_MODEL_KEY) -> LoadedModel:
    """Load a bundled model by key (raises `ValueError` for an unknown key, `CheckpointError`)."""
    model = bundled_model_by_key(key)
    return load_checkpoint(model.path, name=model.name)


def chosen_model_path(checkpoint: str | Path | None = None, model_key: str | None = None) -> Path:
    """The checkpoint a command runs on: `checkpoint` if given, else the bundled model `model_key`
    (`lesson` or `strong`), else the default one (`default_bundled_key`: the lesson model, as in
    the app). `ValueError` for an unknown key."""
    if checkpoint is not None:
        return Path(checkpoint)
    return bundled_model_by_key(model_key or default_bundled_key()).path


def load_chosen_model(checkpoint: str | Path | None = None, model_key: str | None = None) -> LoadedModel:
    """Load `chosen_model_path(checkpoint, model_key)`; a bundled model under its own name."""
    if checkpoint is not None:
        return load_checkpoint(checkpoint)
    return load_bundled(model_key or default_bundled_key())


def add_model_arguments(parser, what: str = "checkpoint path") -> None:
    """`--model lesson|strong` or `--checkpoint PATH` (one of them; default: the lesson model)."""
    group = parser.add_mutually_exclusive_group()
    keys = [m.key for m in BUNDLED_MODELS]
    group.add_argument(
        "--model",
        choices=keys,
        help=f"a bundled model: {', '.join(f'{m.key} = the {m.name}' for m in BUNDLED_MODELS)} "
        "(default: the lesson model, as in the app)",
    )
    group.add_argument("--checkpoint", help=f"{what} (instead of a bundled model)")


def load_bundled_model() -> LoadedModel:
    """The model trained by this package and shipped in `assets/` (raises `CheckpointError`)."""
    return load_checkpoint(BUNDLED_MODEL_PATH, name="bundled model")
