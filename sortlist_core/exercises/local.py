"""Running a learner's function in the *current* process: only for notebooks (the learner's own
machine) and trusted tests. The app and the CLI go through `sortlist_core.runner` instead.

The value is reduced to the same plain data the runner sends back (arrays, numbers, lists), so
a checker sees exactly what it would see from the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..checkpoint import LoadedModel
from ..learner_code import compile_learner_code, trimmed_traceback
from .fixtures import build_inputs_for_model
from .spec import CodeExercise
from .verdict import NOT_IMPLEMENTED, Verdict, error_verdict


def to_plain(value: Any) -> Any:
    """Tensor/array -> ndarray; tuple/list of tensors -> tuple of ndarrays; numbers, strings,
    None and nested lists/dicts of those unchanged; anything else -> TypeError."""
    import torch

    if isinstance(value, torch.Tensor):
        return np.asarray(value.detach().cpu())
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, torch.Tensor | np.ndarray) for v in value)
    ):
        return tuple(to_plain(v) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_plain(v) for k, v in value.items()}
    raise TypeError(f"your function returned a {type(value).__name__}; return a tensor, a number or a list")


_TL_MODELS: dict[str, Any] = {}


def _tl_model(loaded: LoadedModel):
    """One TransformerLens model per weights in this process (building one takes a second)."""
    if loaded.weights_sha256 not in _TL_MODELS:
        from ..model import to_transformer_lens

        if len(_TL_MODELS) >= 4:
            _TL_MODELS.clear()
        _TL_MODELS[loaded.weights_sha256] = to_transformer_lens(loaded.state_dict, loaded.config)
    return _TL_MODELS[loaded.weights_sha256]


def function_from_source(source: str, entry: str) -> Callable:
    namespace: dict[str, Any] = {"__name__": "learner"}
    exec(compile_learner_code(source), namespace)  # noqa: S102 - the learner's own machine
    if entry not in namespace:
        raise NameError(f"your code does not define a function called {entry!r}")
    return namespace[entry]


def check_in_process(
    exercise: CodeExercise,
    loaded: LoadedModel,
    fn: Callable | str,
    params: dict | None = None,
) -> Verdict:
    """Call `fn` (a function, or source code defining `exercise.entry`) on this model's
    fixtures and check its value. Exceptions become a failing verdict with the traceback."""
    params = exercise.params(loaded) if params is None else params
    try:
        if isinstance(fn, str):
            func = function_from_source(fn + exercise.harness, exercise.entry)
        elif exercise.harness:  # a notebook passes one of its functions: the harness sees its globals
            namespace = {**fn.__globals__, fn.__name__: fn}
            exec(compile(exercise.harness, "<harness>", "exec"), namespace)  # noqa: S102 - trusted text
            func = namespace[exercise.entry]
        else:
            func = fn
        inputs = build_inputs_for_model(exercise.inputs, params, loaded, _tl_model(loaded))
        value = to_plain(func(*[inputs[n] for n in exercise.inputs]))
    except NotImplementedError:
        return Verdict(False, NOT_IMPLEMENTED)
    except Exception as exc:  # the learner's code may raise anything; report it
        return error_verdict(f"Your code raised {type(exc).__name__}: {exc}", trimmed_traceback(exc))
    return exercise.check(loaded, params, value)
