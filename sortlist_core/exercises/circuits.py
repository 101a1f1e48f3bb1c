"""OV/QK page: full OV and QK circuits, positional QK, and which head copies each token."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import circuits as core
from .. import figures
from ..checkpoint import LoadedModel
from .common import source
from .spec import CodeExercise
from .verdict import Verdict, compare


def _no_params(model: LoadedModel) -> dict:
    return {}


def _head_order_alternative(ref: np.ndarray, what: str) -> dict[str, np.ndarray]:
    if ref.shape[0] < 2:
        return {}
    return {
        f"Your heads are in the wrong order: axis 0 must be head 0, 1, ... of the {what}.": ref[::-1].copy()
    }


def _scale_factors(model: LoadedModel) -> dict[str, float]:
    d = model.config.d_head
    return {"1/sqrt(d_head)": 1 / math.sqrt(d), "sqrt(d_head)": math.sqrt(d), "1/d_head": 1 / d}


def _head_circuit_check(
    reference: Callable[[LoadedModel], np.ndarray], axes: tuple[str, ...], what: str
) -> Callable[[LoadedModel, dict, Any], Verdict]:
    """The checker of a per-head circuit against `reference(model)`; it names swapped heads and a
    d_head scale slip."""

    def check(model: LoadedModel, params: dict, value: Any) -> Verdict:
        ref = reference(model)
        alternatives = _head_order_alternative(ref, what)
        return compare(value, ref, axes, alternatives=alternatives, factors=_scale_factors(model))

    return check


def _heads_figure(
    draw: Callable[[np.ndarray, Sequence[str]], go.Figure],
) -> Callable[[LoadedModel, dict, np.ndarray], go.Figure]:
    """The figure of a [head, token, token] circuit: `draw(values, head names)`, one panel per head."""
    return lambda model, params, values: draw(values, model.config.head_names)


FULL_OV = CodeExercise(
    id="circuits.full_ov",
    title="Full OV circuit per head",
    statement=(
        "Return the full OV circuit of every head in layer 0, `W_E W_V W_O W_U`: entry "
        "[h, s, p] is how much attending to source token s in head h raises the logit of "
        "prediction p. A copying head has a strong diagonal.\n\n"
        "TransformerLens weights keep a layer axis: `model.W_V` is [n_layers, n_heads, d_model, d_head]."
    ),
    starter=source('''
def full_ov(model) -> Float[Tensor, "n_heads d_vocab d_vocab"]:
    """[head, source token, prediction]."""
    raise NotImplementedError
'''),
    solution=source("""
def full_ov(model) -> Float[Tensor, "n_heads d_vocab d_vocab"]:
    W_OV = model.W_V[0] @ model.W_O[0]  # [head d_model d_model]
    return model.W_E @ W_OV @ model.W_U
"""),
    hints=(
        "`model.W_V[0] @ model.W_O[0]` is W_OV per head: [n_heads, d_model, d_model].",
        "Matrix products broadcast over the head axis: `model.W_E @ W_OV @ model.W_U`.",
    ),
    entry="full_ov",
    inputs=("model",),
    params=_no_params,
    check=_head_circuit_check(core.full_ov, ("head", "source token", "prediction"), "OV circuit"),
    figure=_heads_figure(figures.ov_circuit_heatmaps),
)


FULL_QK = CodeExercise(
    id="circuits.full_qk",
    title="Full QK circuit with einops",
    statement=(
        "Return the full QK circuit of every head, `W_E W_Q W_K^T W_E^T`: entry [h, d, s] is the "
        "attention score (before the 1/sqrt(d_head) scale, as in the write-up) of destination "
        "token d on source token s in head h. Write it with `einops.einsum`."
    ),
    starter=source('''
def full_qk(model) -> Float[Tensor, "n_heads d_vocab d_vocab"]:
    """[head, destination token, source token]."""
    raise NotImplementedError
'''),
    solution=source("""
def full_qk(model) -> Float[Tensor, "n_heads d_vocab d_vocab"]:
    q = einops.einsum(model.W_E, model.W_Q[0], "dest d_model, head d_model d_head -> head dest d_head")
    k = einops.einsum(model.W_E, model.W_K[0], "src d_model, head d_model d_head -> head src d_head")
    return einops.einsum(q, k, "head dest d_head, head src d_head -> head dest src")
"""),
    hints=(
        "Queries come from the destination token, keys from the source token: both through W_E.",
        'Contract d_head between them: "head dest d_head, head src d_head -> head dest src".',
        "Do not divide by sqrt(d_head): the write-up's W_QK_full is unscaled.",
    ),
    entry="full_qk",
    inputs=("model",),
    params=_no_params,
    check=_head_circuit_check(core.full_qk, ("head", "destination token", "source token"), "QK circuit"),
    figure=_heads_figure(figures.qk_circuit_heatmaps),
)


def _positional_figure(model: LoadedModel, params: dict, values: np.ndarray) -> go.Figure:
    labels = core.position_labels(model.config.list_len)
    labels = labels if len(labels) == values.shape[1] else [str(p) for p in range(values.shape[1])]
    return figures.positional_qk_heatmaps(values, labels, model.config.head_names)


POSITIONAL_QK = CodeExercise(
    id="circuits.positional_qk",
    title="Positional QK: query positions against key tokens",
    statement=(
        "Return `W_pos W_QK W_E^T` for every head: entry [h, p, s] is the score that the query "
        "*position* p (its positional embedding alone) gives key *token* s. The write-up uses it "
        "to explain why late positions avoid small tokens, and where SEP stops finding the minimum."
    ),
    starter=source('''
def positional_qk(model) -> Float[Tensor, "n_heads n_ctx d_vocab"]:
    """[head, query position, key token]."""
    raise NotImplementedError
'''),
    solution=source("""
def positional_qk(model) -> Float[Tensor, "n_heads n_ctx d_vocab"]:
    W_QK = model.W_Q[0] @ model.W_K[0].transpose(-1, -2)  # [head d_model d_model]
    return model.W_pos @ W_QK @ model.W_E.T
"""),
    hints=(
        "`model.W_pos` is [n_ctx, d_model]; the query side uses it instead of W_E.",
        "W_QK = W_Q W_K^T per head: `model.W_Q[0] @ model.W_K[0].transpose(-1, -2)`.",
    ),
    entry="positional_qk",
    inputs=("model",),
    params=_no_params,
    check=_head_circuit_check(
        core.positional_qk, ("head", "query position", "key token"), "positional QK circuit"
    ),
    figure=_positional_figure,
)


def _check_copying_head(model: LoadedModel, params: dict, value) -> Verdict:
    resp = core.head_responsibility(model)
    ref = np.array(resp.owner)
    least = resp.copy_strength.argmin(0)
    alternatives = {}
    if model.config.n_heads > 1 and not np.array_equal(least, ref):
        alternatives["You picked the head that copies each token *least* (argmin); take the argmax."] = least
    rows = core.full_ov(model)[:, : model.config.max_value + 1]  # [head value pred]
    row_max = rows.max(-1).argmax(0)
    if not np.array_equal(row_max, ref):
        alternatives[
            "You compared each head's largest entry in the token's row, not its diagonal entry "
            "(how much attending to t raises t itself)."
        ] = row_max
    verdict = compare(value, ref, ("value token",), alternatives=alternatives, exact=True)
    if verdict.got is not None and verdict.got.shape == (model.config.d_vocab,):
        return Verdict(
            False,
            f"Your output has {model.config.d_vocab} entries: drop SEP (the last token, never a prediction "
            f"target); expected one head per value 0..{model.config.max_value}.",
            ref,
            verdict.got,
        )
    return verdict


COPYING_HEAD = CodeExercise(
    id="circuits.copying_head",
    title="Which head copies each token",
    statement=(
        "For each value token t = 0 .. max_value (not SEP), return the index of the head whose "
        "full OV circuit copies t most strongly, i.e. with the largest diagonal entry [h, t, t]. "
        "Ties go to the lower head (what `argmax` does)."
    ),
    starter=source('''
def copying_head(model) -> Int[Tensor, "n_values"]:
    """n_values = d_vocab - 1 (values 0 .. max_value); entries are head indices."""
    raise NotImplementedError
'''),
    solution=source("""
def copying_head(model) -> Int[Tensor, "n_values"]:
    W_OV_full = model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U  # [head src pred]
    diagonal = W_OV_full.diagonal(dim1=-2, dim2=-1)  # [head d_vocab]
    return diagonal[:, :-1].argmax(0)  # drop SEP
"""),
    hints=(
        "Start from the full OV circuit of the previous exercise.",
        "`tensor.diagonal(dim1=-2, dim2=-1)` takes the diagonal of the last two axes: [head, d_vocab].",
        "Drop SEP (the last token), then argmax over the head axis.",
    ),
    entry="copying_head",
    inputs=("model",),
    params=_no_params,
    check=_check_copying_head,
)

NOTEBOOK_TITLE = "OV and QK circuits"
EXERCISES = (FULL_OV, FULL_QK, POSITIONAL_QK, COPYING_HEAD)
