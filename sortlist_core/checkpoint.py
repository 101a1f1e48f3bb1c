"""Loading and saving checkpoints: `HookedTransformer` state dicts (the format of the original
checkpoint of ARENA's October 2023 monthly algorithmic problem "Sorted List") and
our own format (weights + config + training metadata). Only `torch.load(weights_only=True)`:
a pickle that would run code is rejected before anything in it executes.

Every checkpoint (app upload, `SORTLIST_MODEL_PATH`, the CLI, the notebooks) goes through
`load_checkpoint`, which refuses bombs before they cost anything: the zip directory is read
before `torch.load` (stored entries only, bounded count and total size), the architecture is
bounded before any tensor is materialised, and weights must be finite *as float32*. The
byte-level half (size cap, zip directory, `torch.load`) is `checkpoint_archive`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

# The size limits are re-exported: callers read them from here, next to `load_checkpoint`.
from .checkpoint_archive import (  # noqa: F401
    MAX_CHECKPOINT_BYTES,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_ENTRIES,
    CheckpointError,
    check_zip_directory,
    read_source,
    torch_load,
)
from .config import ConfigError, ModelConfig
from .model import HOOKED_BUFFER_KEYS, HOOKED_KEYS_LN, Weights, hooked_shapes, process_weights

LINK_ID_CHARS = 16
FORMAT_NAME = "sortlist-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ArchitectureBounds:
    """The largest architecture a checkpoint may declare: exactly what the app's training form
    can produce (list length <= 20, values <= 100, d_model <= 256, heads <= 8), with room for
    the train CLI's explicit `--d-head`. Analyses grow fast with these (vocabulary x context x
    heads): the report of a model at every bound takes about 2 minutes on 2 busy cores, the
    original's about 11 s; one with lists of 32 and values to 255 took over 10 minutes."""

    max_list_len: int = 20
    max_value: int = 100
    max_d_model: int = 256
    max_heads: int = 8
    max_d_head: int = 256
    max_head_width: int = 512  # n_heads * d_head: the size of each of W_Q, W_K, W_V, W_O

    def check(self, *, list_len: int, max_value: int, d_model: int, n_heads: int, d_head: int) -> None:
        """`CheckpointError` naming the first part over its bound."""
        parts = (
            ("list length", list_len, self.max_list_len),
            ("largest value", max_value, self.max_value),
            ("d_model", d_model, self.max_d_model),
            ("number of heads", n_heads, self.max_heads),
            ("d_head", d_head, self.max_d_head),
            ("n_heads x d_head", n_heads * d_head, self.max_head_width),
        )
        for label, value, bound in parts:
            if value > bound:
                raise CheckpointError(
                    f"{label} {value} is over this loader's limit of {bound} "
                    "(a sorting model that large would take minutes and gigabytes to analyse)"
                )


ARCHITECTURE_BOUNDS = ArchitectureBounds()


@dataclass(frozen=True)
class LoadedModel:
    """A validated model ready for analysis. Immutable and safe to share between sessions.

    `sha256` fingerprints the file it came from (or the weights, when built in memory);
    `weights_sha256` fingerprints the weights alone and keys every cache.
    """

    config: ModelConfig
    weights: Weights
    state_dict: dict[str, Tensor] = field(repr=False)
    metadata: dict[str, Any]
    sha256: str
    weights_sha256: str
    name: str = "model"

    @property
    def short_id(self) -> str:
        """8 hex digits, for people to read; never a key (32 bits collide)."""
        return self.weights_sha256[:8]

    @property
    def link_id(self) -> str:
        """16 hex digits (64 bits), what links carry (`?fp=`); a lookup by it still checks that
        exactly one model matches."""
        return self.weights_sha256[:LINK_ID_CHARS]


def weights_fingerprint(state: dict[str, Tensor]) -> str:
    """sha256 over parameter names, shapes and float32 bytes, independent of file format."""
    digest = hashlib.sha256()
    for key in sorted(state):
        if key in HOOKED_BUFFER_KEYS:
            continue
        tensor = state[key].detach().to(torch.float32).contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def infer_config(state: dict[str, Tensor]) -> ModelConfig:
    """The config implied by the tensor shapes; `CheckpointError` if they contradict each other."""
    for key in ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q"):
        if key not in state:
            raise CheckpointError(f"missing key {key!r}: not a sorting-model state dict")
    for key, tensor in state.items():
        if key not in HOOKED_BUFFER_KEYS and (
            not isinstance(tensor, Tensor) or not tensor.is_floating_point()
        ):
            raise CheckpointError(f"{key!r} is not a floating-point tensor")
    layers = {k.split(".")[1] for k in state if k.startswith("blocks.")}
    if layers != {"0"}:
        raise CheckpointError(f"expected exactly one layer (blocks.0), found blocks {sorted(layers)}")
    d_vocab, d_model = _shape(state, "embed.W_E", 2)
    n_ctx, _ = _shape(state, "pos_embed.W_pos", 2)
    n_heads, _, d_head = _shape(state, "blocks.0.attn.W_Q", 3)
    ARCHITECTURE_BOUNDS.check(
        list_len=(n_ctx - 1) // 2, max_value=d_vocab - 2, d_model=d_model, n_heads=n_heads, d_head=d_head
    )
    if (n_ctx - 1) % 2 != 0:
        raise CheckpointError(f"context {n_ctx} is not 2 * list_len + 1 (pos_embed.W_pos)")
    normalization = "LN" if any(k in state for k in HOOKED_KEYS_LN) else None
    try:
        return ModelConfig(
            list_len=(n_ctx - 1) // 2,
            max_value=d_vocab - 2,
            d_model=d_model,
            d_head=d_head,
            n_heads=n_heads,
            n_layers=1,
            normalization=normalization,
        )
    except ConfigError as exc:
        raise CheckpointError(f"shapes do not fit the sorting task: {exc}") from None


def _shape(state: dict[str, Tensor], key: str, ndim: int) -> tuple[int, ...]:
    shape = tuple(state[key].shape)
    if len(shape) != ndim:
        raise CheckpointError(f"{key!r} has {len(shape)} dimensions, expected {ndim}")
    return shape


def validate_state_dict(state: dict[str, Tensor], cfg: ModelConfig) -> dict[str, Tensor]:
    """Exact keys, shapes and finite values for `cfg`; returns float32 parameters only.

    Finiteness is checked after the conversion: a float64 1e300 is finite but becomes inf."""
    expected = hooked_shapes(cfg)
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(f"missing key {missing[0]!r}")
    extra = [k for k in state if k not in expected and k not in HOOKED_BUFFER_KEYS]
    if extra:
        raise CheckpointError(f"unexpected key {extra[0]!r}")
    params: dict[str, Tensor] = {}
    for key, shape in expected.items():
        tensor = state[key]
        if tuple(tensor.shape) != shape:
            raise CheckpointError(f"{key!r} has shape {tuple(tensor.shape)}, expected {shape}")
        as_float32 = tensor.detach().to(torch.float32).clone()
        if not torch.isfinite(as_float32).all():
            raise CheckpointError(f"{key!r} contains NaN or infinite values (as float32)")
        params[key] = as_float32
    return params


def load_checkpoint(source: str | os.PathLike | bytes, name: str | None = None) -> LoadedModel:
    """Load, validate and process a checkpoint from a path or raw bytes.

    Accepts a `HookedTransformer` state dict (the original challenge's format) or our own
    format written by `save_checkpoint`. Raises `CheckpointError` naming the first problem.
    """
    data = read_source(source)
    obj = torch_load(data)
    metadata: dict[str, Any] = {}
    if isinstance(obj, dict) and obj.get("format") == FORMAT_NAME:
        state, declared, metadata = _unpack_own_format(obj)
    elif isinstance(obj, dict):
        state, declared = obj, None
        metadata = {"format": "HookedTransformer state dict"}
    else:
        raise CheckpointError(f"expected a state dict, found {type(obj).__name__}")
    if not all(isinstance(k, str) for k in state):
        raise CheckpointError("state dict keys must be strings")
    cfg = infer_config(state)
    if declared is not None and declared != cfg:
        raise CheckpointError(f"declared config {declared.to_dict()} does not match the tensor shapes")
    params = validate_state_dict(state, cfg)
    if name is None:
        name = (
            Path(source).name if not isinstance(source, (bytes, bytearray, memoryview)) else "uploaded model"
        )
    return LoadedModel(
        config=cfg,
        weights=process_weights(params, cfg),
        state_dict=params,
        metadata=metadata,
        sha256=hashlib.sha256(data).hexdigest(),
        weights_sha256=weights_fingerprint(params),
        name=name,
    )


def _unpack_own_format(obj: dict) -> tuple[dict[str, Tensor], ModelConfig, dict[str, Any]]:
    if obj.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported {FORMAT_NAME} version {obj.get('version')!r}")
    for key in ("config", "state_dict", "metadata_json"):
        if key not in obj:
            raise CheckpointError(f"missing key {key!r} in {FORMAT_NAME}")
    try:
        declared = ModelConfig.from_dict(dict(obj["config"]))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"bad config: {exc}") from None
    try:
        metadata = json.loads(obj["metadata_json"])
    except (TypeError, ValueError):
        raise CheckpointError("metadata_json is not valid JSON") from None
    if not isinstance(obj["state_dict"], dict):
        raise CheckpointError("state_dict is not a mapping")
    return obj["state_dict"], declared, metadata if isinstance(metadata, dict) else {}


def model_from_state_dict(
    state: dict[str, Tensor], metadata: dict[str, Any] | None = None, name: str = "model"
) -> LoadedModel:
    """A `LoadedModel` from in-memory weights (e.g. straight after training)."""
    cfg = infer_config(state)
    params = validate_state_dict(state, cfg)
    fingerprint = weights_fingerprint(params)
    return LoadedModel(
        cfg, process_weights(params, cfg), params, dict(metadata or {}), fingerprint, fingerprint, name
    )


def checkpoint_bytes(state: dict[str, Tensor], cfg: ModelConfig, metadata: dict[str, Any]) -> bytes:
    """Our format, serialised: loadable with `weights_only=True`."""
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": cfg.to_dict(),
        "state_dict": {k: v.detach().cpu().to(torch.float32).contiguous() for k, v in state.items()},
        "metadata_json": json.dumps(metadata, sort_keys=True),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _current_umask() -> int:
    """The process umask, read without changing it where Linux allows (`os.umask` sets it, and a
    thread creating a file in between would get mode 0666)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o077)  # the brief window errs on the private side
    os.umask(umask)
    return umask


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write via a temp file in the same directory and `os.replace`: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file owner-only; give it the usual umask-based mode so that another
        # user (e.g. the non-root app user of a container) can read the checkpoint
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike, state: dict[str, Tensor], cfg: ModelConfig, metadata: dict[str, Any]
) -> Path:
    """Save in our format plus a `<path>.json` sidecar with the metadata, both atomically."""
    path = Path(path)
    atomic_write(path, checkpoint_bytes(state, cfg, metadata))
    sidecar = path.with_suffix(path.suffix + ".json")
    atomic_write(
        sidecar, (json.dumps({"config": cfg.to_dict(), **metadata}, indent=2, sort_keys=True) + "\n").encode()
    )
    return path
