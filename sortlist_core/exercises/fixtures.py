"""The inputs a code exercise's function receives, built INSIDE the runner's child process.

Minimal version from the runner branch: the "model" fixture and plain parameters. The exercises
branch owns the full version (dataset, cache, ...) with the same signature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_inputs(
    names: tuple[str, ...], params: dict[str, Any], checkpoint_path: str | Path
) -> dict[str, Any]:
    """name -> object for each fixture name: "model" (a TransformerLens 4.x model with the
    processed weights, compatibility mode) or a plain parameter taken from `params`."""
    inputs: dict[str, Any] = {}
    for name in names:
        if name == "model":
            from sortlist_core.checkpoint import load_checkpoint
            from sortlist_core.model import to_transformer_lens

            loaded = load_checkpoint(Path(checkpoint_path).read_bytes())
            inputs[name] = to_transformer_lens(loaded.state_dict, loaded.config)
        elif name in params:
            inputs[name] = params[name]
        else:
            raise KeyError(f"unknown fixture {name!r} (not a fixture and not in params)")
    return inputs
