"""Training the sorting transformer from scratch, on the CPU, in seconds.

`train` runs the model's own pure-torch `forward` (with autograd) on raw HookedTransformer-format
parameters, so the weights it returns load straight into `checkpoint.model_from_state_dict` and
every analysis. Everything random comes from private `torch.Generator`s seeded from the recipe:
the same recipe, seed and torch thread count give bitwise the same weights (another thread count
changes float rounding, not the outcome), and the global RNG is never touched.

Three named recipes: `ORIGINAL_RECIPE` (the challenge's: 150k fixed lists, 25 epochs, Adam),
`FAST_RECIPE` (the default: fresh lists every step, AdamW with warmup; about 5x faster to 0.998
validation accuracy) and `BUNDLED_RECIPE` (longer, for the shipped model in `assets/`).
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

OPTIMIZERS = ("adam", "adamw")
_EVAL_CHUNK = 1_000  # lists per forward pass when evaluating: 5,000 at once is 2.5x slower (cache)


@dataclass(frozen=True)
class Recipe:
    """Everything about a training run except the architecture.

    One epoch is `n_train` lists; the run takes `epochs * ceil(n_train / batch_size)` optimiser
    steps. With `fresh_data` every batch is newly drawn (an endless stream, so the model never
    sees a list twice); otherwise a fixed set of `n_train` lists is reshuffled each epoch, as in
    the original challenge. The learning rate rises linearly from 0 to `lr_start` over
    `warmup_steps`, then falls linearly to `lr_end` at the last step.
    """

    name: str = "custom"
    n_train: int = 150_000
    epochs: int = 25
    batch_size: int = 512
    lr_start: float = 1e-3
    lr_end: float = 1e-4
    weight_decay: float = 0.005
    seed: int = 42
    val_size: int = 10_000
    eval_every: int = 100
    warmup_steps: int = 0
    # "adam": weight decay as an L2 term in the gradient (torch.optim.Adam, as the original);
    # "adamw": decoupled weight decay (torch.optim.AdamW).
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    fresh_data: bool = False
    # Validation lists are `SortedListDataset(val_size, list_len, max_value, seed=val_seed)`: a
    # seed distinct from the write-up's eval set (43), so validation never selects on it.
    val_seed: int = 1_000
    # Std of the normal init of every W_ matrix; None = TransformerLens's 0.8 / sqrt(d_model).
    init_range: float | None = None

    def __post_init__(self) -> None:
        # argparse and JSON give lists; keep the frozen record hashable and comparable.
        object.__setattr__(self, "betas", tuple(self.betas))

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def validate(self) -> None:
        """Raise `ValueError` naming the first setting that cannot work."""
        for name in ("n_train", "epochs", "batch_size", "val_size", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("seed", "val_seed", "warmup_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not (math.isfinite(self.lr_start) and 0 < self.lr_start <= 1):
            raise ValueError(f"lr_start must be in (0, 1], got {self.lr_start!r}")
        if not (math.isfinite(self.lr_end) and 0 <= self.lr_end <= 1):
            raise ValueError(f"lr_end must be in [0, 1], got {self.lr_end!r}")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= 1):
            raise ValueError(f"weight_decay must be in [0, 1], got {self.weight_decay!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.init_range is not None and not (math.isfinite(self.init_range) and self.init_range > 0):
            raise ValueError(f"init_range must be positive, got {self.init_range!r}")
        if self.val_seed == EVAL_SEED:
            raise ValueError(f"val_seed must differ from the write-up eval set's seed {EVAL_SEED}")
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps ({self.warmup_steps}) must be fewer than the run's {self.total_steps} steps"
            )

    def lr_at(self, step: int) -> float:
        """Learning rate for optimiser step `step` (0-based)."""
        if step < self.warmup_steps:
            return self.lr_start * (step + 1) / self.warmup_steps
        decay_steps = max(self.total_steps - 1 - self.warmup_steps, 1)
        frac = min((step - self.warmup_steps) / decay_steps, 1.0)
        return self.lr_start + (self.lr_end - self.lr_start) * frac

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data


# The original challenge's recipe (ARENA's sorted-list model): fixed data, Adam with L2 decay.
ORIGINAL_RECIPE = Recipe(
    name="original",
    n_train=150_000,
    epochs=25,
    batch_size=512,
    lr_start=1e-3,
    lr_end=1e-4,
    weight_decay=0.005,
    seed=42,
    optimizer="adam",
    fresh_data=False,
)

# Tuned on a 2-core CPU for the time to 0.998 validation accuracy (see assets/TRAINING.md):
# a fresh batch every step (nothing to overfit), small batches (lists/s is flat from batch 128 up,
# so smaller batches mean more updates per second), a 3x higher peak lr behind a short warmup,
# AdamW. Measured (seed 42, validating every 20 steps): 0.998 after 140 steps = 17,920 lists,
# 7.8 s wall; the original recipe needs 240 steps = 122,880 lists, 39.9 s.
FAST_RECIPE = Recipe(
    name="fast",
    n_train=128 * 600,
    epochs=1,
    batch_size=128,
    lr_start=3e-3,
    lr_end=1e-4,
    weight_decay=0.01,
    seed=42,
    warmup_steps=20,
    optimizer="adamw",
    fresh_data=True,
)

# The shipped model: the fast recipe run 5x longer (3,000 steps, ~2 min), which reaches 1.0
# validation accuracy and an eval-set loss of 7e-5 (required: >= 0.999 and <= 0.04).
BUNDLED_RECIPE = replace(FAST_RECIPE, name="bundled", n_train=128 * 1000, epochs=3, seed=0)

RECIPES: dict[str, Recipe] = {r.name: r for r in (FAST_RECIPE, ORIGINAL_RECIPE, BUNDLED_RECIPE)}


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
