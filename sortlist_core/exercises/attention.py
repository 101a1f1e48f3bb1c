"""Attention page: where SEP looks, and how much each head matters (mean ablation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ablation import head_ablation
from ..attention import attention_claims
from ..checkpoint import LoadedModel
from ..model import run
from .common import EVAL_PARAMS, cached, eval_toks, head_word, on_eval_set, source
from .spec import CodeExercise
from .verdict import Verdict, compare


def _compare_head(
    value: Any,
    per_head: Sequence[float],
    head: int,
    other_head: Callable[[int], str],
    slips: dict[str, np.ndarray],
) -> Verdict:
    """The learner's number against `per_head[head]`. The likeliest slip first, the right
    quantity read off another head (`other_head(h)` says so), then the exercise's own `slips`."""
    named = {other_head(h): np.array(per_head[h]) for h in range(len(per_head)) if h != head}
    return compare(value, np.array(per_head[head]), (), alternatives=named | slips)


def _claims(model: LoadedModel):
    return on_eval_set(model, "attention_claims", attention_claims)


def _sep_params(model: LoadedModel) -> dict:
    return dict(EVAL_PARAMS, head=_claims(model).sep_best_head)


def _sep_column_fraction(model: LoadedModel, params: dict, head: int) -> float:
    """The mistake of reading SEP's column (who attends to SEP) instead of its row."""
    toks = eval_toks(model, params)
    L = model.config.list_len
    pattern = run(model.weights, toks).pattern[:, head, :, L]  # [batch dest]: attention *to* SEP
    top = toks.gather(1, pattern.argmax(-1, keepdim=True))[:, 0]
    return float((top == toks[:, :L].min(-1).values).float().mean())


def _check_sep(model: LoadedModel, params: dict, value) -> Verdict:
    head = params["head"]
    claims = _claims(model)
    column = cached(model, "sep_column", params, lambda: _sep_column_fraction(model, params, head))
    slips = {
        "You read SEP's column of the pattern (how much later tokens attend *to* SEP) instead of its "
        "row: index the pattern as [batch, head, query=SEP, key].": np.array(column),
        "That is the fraction where *any* head attends to the smallest value; the exercise asks for "
        "one head.": np.array(claims.sep_attends_min_any),
    }
    return _compare_head(
        value,
        claims.sep_attends_min,
        head,
        lambda h: (
            f"That is {head_word(h)}'s fraction; the exercise asks for {head_word(head)} (use the `head` argument)."
        ),
        slips,
    )


SEP_ATTENDS_MIN = CodeExercise(
    id="attention.sep_attends_min",
    title="SEP attends to the smallest value",
    statement=(
        "The write-up observes that *SEP consistently attends to the smallest value*. Measure it: "
        "return the fraction of lists in `dataset` in which the key SEP attends to most, in head "
        "0.{head}, holds the list's smallest value.\n\n"
        'Use the cache: `cache["pattern", 0]` has shape [batch, head, query, key], and SEP sits at '
        "position `dataset.list_len`."
    ),
    starter=source('''
def sep_attends_min(cache, dataset, head: int) -> float:
    """cache: model.run_with_cache(dataset.toks)[1]; return a fraction in [0, 1]."""
    L = dataset.list_len
    pattern: Float[Tensor, "batch head query key"] = cache["pattern", 0]
    raise NotImplementedError
'''),
    solution=source("""
def sep_attends_min(cache, dataset, head: int) -> float:
    L = dataset.list_len
    pattern: Float[Tensor, "batch head query key"] = cache["pattern", 0]
    top_key = pattern[:, head, L, :].argmax(-1)  # [batch]: position SEP attends to most
    top_token = dataset.toks.gather(1, top_key[:, None])[:, 0]
    smallest = dataset.toks[:, :L].min(-1).values
    return (top_token == smallest).float().mean().item()
"""),
    hints=(
        "`pattern[:, head, L, :]` is SEP's attention over keys, shape [batch, key].",
        "`argmax(-1)` gives a position; `dataset.toks.gather(1, pos[:, None])` the token there.",
        "The smallest value is `dataset.toks[:, :L].min(-1).values`.",
    ),
    entry="sep_attends_min",
    inputs=("cache", "dataset", "head"),
    params=_sep_params,
    check=_check_sep,
)


def _ablation(model: LoadedModel):
    return on_eval_set(model, "head_ablation", head_ablation)


def _ablation_params(model: LoadedModel) -> dict:
    return dict(EVAL_PARAMS, head=_ablation(model).most_important_head)


def _check_ablation(model: LoadedModel, params: dict, value) -> Verdict:
    head = params["head"]
    result = _ablation(model)
    slips = {
        "That is the zero-ablation figure: replace the head's z by its mean over the batch (per "
        "position), not by zeros.": np.array(result.zero[head]),
        "That is the ablated model's loss; subtract the original loss to get the increase.": np.array(
            result.base_loss + result.mean[head]
        ),
    }
    return _compare_head(
        value,
        result.mean,
        head,
        lambda h: (
            f"That is the loss increase from ablating {head_word(h)}; the exercise asks for {head_word(head)}."
        ),
        slips,
    )


MEAN_ABLATION = CodeExercise(
    id="attention.mean_ablation",
    title="Loss increase from mean-ablating one head",
    statement=(
        "Replace head 0.{head}'s output by its mean over the batch (separately at each position) "
        "and return how much the average cross-entropy loss on `dataset` rises.\n\n"
        'The write-up hooked `hook_result`; here hook `utils.get_act_name("z", 0)` '
        "(shape [batch, seq, head, d_head]): the head's output is `z @ W_O[0, head]`, which is "
        "linear in z, so averaging z averages the output."
    ),
    starter=source("""
def mean_ablation_loss_increase(model, dataset, head: int) -> float:
    L = dataset.list_len
    targets = dataset.toks[:, L + 1 :]
    _, cache = model.run_with_cache(dataset.toks)

    def hook_fn(z: Float[Tensor, "batch seq n_heads d_head"], hook):
        raise NotImplementedError

    raise NotImplementedError
"""),
    solution=source("""
def mean_ablation_loss_increase(model, dataset, head: int) -> float:
    L = dataset.list_len
    targets = dataset.toks[:, L + 1 :]
    _, cache = model.run_with_cache(dataset.toks)
    z_mean: Float[Tensor, "seq d_head"] = cache["z", 0][:, :, head].mean(0)

    def hook_fn(z: Float[Tensor, "batch seq n_heads d_head"], hook):
        z = z.clone()
        z[:, :, head] = z_mean
        return z

    logprobs_orig = model(dataset.toks).log_softmax(-1)[:, L:-1]
    logits_ablated = model.run_with_hooks(dataset.toks, fwd_hooks=[(utils.get_act_name("z", 0), hook_fn)])
    logprobs_ablated = logits_ablated.log_softmax(-1)[:, L:-1]
    orig = eindex(logprobs_orig, targets, "batch seq [batch seq]")
    ablated = eindex(logprobs_ablated, targets, "batch seq [batch seq]")
    return (orig - ablated).mean().item()
"""),
    hints=(
        '`cache["z", 0][:, :, head].mean(0)` is the mean z of the head at each position: [seq, d_head].',
        "A hook receives the activation and returns the replacement; clone before editing.",
        "Loss increase = mean over lists and positions of (original - ablated) log-probability "
        "of the correct label.",
    ),
    entry="mean_ablation_loss_increase",
    inputs=("model", "dataset", "head"),
    params=_ablation_params,
    check=_check_ablation,
)

NOTEBOOK_TITLE = "Attention patterns and head ablation"
EXERCISES = (SEP_ATTENDS_MIN, MEAN_ABLATION)
