"""Explain page: the learner's hypothesis, spliced into the model, graded causally.

Both exercises run the learner's code with the hypothesis harness appended
(`sortlist_core.explain.hypothesis.HARNESS`): it calls their `attention`/`handles`/`ov` for every
head and returns plain arrays, which are checked and spliced here, in the trusted process.
"""

from __future__ import annotations

import math

import torch

from ..checkpoint import LoadedModel
from ..data import InvalidListError, tokens_from_unsorted, validate_list
from ..explain.breakdown import format_runs, prepared_for
from ..explain.hypothesis import HARNESS, HARNESS_ENTRY, Hypothesis, HypothesisError
from ..explain.references import NEXT_VALUE_ATTENTION, reference_hypothesis
from ..explain.run import INPUTS, decode_value, job_params
from ..explain.score import hypothesis_logits
from ..explain.splice import splice_context, spliced_logits
from ..model import token_tables
from .spec import CodeExercise
from .verdict import Verdict

# The goal of exercise 1 is this share of what the reference recovers, rounded down to 5 points.
GOAL_SHARE = 0.9


def attention_goal(model: LoadedModel) -> dict:
    """The goal X of "recover at least X% with attention alone", from what the next-value-up
    reference (attention only) recovers on this model. Where mean-ablating the heads costs
    nothing (an untrained model), no fraction is defined: the goal is the reference's loss."""
    from ..explain.breakdown import explain

    prep = prepared_for(model)
    card = explain(prep, reference_hypothesis(model, "next_value", prep.ctx.toks)).card
    recovered = card.recovered
    if not math.isfinite(recovered):
        loss = round(card.hypothesis.loss * 1.01 + 1e-3, 4)
        return {
            **job_params(model, "attention"),
            "goal_pct": None,
            "goal_loss": loss,
            "goal_text": f"a loss of at most **{loss}** (mean-ablating this model's heads costs nothing, "
            "so no fraction of loss recovered is defined)",
        }
    pct = min(recovered, 1.0) * 100
    # 90% of the reference, in steps of 5 points; never above what the reference itself reaches
    goal = int(pct * GOAL_SHARE // 5) * 5 if pct >= 10 else math.floor(pct) - 1
    return {
        **job_params(model, "attention"),
        "goal_pct": goal,
        "goal_loss": None,
        "goal_text": f"at least **{goal}%** of the loss (attending to the next value up recovers "
        f"{recovered:.1%} on this model)",
    }


def _check_attention(model: LoadedModel, params: dict, value) -> Verdict:
    from ..explain.breakdown import explain

    try:
        hyp = decode_value(model, value, "attention")
    except HypothesisError as exc:
        return Verdict(False, str(exc))
    result = explain(prepared_for(model), hyp)
    card = result.card
    numbers = (
        f"loss {card.hypothesis.loss:.4f} against the model's {card.model.loss:.4f} and "
        f"{card.ablated.loss:.4f} with every head mean-ablated; accuracy {card.hypothesis.accuracy:.1%}"
    )
    if params["goal_pct"] is None:
        got, goal, unit = card.hypothesis.loss, params["goal_loss"], ""
        passed, said = got <= goal, f"Your attention gives {numbers}"
    else:
        got, goal, unit = card.recovered * 100, params["goal_pct"], "%"
        passed, said = got >= goal, f"Your attention alone recovers {got:.1f}% of the loss ({numbers})"
    if passed:
        return Verdict(True, f"Correct: {said}. Goal met.")
    where = f" It gets values {format_runs(result.wrong_ranges)} wrong." if result.wrong_ranges else ""
    return Verdict(
        False,
        f"{said}; the goal is {goal}{unit}.{where} Look at the positions and lists where it breaks above.",
    )


ATTENTION_STARTER = '''import torch


def attention(tokens, head):
    """tokens: [batch, seq] token ids (SEP is max_value + 1). Return this head's attention pattern,
    [batch, query_pos, key_pos]: each row sums to 1, no weight after the query."""
    raise NotImplementedError
'''

ATTENTION_ALONE = CodeExercise(
    id="explain.attention_alone",
    title="Recover the loss with attention alone",
    statement=(
        "Write `attention(tokens, head)` so that splicing your patterns into **every** head reaches "
        "{goal_text} on the 500 evaluation lists. `handles` and `ov` are ignored here."
    ),
    starter=ATTENTION_STARTER,
    solution=NEXT_VALUE_ATTENTION.lstrip(),
    hints=(
        "Only the sorted half's queries matter (SEP up to the second-to-last token); let the others "
        "attend uniformly over the visible keys: `torch.tril(torch.ones(seq, seq))`, rows divided by their sums.",
        "For a query holding value d, find the smallest value above d among `tokens[:, :list_len]` "
        "(`torch.where(keys > d, keys, big).argmin(-1)`) and put all the weight on that key.",
        "SEP is below every value: its next value up is the list's minimum. The largest value has "
        "nothing above it: let it attend to itself.",
    ),
    entry=HARNESS_ENTRY,
    inputs=INPUTS,
    params=attention_goal,
    check=_check_attention,
    harness=HARNESS,
)


# --------------------------------------------------------------------------- disagreement


def disagreement_params(model: LoadedModel) -> dict:
    return {
        **job_params(model, "disagree"),
        "list_len": model.config.list_len,
        "max_value": model.config.max_value,
    }


@torch.inference_mode()
def _predictions(model: LoadedModel, hyp: Hypothesis, values: list[int]) -> tuple[list[int], list[int], dict]:
    """(the model's, the hypothesis's) sorted-half predictions on one list, and per head the
    predictions with the hypothesis spliced into that head alone (the eval set's means)."""
    toks = tokens_from_unsorted(torch.tensor([values]), model.config.max_value)
    prep = prepared_for(model)
    ctx = splice_context(
        model.weights, toks, model.config.list_len, token_tables(model.weights), prep.ctx.mean_out
    )
    model_pred = spliced_logits(ctx).argmax(-1)[0].tolist()
    hyp_pred = hypothesis_logits(ctx, hyp).argmax(-1)[0].tolist()
    solo = {
        h: hypothesis_logits(ctx, hyp, heads=(h,)).argmax(-1)[0].tolist() for h in range(model.config.n_heads)
    }
    return model_pred, hyp_pred, solo


def _check_disagreement(model: LoadedModel, params: dict, value) -> Verdict:
    try:
        hyp = decode_value(model, value, "disagree")
    except HypothesisError as exc:
        return Verdict(False, str(exc))
    values, head = hyp.disagreement
    cfg = model.config
    try:
        validate_list(list(values), cfg.list_len, cfg.max_value)
    except InvalidListError as exc:
        return Verdict(False, f"`disagreement()` returned a list the model cannot sort: {exc}.")
    names = cfg.head_names
    model_pred, hyp_pred, solo = _predictions(model, hyp, list(values))
    differ = [i for i, (a, b) in enumerate(zip(model_pred, hyp_pred)) if a != b]
    shown = ", ".join(map(str, values))
    if not differ:
        return Verdict(
            False,
            f"On [{shown}] your hypothesis and the model predict the same sorted list "
            f"({', '.join(map(str, model_pred))}). Pick one of the lists where they differ most, above.",
        )
    responsible = [h for h in range(cfg.n_heads) if any(solo[h][i] != model_pred[i] for i in differ)]
    pos = differ[0]
    where = "SEP" if pos == 0 else f"the token after {sorted(values)[pos - 1]}"
    detail = f"at {where} the model predicts {model_pred[pos]} and your hypothesis {hyp_pred[pos]}"
    if head in responsible:
        return Verdict(
            True,
            f"Correct: on [{shown}] {detail}; splicing your hypothesis into head {names[head]} alone already "
            "changes that prediction, so it is responsible.",
        )
    others = ", ".join(names[h] for h in responsible) or "no single head (only the heads together)"
    return Verdict(
        False,
        f"On [{shown}] {detail}, but splicing your hypothesis into head {names[head]} alone leaves the "
        f"model's predictions there unchanged. Responsible: {others}.",
    )


DISAGREEMENT_STARTER = '''import torch


def attention(tokens, head):
    """Your hypothesis (load one above, or write your own)."""
    raise NotImplementedError


def disagreement():
    """A list (list_len distinct values) on which your hypothesis and the model predict different
    values, and the head (0, 1, ...) whose spliced attention causes it."""
    raise NotImplementedError
'''

DISAGREEMENT_SOLUTION = '''import torch

# Inside your functions, `model` is the model in use (TransformerLens names), as in the other
# code exercises.


def attention(tokens, head):
    """A deliberately wrong hypothesis: every query attends to the first token only."""
    batch, seq = tokens.shape
    pattern = torch.zeros(batch, seq, seq)
    pattern[:, :, 0] = 1.0
    return pattern


def _predictions(tokens, heads):
    """The sorted half's predictions with `attention` spliced into `heads` (a hook on the pattern)."""
    list_len = (tokens.shape[1] - 1) // 2

    def patch(pattern, hook):
        pattern = pattern.clone()
        for h in heads:
            pattern[:, h] = attention(tokens, h)
        return pattern

    logits = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.attn.hook_pattern", patch)])
    return logits[:, list_len:-1].argmax(-1)


def disagreement():
    """Search random lists for a prediction that the whole hypothesis changes and one head alone
    already changes."""
    list_len = (model.cfg.n_ctx - 1) // 2
    n_values = model.cfg.d_vocab - 1
    g = torch.Generator().manual_seed(0)
    lists = torch.stack([torch.randperm(n_values, generator=g)[:list_len] for _ in range(64)])
    tokens = torch.cat([lists, torch.full((64, 1), n_values), lists.sort(-1).values], 1)
    with torch.no_grad():
        clean = _predictions(tokens, [])
        whole = _predictions(tokens, range(model.cfg.n_heads)) != clean
        for head in range(model.cfg.n_heads):
            both = whole & (_predictions(tokens, [head]) != clean)
            if both.any():
                return lists[both.any(-1).nonzero()[0, 0]].tolist(), head
    raise ValueError("no disagreement found among these lists")
'''

DISAGREEMENT = CodeExercise(
    id="explain.disagreement",
    title="Find where your explanation and the model disagree",
    statement=(
        "Give a hypothesis and `disagreement()`, which returns a list of {list_len} distinct values in "
        "0..{max_value} on which your spliced hypothesis and the model predict a different value "
        "somewhere, and the head responsible: splicing your hypothesis into that head alone must "
        "already change one of those predictions."
    ),
    starter=DISAGREEMENT_STARTER,
    solution=DISAGREEMENT_SOLUTION,
    hints=(
        "The five lists where your hypothesis differs most from the model are listed above, with the "
        "predictions of each: start from one of them.",
        "To find the head, splice into one head at a time: return the model's own pattern "
        "(`model.run_with_cache(tokens)[1]['pattern', 0][:, head]`) for the other heads.",
    ),
    entry=HARNESS_ENTRY,
    inputs=INPUTS,
    params=disagreement_params,
    check=_check_disagreement,
    harness=HARNESS,
)

NOTEBOOK_TITLE = "Explain it: test your explanation of the whole model"
EXERCISES = (ATTENTION_ALONE, DISAGREEMENT)
__all__ = ["EXERCISES", "NOTEBOOK_TITLE", "attention_goal", "disagreement_params"]
