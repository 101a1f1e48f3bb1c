"""Mystery page: the 2x2 DLA behind the [d, d+1, d+2] puzzle, and the direct-path ablation."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from .. import figures
from ..checkpoint import LoadedModel
from ..circuits import head_responsibility
from ..data import InvalidListError, tokens_from_unsorted
from ..metrics import prediction_slice
from ..model import run
from ..mystery import DEFAULT_MYSTERY_LISTS, check_xyz, dla_yz
from .common import EVAL_PARAMS, cached, eval_toks, source
from .spec import CodeExercise
from .verdict import Verdict, compare


def _cases_for(model: LoadedModel) -> list[tuple[list[int], tuple[int, int, int]]]:
    """The write-up's lists where they fit this model's list length and value range; otherwise
    lists built the same way (x, x+1, x+2 or x+3 among evenly spread values)."""
    cfg = model.config
    cases = []
    for lst, xyz in DEFAULT_MYSTERY_LISTS:
        try:
            if len(lst) == cfg.list_len and max(lst) <= cfg.max_value:
                check_xyz(lst, *xyz)
                cases.append((lst, xyz))
        except InvalidListError:
            pass
    if cases:
        return cases
    L, V = cfg.list_len, cfg.max_value + 1
    for x, gap in ((V // 4, 2), (V // 2, 3)):
        y, z = x + 1, x + gap
        others = [v for v in range(V) if not x - 1 <= v <= z + 1]
        if z >= V or L < 3 or len(others) < L - 3:
            continue
        picks = np.linspace(0, len(others) - 1, L - 3).round().astype(int).tolist() if L > 3 else []
        cases.append(([x, y, z] + [others[i] for i in picks], (x, y, z)))
    return cases


def _dla_params(model: LoadedModel) -> dict:
    cases = _cases_for(model)
    owner = head_responsibility(model).owner
    return {
        "lists": [lst for lst, _ in cases],
        "x_list": [xyz[0] for _, xyz in cases],
        "y_list": [xyz[1] for _, xyz in cases],
        "z_list": [xyz[2] for _, xyz in cases],
        "head_list": [owner[xyz[1]] for _, xyz in cases],  # the head that copies y
    }


@torch.inference_mode()
def _dla_variant(model: LoadedModel, params: dict, heads: list[int] | None, scale: bool, sum_heads: bool):
    """[batch pred src] like `mystery.dla_yz`, but with mistakes switched on, for diagnosis."""
    w = model.weights
    out = []
    for b, lst in enumerate(params["lists"]):
        x, y, z = params["x_list"][b], params["y_list"][b], params["z_list"][b]
        head = params["head_list"][b] if heads is None else heads[b]
        toks = tokens_from_unsorted(torch.tensor([lst]), model.config.max_value)
        fwd = run(w, toks)
        L = model.config.list_len
        row = toks[0].tolist()
        x_pos = L + row[L:].index(x)
        src = [row.index(y), row.index(z)]
        per_head = torch.einsum("she,hed->shd", fwd.v[0], w.W_O)  # [src head d_model]
        written = per_head.sum(1) if sum_heads else per_head[:, head]
        contrib = fwd.pattern[0, head, x_pos, src][:, None] * written[src]
        if scale:
            contrib = contrib / fwd.final_scale[0, x_pos]
        out.append((contrib @ w.W_U[:, [y, z]]).T.numpy())
    return np.stack(out)


def _check_dla(model: LoadedModel, params: dict, value) -> Verdict:
    def refs():
        expected = np.stack(
            [
                dla_yz(model, lst, x, y, z, head).dla
                for lst, x, y, z, head in zip(
                    params["lists"], params["x_list"], params["y_list"], params["z_list"], params["head_list"]
                )
            ]
        )
        alts = {
            "You did not divide by the final LayerNorm scale: the unembedding sees the residual "
            'stream divided by cache["scale"] at the destination.': _dla_variant(
                model, params, None, False, False
            ),
            "You summed the value vectors over heads (`out.sum(2)` in the write-up's commented line) "
            "instead of taking the head in head_list.": _dla_variant(model, params, None, True, True),
        }
        if model.config.n_heads > 1:
            other = [(h + 1) % model.config.n_heads for h in params["head_list"]]
            alts["Those are another head's numbers: use the head in head_list for each list."] = _dla_variant(
                model, params, other, True, False
            )
        return expected, alts

    expected, alts = cached(model, "mystery.dla", params, refs)
    return compare(value, expected, ("list", "prediction", "source"), alternatives=alts)


def _dla_figure(model: LoadedModel, params: dict, values: np.ndarray) -> go.Figure:
    titles = [f"x={x}, y={y}, z={z}" for x, y, z in zip(params["x_list"], params["y_list"], params["z_list"])]
    return figures.dla_grid(values, titles, "Direct logit attribution at x")


DLA = CodeExercise(
    id="mystery.dla_yz",
    title="The 2x2 DLA from y and z to y and z",
    statement=(
        "For each list b with close values x < y < z (y right after x in sorted order), measure the "
        "direct logit attribution at destination x (in the sorted half) through head "
        "`head_list[b]`: how much the head's output moved from source y and from source z (their "
        "positions in the *unsorted* half) raises the logits of y and of z. Divide by the final "
        'LayerNorm scale `cache["scale"]` at x, as the write-up does.\n\n'
        "Return a tensor [list, prediction (y, z), source (y, z)] - the layout of the write-up's "
        "figure. This is the write-up's snippet with its undefined `x_list` fixed: x, y, z come in "
        "as arguments."
    ),
    starter=source('''
def dla_yz(model, lists, x_list, y_list, z_list, head_list) -> Float[Tensor, "batch 2 2"]:
    """[list, prediction (y, z), source (y, z)]."""
    L = len(lists[0])
    max_value = model.cfg.d_vocab - 2
    toks = torch.tensor([lst + [max_value + 1] + sorted(lst) for lst in lists])
    _, cache = model.run_with_cache(toks)
    raise NotImplementedError
'''),
    solution=source("""
def dla_yz(model, lists, x_list, y_list, z_list, head_list) -> Float[Tensor, "batch 2 2"]:
    L = len(lists[0])
    B = len(lists)
    max_value = model.cfg.d_vocab - 2
    toks = torch.tensor([lst + [max_value + 1] + sorted(lst) for lst in lists])
    _, cache = model.run_with_cache(toks)
    rows = toks.tolist()
    x_posns = torch.tensor([L + row[L:].index(x) for x, row in zip(x_list, rows)])  # sorted half
    y_posns = torch.tensor([row.index(y) for y, row in zip(y_list, rows)])  # unsorted half
    z_posns = torch.tensor([row.index(z) for z, row in zip(z_list, rows)])
    src_posns = torch.stack([y_posns, z_posns]).T  # [batch 2]
    src_tokens = torch.tensor([y_list, z_list]).T  # [batch 2]
    heads = torch.tensor(head_list)

    out = einops.einsum(
        cache["v", 0], model.W_O[0], "batch seqK head d_head, head d_head d_model -> batch seqK head d_model"
    )
    out = out[torch.arange(B), :, heads]  # [batch seqK d_model]
    attn = cache["pattern", 0][torch.arange(B), heads]  # [batch seqQ seqK]
    result_pre_sum = einops.einsum(out, attn, "batch seqK d_model, batch seqQ seqK -> batch seqQ seqK d_model")
    scale = cache["scale"].unsqueeze(-1) if model.cfg.normalization_type else 1.0  # [batch seqQ 1 1]
    dla = (result_pre_sum / scale) @ model.W_U  # [batch seqQ seqK d_vocab]
    b = torch.arange(B)[:, None, None]
    return dla[b, x_posns[:, None, None], src_posns[:, None, :], src_tokens[:, :, None]]
"""),
    hints=(
        "Positions: x in the sorted half (`L + row[L:].index(x)`), y and z in the unsorted half "
        "(`row.index(y)`).",
        "What head h writes from source s is `v[s, h] @ W_O[h]`, weighted by the attention from x to s.",
        "Index the last step as `dla[b, x_pos, src_pos[None, :], src_tok[:, None]]`: rows are "
        "predictions, columns sources.",
    ),
    entry="dla_yz",
    inputs=("model", "lists", "x_list", "y_list", "z_list", "head_list"),
    params=_dla_params,
    check=_check_dla,
    figure=_dla_figure,
)


@torch.inference_mode()
def _direct_path_refs(model: LoadedModel, params: dict) -> dict[str, float]:
    toks = eval_toks(model, params)
    w = model.weights
    L = model.config.list_len
    fwd = run(w, toks, per_head=False)
    direct = w.W_E[toks] @ w.W_U
    targets = toks[:, L + 1 :]

    def stats(logits: torch.Tensor) -> np.ndarray:
        """[accuracy, cross-entropy loss] over every prediction."""
        logits = logits[:, prediction_slice(L)]
        logprobs = logits.log_softmax(-1).gather(-1, targets[..., None])[..., 0]
        return np.array([float((logits.argmax(-1) == targets).float().mean()), float(-logprobs.mean())])

    without = fwd.logits - direct / fwd.final_scale
    whole = stats(without)
    whole[0] = float((without[:, prediction_slice(L)].argmax(-1) == targets).all(-1).float().mean())
    return {
        "without": stats(without),
        "with": stats(fwd.logits),
        "no_scale": stats(fwd.logits - direct),
        "sequences": whole,
    }


def _check_direct(model: LoadedModel, params: dict, value) -> Verdict:
    r = cached(model, "mystery.direct", params, lambda: _direct_path_refs(model, params))
    alternatives = {
        "Those are the figures with the direct path still in: subtract "
        '`(model.W_E[toks] / cache["scale"]) @ model.W_U` from the logits.': r["with"],
        "You subtracted W_E @ W_U without dividing by the final LayerNorm scale: the unembedding sees "
        'the residual stream divided by cache["scale"].': r["no_scale"],
        "Your accuracy is the fraction of whole lists sorted right; the exercise asks for the fraction of "
        "predictions.": r["sequences"],
    }
    # the loss can be ~1e-4 on a well-trained model: an absolute tolerance far below it
    return compare(value, r["without"], ("statistic (accuracy, loss)",), alternatives=alternatives, atol=1e-6)


DIRECT = CodeExercise(
    id="mystery.direct_path_accuracy",
    title="Accuracy and loss with the direct path removed",
    statement=(
        "The write-up's second guess: the direct path `W_E W_U` boosts d+1 more than d+2. Test it "
        "as the write-up did: remove the direct path's contribution from the logits, "
        '`(model.W_E[toks] / cache["scale"]) @ model.W_U` (the final LayerNorm scale kept at its real '
        "value), and return two numbers for the remaining logits, over every prediction (positions "
        "SEP .. second-to-last) of every list in `dataset`: the accuracy (argmax is the right value) "
        "and the average cross-entropy loss. If the direct path were what separates d+1 "
        "from d+2, accuracy would drop sharply."
    ),
    starter=source('''
def direct_path_accuracy(model, dataset) -> Float[Tensor, "2"]:
    """[accuracy, loss] without the direct path."""
    L = dataset.list_len
    toks = dataset.toks
    logits, cache = model.run_with_cache(toks)
    raise NotImplementedError
'''),
    solution=source("""
def direct_path_accuracy(model, dataset) -> Float[Tensor, "2"]:
    L = dataset.list_len
    toks = dataset.toks
    logits, cache = model.run_with_cache(toks)
    scale = cache["scale"] if model.cfg.normalization_type else 1.0  # [batch seq 1]
    direct = (model.W_E[toks] / scale) @ model.W_U  # [batch seq d_vocab]
    remaining = (logits - direct)[:, L:-1]  # [batch list_len d_vocab]
    targets = toks[:, L + 1 :]
    accuracy = (remaining.argmax(-1) == targets).float().mean()
    loss = -eindex(remaining.log_softmax(-1), targets, "batch seq [batch seq]").mean()
    return torch.stack([accuracy, loss])
"""),
    hints=(
        "`model.W_E[toks]` is each position's token embedding: [batch, seq, d_model].",
        'The final LayerNorm divides the residual stream by `cache["scale"]` ([batch, seq, 1]) '
        "before W_U, so the direct path's logits are `(W_E[toks] / scale) @ W_U`.",
    ),
    entry="direct_path_accuracy",
    inputs=("model", "dataset"),
    params=lambda model: dict(EVAL_PARAMS),
    check=_check_direct,
)

NOTEBOOK_TITLE = "The [d, d+1, d+2] mystery"
EXERCISES = (DLA, DIRECT)
