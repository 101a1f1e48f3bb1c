"""The Model page's logic as pure functions (no streamlit): checking an upload, building a
training run from the form, and describing a model for the learner."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sortlist_core.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    LoadedModel,
    checkpoint_bytes,
    load_checkpoint,
)
from sortlist_core.config import ModelConfig, config_from_architecture
from sortlist_core.training import FAST_RECIPE, Recipe

from .server.training_jobs import TrainingLimits

UPLOAD_TYPES = ("pt", "pth", "bin", "ckpt")


# The largest checkpoint the app accepts. The transport limit (`server.maxUploadSize`, 16 MB in
# .streamlit/config.toml) is set above it on purpose: a file the browser refuses shows only a red
# mark on its chip, while a file that reaches the server gets a sentence naming the limit.
CHECKPOINT_UPLOAD_MB = 5


def upload_limit_bytes(server_max_mb: float | int | None) -> int:
    """The checkpoint size limit: the smallest of the app's (`CHECKPOINT_UPLOAD_MB`), the
    server's transport limit (`server.maxUploadSize`, MB) and the loader's."""
    app = CHECKPOINT_UPLOAD_MB * 1024 * 1024
    if server_max_mb is None or server_max_mb <= 0:
        return min(app, MAX_CHECKPOINT_BYTES)
    return min(int(server_max_mb * 1024 * 1024), app, MAX_CHECKPOINT_BYTES)


def transport_limit_mb(server_max_mb: float | int | None, limit_bytes: int) -> int:
    """What the file uploader lets through (MB): the server's transport limit, so that a file a
    little over `limit_bytes` still arrives and is refused with a message."""
    if server_max_mb is None or server_max_mb <= 0:
        return max(1, -(-limit_bytes // (1024 * 1024)))
    return max(1, int(server_max_mb))


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class UploadOutcome:
    model: LoadedModel | None
    message: str  # markdown, for st.success / st.error

    @property
    def ok(self) -> bool:
        return self.model is not None


def check_upload(name: str, data: bytes, limit_bytes: int) -> UploadOutcome:
    """Load an uploaded checkpoint; on any problem, a message naming it (never an exception)."""
    shown = name if len(name) <= 80 else name[:79] + "…"
    if len(data) > limit_bytes:
        return UploadOutcome(
            None, f"**{shown}** is {_mb(len(data))}, over this server's upload limit of {_mb(limit_bytes)}."
        )
    try:
        model = load_checkpoint(data, name=shown)
    except CheckpointError as exc:
        return UploadOutcome(None, f"**{shown}** could not be used: {exc}.")
    except Exception as exc:  # defensive: the loader should only raise CheckpointError
        return UploadOutcome(None, f"**{shown}** could not be used: unexpected {type(exc).__name__}.")
    return UploadOutcome(
        model, f"Loaded **{shown}** (fingerprint `{model.short_id}`): every page now analyses it."
    )


@dataclass(frozen=True)
class TrainingForm:
    """What the learner chose on the Model page."""

    seed: int = 0
    epochs: int = 5
    lists_per_epoch: int = 25_600  # fresh random lists each epoch; 5 x 25,600 = 500 steps of 256
    batch_size: int = 256
    n_heads: int = 2
    d_model: int = 96
    list_len: int = 10
    max_value: int = 50
    layernorm: bool = True
    lr: float = 3e-3
    target_accuracy: float | None = None

    @property
    def steps(self) -> int:
        """Optimiser steps: every epoch's lists in batches of `batch_size` (the last one may be short)."""
        return self.epochs * -(-self.lists_per_epoch // self.batch_size)


def build_run(form: TrainingForm, limits: TrainingLimits) -> tuple[ModelConfig, Recipe]:
    """Config and recipe for the form (the fast recipe, `epochs` of `lists_per_epoch` fresh lists); `ValueError`
    names the first setting that cannot work or is over this server's limits."""
    if form.epochs < 1 or form.lists_per_epoch < form.batch_size:
        raise ValueError(
            f"at least 1 epoch of at least one batch ({form.batch_size} lists), "
            f"got {form.epochs} of {form.lists_per_epoch:,}"
        )
    if form.steps > limits.max_steps:
        raise ValueError(
            f"at most {limits.max_steps:,} steps on this server, got {form.steps:,} "
            f"({form.epochs} epochs of {form.lists_per_epoch:,} lists in batches of {form.batch_size})"
        )
    if form.d_model > limits.max_d_model:
        raise ValueError(f"d_model at most {limits.max_d_model} on this server, got {form.d_model}")
    if form.n_heads > limits.max_heads:
        raise ValueError(f"at most {limits.max_heads} heads on this server, got {form.n_heads}")
    if form.batch_size > limits.max_batch_size:
        raise ValueError(f"batch size at most {limits.max_batch_size} on this server, got {form.batch_size}")
    config = config_from_architecture(
        list_len=form.list_len,
        max_value=form.max_value,
        d_model=form.d_model,
        n_heads=form.n_heads,
        layernorm=form.layernorm,
    )
    warmup = min(FAST_RECIPE.warmup_steps, max(0, form.steps // 10))
    recipe = replace(
        FAST_RECIPE,
        name="app",
        n_train=form.lists_per_epoch,
        epochs=form.epochs,
        batch_size=form.batch_size,
        seed=form.seed,
        lr_start=form.lr,
        warmup_steps=warmup,
        val_size=2_000,
        eval_every=max(10, form.steps // 25),
    )
    recipe.validate()
    return config, recipe


def trained_name(config: ModelConfig, recipe: Recipe, steps_done: int) -> str:
    return f"trained: seed {recipe.seed}, {steps_done} steps, {config.n_heads} heads"


def _hex_groups(digest: str, size: int = 16) -> str:
    """A 64-digit hash in groups of 16, so a table cell can wrap it instead of clipping it."""
    return " ".join(digest[i : i + size] for i in range(0, len(digest), size))


def model_rows(model: LoadedModel) -> list[dict[str, Any]]:
    """The model's identity and configuration as (property, value) rows."""
    cfg = model.config
    rows = [
        ("name", model.name),
        ("fingerprint (weights sha256)", _hex_groups(model.weights_sha256)),
        ("file sha256", _hex_groups(model.sha256)),
        ("list length", cfg.list_len),
        ("values", f"0..{cfg.max_value} (SEP = {cfg.sep_token})"),
        ("d_model / d_head", f"{cfg.d_model} / {cfg.d_head}"),
        ("heads", f"{cfg.n_heads} ({', '.join(cfg.head_names)})"),
        ("layers", cfg.n_layers),
        ("LayerNorm", "yes" if cfg.normalization == "LN" else "no"),
    ]
    return [{"property": k, "value": str(v)} for k, v in rows]


def metadata_rows(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """Training metadata worth showing (the loss history is left to the curve)."""
    skip = {"history", "config"}
    out = []
    for key in sorted(metadata):
        if key in skip:
            continue
        value = metadata[key]
        if isinstance(value, float):
            text = f"{value:.5g}"
        elif isinstance(value, dict):  # e.g. the recipe: "batch_size 128 · lr 0.001 · ..."
            text = " · ".join(
                f"{k} {v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(value.items())
            )
        elif isinstance(value, list):
            text = json.dumps(value)
        else:
            text = str(value)
        out.append({"field": key, "value": text if len(text) <= 300 else text[:299] + "…"})
    return out


def trained_checkpoint(model: LoadedModel) -> bytes:
    """Our checkpoint format for a model trained in the app (loads back with `load_checkpoint`)."""
    return checkpoint_bytes(model.state_dict, model.config, model.metadata)
