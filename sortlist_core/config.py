"""The one model configuration: every shape of the sorting transformer follows from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

NORMALIZATIONS = ("LN", None)


class ConfigError(ValueError):
    """A configuration that contradicts itself or the sorting task."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a 1-layer attention-only sorting transformer.

    `d_vocab = max_value + 2` (values 0..max_value plus SEP) and `n_ctx = 2 * list_len + 1`
    (unsorted half, SEP, sorted half) are derived, never stored, so they cannot disagree.
    """

    list_len: int = 10
    max_value: int = 50
    d_model: int = 96
    d_head: int = 48
    n_heads: int = 2
    n_layers: int = 1
    normalization: str | None = "LN"

    def __post_init__(self) -> None:
        for name in ("list_len", "max_value", "d_model", "d_head", "n_heads", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.list_len > self.max_value + 1:
            raise ConfigError(
                f"list_len {self.list_len} needs that many distinct values, "
                f"but 0..{self.max_value} has only {self.max_value + 1}"
            )
        if self.n_layers != 1:
            raise ConfigError(
                f"n_layers must be 1 (the lesson's analyses are for a 1-layer model), got {self.n_layers}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(f"normalization must be 'LN' or None, got {self.normalization!r}")

    @property
    def d_vocab(self) -> int:
        return self.max_value + 2

    @property
    def n_ctx(self) -> int:
        return 2 * self.list_len + 1

    @property
    def sep_token(self) -> int:
        return self.max_value + 1

    @property
    def head_names(self) -> list[str]:
        """Heads are named `layer.head` as in the write-up: `0.0`, `0.1`, ..."""
        return [f"0.{h}" for h in range(self.n_heads)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Strict: unknown keys are an error, not silently dropped (typos must not pass)."""
        if not isinstance(data, dict):
            raise ConfigError(f"config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config key {unknown[0]!r}")
        return cls(**data)


def config_from_architecture(
    *,
    list_len: int | None = None,
    max_value: int | None = None,
    d_model: int | None = None,
    n_heads: int | None = None,
    d_head: int | None = None,
    layernorm: bool = True,
) -> ModelConfig:
    """The config for an architecture described by its parts (the train CLI's flags, the Model
    page's form): unset parts keep the write-up model's values and `d_head` defaults to
    `d_model / n_heads`. Raises `ConfigError` (a `ValueError`) naming the first part that cannot work."""
    default = ModelConfig()
    n_heads = default.n_heads if n_heads is None else n_heads
    d_model = default.d_model if d_model is None else d_model
    if d_head is None:
        if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
            raise ConfigError(f"n_heads must be a positive integer, got {n_heads!r}")
        if d_model % n_heads:
            raise ConfigError(
                f"d_model ({d_model}) must be divisible by the number of heads ({n_heads}), "
                "or give d_head explicitly"
            )
        d_head = d_model // n_heads
    return ModelConfig(
        list_len=default.list_len if list_len is None else list_len,
        max_value=default.max_value if max_value is None else max_value,
        d_model=d_model,
        d_head=d_head,
        n_heads=n_heads,
        normalization="LN" if layernorm else None,
    )
