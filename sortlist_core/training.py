"""Training the sorting transformer from scratch, on the CPU, in seconds.

`train` runs the model's own pure-torch `forward` (with autograd) on raw HookedTransformer-format
parameters, so the weights it returns load straight into `checkpoint.model_from_state_dict` and
every analysis. Everything random comes from private `torch.Generator`s seeded from the recipe:
the same recipe, seed and torch thread count give bitwise the same weights (another thread count
changes float rounding, not the outcome), and the global RNG is never touched.

The recipes (`Recipe`, `ORIGINAL_RECIPE`, `FAST_RECIPE`: about 5x faster to 0.998 validation
accuracy, `BUNDLED_RECIPE`) are in `recipes` and re-exported here.
`python -m sortlist_core train` (in `cli.py`) runs `train` with any recipe and architecture.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from .checkpoint import LoadedModel, model_from_state_dict, save_checkpoint
from .config import ModelConfig
from .data import EVAL_SEED, EVAL_SIZE, eval_dataset, tokens_from_unsorted
from .model import forward, hooked_shapes, raw_weights
from .recipes import (  # noqa: F401 - re-exported: callers import the recipes with `train`
    BUNDLED_RECIPE,
    FAST_RECIPE,
    OPTIMIZERS,
    ORIGINAL_RECIPE,
    RECIPES,
    Recipe,
)

_EVAL_CHUNK = 1_000  # lists per forward pass when evaluating: 5,000 at once is 2.5x slower (cache)


@dataclass(frozen=True)
class TrainProgress:
    """Reported after every optimiser step. `step` counts from 1; `epoch` from 0;
    `val_accuracy` is None unless validation ran at this step; `elapsed_s` includes validation."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    val_accuracy: float | None
    elapsed_s: float


@dataclass(frozen=True)
class ValidationPoint:
    """One validation during training: `loss` is the mean training loss since the previous one."""

    step: int
    loss: float
    val_accuracy: float
    val_loss: float
    elapsed_s: float


@dataclass(frozen=True)
class TrainingMetadata:
    """What a run measured and how it ran; `to_dict` is the checkpoint's JSON metadata."""

    config: ModelConfig
    recipe: Recipe
    val_accuracy: float  # of the returned (best) weights, on `recipe.val_size` lists
    val_loss: float
    eval_loss: float  # on the write-up's evaluation set (`data.eval_dataset`)
    eval_accuracy: float
    best_step: int
    steps: int  # optimiser steps taken (fewer than `total_steps` when stopped early)
    total_steps: int
    target_accuracy: float | None
    stop_reason: str  # "completed", "target_accuracy" or "cancelled"
    wall_time_s: float
    torch_threads: int
    history: tuple[ValidationPoint, ...]
    versions: dict[str, str]
    created: str  # ISO 8601, UTC

    @property
    def cancelled(self) -> bool:
        return self.stop_reason == "cancelled"

    def to_dict(self) -> dict[str, Any]:
        """The JSON metadata checkpoints have always stored (same keys, same order)."""
        return {
            "config": self.config.to_dict(),
            "seed": self.recipe.seed,
            "recipe": self.recipe.to_dict(),
            "val_accuracy": self.val_accuracy,
            "val_loss": self.val_loss,
            "val_set": {"size": self.recipe.val_size, "seed": self.recipe.val_seed},
            "eval_loss": self.eval_loss,
            "eval_accuracy": self.eval_accuracy,
            "eval_set": {"size": EVAL_SIZE, "seed": EVAL_SEED},
            "best_step": self.best_step,
            "steps": self.steps,
            "total_steps": self.total_steps,
            "target_accuracy": self.target_accuracy,
            "stop_reason": self.stop_reason,
            "cancelled": self.cancelled,
            "wall_time_s": self.wall_time_s,
            "torch_threads": self.torch_threads,
            "history": [asdict(point) for point in self.history],
            "versions": dict(self.versions),
            "created": self.created,
        }


@dataclass(frozen=True)
class TrainResult:
    """The best-validation weights (HookedTransformer keys, float32, parameters only), their
    config, the run's metadata (what `save_checkpoint` stores) and the loaded model."""

    state_dict: dict[str, Tensor] = field(repr=False)
    config: ModelConfig
    metadata: TrainingMetadata = field(repr=False)
    model: LoadedModel = field(repr=False)

    @property
    def val_accuracy(self) -> float:
        return self.metadata.val_accuracy

    @property
    def cancelled(self) -> bool:
        return self.metadata.cancelled

    def save(self, path: str | Path) -> Path:
        """Atomically write the checkpoint and its `.json` sidecar."""
        return save_checkpoint(path, self.state_dict, self.config, self.metadata.to_dict())


def derive_seed(seed: int, purpose: str) -> int:
    """An independent 63-bit seed per purpose ("init", "data"), so the training stream never
    coincides with a dataset built from a small seed such as the eval set's 43."""
    digest = hashlib.sha256(f"sortlist:{purpose}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def init_state_dict(
    config: ModelConfig, init_range: float | None, generator: torch.Generator
) -> dict[str, Tensor]:
    """Parameters initialised as TransformerLens does: every W_ matrix ~ N(0, init_range²)
    (default 0.8 / sqrt(d_model)), biases 0, LayerNorm weights 1 and biases 0."""
    std = init_range if init_range is not None else 0.8 / math.sqrt(config.d_model)
    state: dict[str, Tensor] = {}
    for key, shape in hooked_shapes(config).items():
        leaf = key.rsplit(".", 1)[-1]
        if leaf.startswith("W_"):
            state[key] = torch.randn(shape, generator=generator) * std
        elif leaf == "w":  # LayerNorm scale
            state[key] = torch.ones(shape)
        else:
            state[key] = torch.zeros(shape)
    return state


def random_tokens(n: int, config: ModelConfig, generator: torch.Generator) -> Int[Tensor, "n seq"]:
    """`n` fresh token sequences, drawn exactly as `SortedListDataset` draws them (without its
    string view, which costs seconds for a big training set)."""
    unsorted = torch.argsort(torch.rand(n, config.max_value + 1, generator=generator), dim=-1)
    return tokens_from_unsorted(unsorted[:, : config.list_len], config.max_value)


def sorted_half_logits(
    state: dict[str, Tensor], config: ModelConfig, toks: Int[Tensor, "batch seq"]
) -> Float[Tensor, "batch list_len vocab"]:
    """Logits at positions SEP .. second-to-last, which predict the sorted half
    `toks[:, list_len + 1:]`, from raw (unprocessed) parameters.

    Exactly `model.forward`'s logits, but reproducible under autograd: the backward of
    `W_E[toks]` (an accumulating scatter over repeated tokens) sums in a thread-dependent order
    on the CPU, so two identical runs would drift apart by float rounding. Looking the tokens up
    with `F.embedding` (deterministic backward) and handing `forward` a per-position table with
    distinct indices avoids that, without touching the global `use_deterministic_algorithms`.
    """
    weights, ln = raw_weights(state, config)
    table = F.embedding(toks, weights.W_E).reshape(toks.numel(), -1)  # [batch*seq d_model]
    positions = torch.arange(toks.numel(), device=toks.device).view(toks.shape)
    return forward(replace(weights, W_E=table), positions, ln=ln).logits[:, config.list_len : -1]


def _loss(logits: Float[Tensor, "batch pos vocab"], targets: Int[Tensor, "batch pos"]) -> Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.inference_mode()
def evaluate(
    state: dict[str, Tensor], config: ModelConfig, toks: Int[Tensor, "batch seq"]
) -> tuple[float, float]:
    """(per-token accuracy, mean cross-entropy) of the sorted-half predictions on `toks`."""
    weights, ln = raw_weights(state, config)  # no autograd here, so the plain lookup is exact
    correct, loss_sum, count = 0, 0.0, 0
    for chunk in toks.split(_EVAL_CHUNK):
        logits = forward(weights, chunk, ln=ln).logits[:, config.list_len : -1]
        targets = chunk[:, config.list_len + 1 :]
        correct += int((logits.argmax(-1) == targets).sum())
        loss_sum += float(_loss(logits, targets)) * targets.numel()
        count += targets.numel()
    return correct / count, loss_sum / count


def _batches(recipe: Recipe, config: ModelConfig, generator: torch.Generator) -> Iterator[tuple[int, Tensor]]:
    """(epoch, tokens [batch seq]) for every step of the run, in order."""
    fixed = None if recipe.fresh_data else random_tokens(recipe.n_train, config, generator)
    for epoch in range(recipe.epochs):
        if fixed is None:
            for start in range(0, recipe.n_train, recipe.batch_size):
                yield epoch, random_tokens(min(recipe.batch_size, recipe.n_train - start), config, generator)
        else:
            order = torch.randperm(recipe.n_train, generator=generator)
            for idx in order.split(recipe.batch_size):
                yield epoch, fixed[idx]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def _optimizer(params: list[Tensor], recipe: Recipe) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=recipe.lr_at(0), betas=recipe.betas, weight_decay=recipe.weight_decay)


def train(
    config: ModelConfig,
    recipe: Recipe,
    progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    target_accuracy: float | None = None,
    show_tqdm: bool = False,
) -> TrainResult:
    """Train a model and return its best-validation weights.

    Validates every `recipe.eval_every` steps and at the last step, and keeps the weights with
    the highest validation accuracy (ties: lower validation loss). Stops early once validation
    accuracy reaches `target_accuracy`, or when `should_stop()` (checked after every step)
    returns True; then the best weights so far are returned with `metadata.cancelled` True.
    """
    recipe.validate()
    if target_accuracy is not None and not (0 < target_accuracy <= 1):
        raise ValueError(f"target_accuracy must be in (0, 1], got {target_accuracy!r}")
    started = time.perf_counter()
    # The tokens of SortedListDataset(val_size, list_len, max_value, seed=val_seed).
    val_toks = random_tokens(recipe.val_size, config, torch.Generator().manual_seed(recipe.val_seed))
    state = init_state_dict(
        config, recipe.init_range, torch.Generator().manual_seed(derive_seed(recipe.seed, "init"))
    )
    params = [p.requires_grad_() for p in state.values()]
    optimizer = _optimizer(params, recipe)
    batches = _batches(recipe, config, torch.Generator().manual_seed(derive_seed(recipe.seed, "data")))
    total = recipe.total_steps
    targets_slice = slice(config.list_len + 1, None)

    best: dict[str, Tensor] | None = None
    best_acc, best_val_loss, best_step = -1.0, math.inf, 0
    history: list[ValidationPoint] = []
    interval_loss, interval_steps = 0.0, 0
    step, stop_reason = 0, "completed"

    def validate_now() -> float:
        nonlocal best, best_acc, best_val_loss, best_step, interval_loss, interval_steps
        acc, val_loss = evaluate(state, config, val_toks)
        history.append(
            ValidationPoint(
                step=step,
                loss=interval_loss / max(interval_steps, 1),
                val_accuracy=acc,
                val_loss=val_loss,
                elapsed_s=round(time.perf_counter() - started, 3),
            )
        )
        interval_loss, interval_steps = 0.0, 0
        if acc > best_acc or (acc == best_acc and val_loss < best_val_loss):
            best = {k: v.detach().clone() for k, v in state.items()}
            best_acc, best_val_loss, best_step = acc, val_loss, step
        return acc

    bar = None
    if show_tqdm:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"training ({recipe.name})", unit="step", file=sys.stderr)
    try:
        for epoch, toks in batches:
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(step)
            loss = _loss(sorted_half_logits(state, config, toks), toks[:, targets_slice])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_value = loss.item()
            interval_loss += loss_value
            interval_steps += 1
            val_acc = validate_now() if step % recipe.eval_every == 0 or step == total else None
            if progress is not None:
                progress(
                    TrainProgress(step, total, epoch, loss_value, val_acc, time.perf_counter() - started)
                )
            if bar is not None:
                bar.update(1)
                if val_acc is not None:
                    bar.set_postfix(loss=f"{loss_value:.4f}", val_acc=f"{val_acc:.5f}", refresh=False)
            if target_accuracy is not None and val_acc is not None and val_acc >= target_accuracy:
                stop_reason = "target_accuracy"
                break
            if should_stop is not None and should_stop():
                stop_reason = "cancelled"
                if val_acc is None:
                    validate_now()  # so the returned weights have a measured accuracy
                break
    finally:
        if bar is not None:
            bar.close()
    if best is None:  # only when stopped before the first step finished
        validate_now()
    assert best is not None
    wall = time.perf_counter() - started

    eval_toks = eval_dataset(config).toks
    eval_acc, eval_loss = evaluate(best, config, eval_toks)
    metadata = TrainingMetadata(
        config=config,
        recipe=recipe,
        val_accuracy=best_acc,
        val_loss=best_val_loss,
        eval_loss=eval_loss,
        eval_accuracy=eval_acc,
        best_step=best_step,
        steps=step,
        total_steps=total,
        target_accuracy=target_accuracy,
        stop_reason=stop_reason,
        wall_time_s=round(wall, 3),
        torch_threads=torch.get_num_threads(),
        history=tuple(history),
        versions=library_versions(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    params_only = {k: v.detach().to(torch.float32).contiguous() for k, v in best.items()}
    model = model_from_state_dict(
        params_only, metadata.to_dict(), name=f"trained ({recipe.name}, seed {recipe.seed})"
    )
    return TrainResult(params_only, config, metadata, model)
