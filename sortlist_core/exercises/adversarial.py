"""Adversarial page: the learner returns lists and the model in use grades them.

k and n are chosen per model from a trusted search, so the task is reachable on the model the
learner is looking at; if no such failure exists the task switches to low-margin lists and says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..adversarial import FAMILIES, generate_family, predict_lists, score_lists, search_adversarial
from ..checkpoint import LoadedModel
from ..data import InvalidListError, tokens_from_unsorted, validate_list
from ..metrics import prediction_slice
from ..model import prediction_logits
from .common import cached, source
from .spec import CodeExercise
from .verdict import Verdict

N_LISTS = 10
K_WANTED = 3
SEP_MIN_RATE = 0.02  # a "high" window counts as failing when SEP is wrong on >= 2% of its lists


def _as_lists(value: Any) -> list | None:
    """The learner's lists as Python lists, or None when they are not a list of lists."""
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim == 2 else None
    if isinstance(value, tuple):  # several arrays: one list each
        return [np.asarray(v).tolist() for v in value]
    if isinstance(value, list) and all(isinstance(x, list) for x in value):
        return value
    return None


def _split_valid(model: LoadedModel, value: Any, n: int) -> tuple[list[list[int]], list[str], str]:
    """(valid lists, problems with the invalid ones, a note about extra lists)."""
    cfg = model.config
    lists = _as_lists(value)
    if lists is None:
        raise TypeError(
            f"Your function returned {type(value).__name__}; return a list of lists of {cfg.list_len} ints."
        )
    note = ""
    if len(lists) > n:
        note = f" Only the first {n} of your {len(lists)} lists count."
        lists = lists[:n]
    valid, problems, seen = [], [], {}
    for i, lst in enumerate(lists):
        values = [int(v) if isinstance(v, float) and float(v).is_integer() else v for v in lst]
        try:
            validate_list(values, cfg.list_len, cfg.max_value)
        except InvalidListError as exc:
            problems.append(f"list {i} is invalid: {exc}")
            continue
        if tuple(values) in seen:  # each list counts once
            problems.append(f"list {i} repeats list {seen[tuple(values)]}")
            continue
        seen[tuple(values)] = i
        valid.append(values)
    return valid, problems, note


def _margins(model: LoadedModel, lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(smallest logit margin over positions, number of wrong positions) per list."""
    margin, n_bad = score_lists(model, torch.tensor(lists, dtype=torch.long))
    return margin.numpy(), n_bad.numpy()


def _candidate_margins(model: LoadedModel, n_per_family: int = 1000, seed: int = 0) -> np.ndarray:
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    batch = torch.cat([generate_family(f, n_per_family, cfg.list_len, cfg.max_value, g) for f in FAMILIES])
    return score_lists(model, torch.unique(batch, dim=0))[0].numpy()  # distinct lists only


def _margin_bar(margins: np.ndarray) -> float:
    """The margin bar that K_WANTED of these lists clear (rounded up a hair, so they still do)."""
    return round(float(np.sort(margins)[K_WANTED - 1]) + 1e-4, 4)


def _wrong_task(base: dict, goal: str, **extra: Any) -> dict:
    """The task's parameters where this model gets some lists wrong: find such lists."""
    return base | extra | {"mode": "wrong", "margin": 0.0, "goal": goal}


def _margin_task(base: dict, margins: np.ndarray, goal: str, **extra: Any) -> dict:
    """The task's parameters where this model got every list we tried right: lists whose logit
    margin is at most the bar `K_WANTED` of these `margins` clear (`goal` has `{margin}`)."""
    margin = _margin_bar(margins)
    return base | extra | {"mode": "margin", "margin": margin, "goal": goal.format(margin=margin)}


def _verdict(hits: int, n_valid: int, what: str, k: int, details: str) -> Verdict:
    """`hits` of the learner's `n_valid` valid lists do `what` the task asks; `k` of them pass."""
    passed = hits >= k
    message = f"{hits} of your {n_valid} valid lists {what} (need {k}).{details}"
    return Verdict(passed, ("Correct: " if passed else "Not yet: ") + message)


def _margin_to_best_other(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[batch]: the target's logit minus the best other logit (< 0: the prediction is wrong)."""
    correct = logits.gather(-1, target[:, None])[:, 0]
    return correct - logits.scatter(-1, target[:, None], float("-inf")).max(-1).values


def _fool_params(model: LoadedModel) -> dict:
    def compute() -> dict:
        cfg = model.config
        found = len(search_adversarial(model, budget=4000, seed=0).examples)
        base = {"n": N_LISTS, "list_len": cfg.list_len, "max_value": cfg.max_value}
        if found:
            goal = (
                "are sorted wrongly by the model (some prediction in the sorted half is not the right value)"
            )
            return _wrong_task(base, goal, k=min(K_WANTED, found))
        goal = (
            "are hard for the model: their logit margin (correct logit minus the best other logit, at "
            "the worst position) is at most {margin}. This model sorted every list right in a "
            "4,000-list search, so no list may exist that it sorts wrongly; aim for the hardest ones"
        )
        return _margin_task(base, _candidate_margins(model), goal, k=K_WANTED)

    return dict(cached(model, "adversarial.fool_params", {}, compute))


def _describe(model: LoadedModel, lst: list[int]) -> str:
    p = predict_lists(model, [lst])[0]
    return f"{lst} -> {p.predicted}"


def _check_fool(model: LoadedModel, params: dict, value: Any) -> Verdict:
    n, k = params["n"], params["k"]
    try:
        valid, problems, note = _split_valid(model, value, n)
    except TypeError as exc:
        return Verdict(False, str(exc))
    problem_text = (
        (" " + "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "") + ".") if problems else ""
    )
    if not valid:
        return Verdict(False, f"None of your lists is valid.{problem_text}{note}")
    margin, n_bad = _margins(model, valid)
    if params["mode"] == "wrong":
        hits = [lst for lst, b in zip(valid, n_bad) if b > 0]
        what = "are sorted wrongly"
    else:
        hits = [lst for lst, m in zip(valid, margin) if m <= params["margin"]]
        what = f"have a logit margin of at most {params['margin']}"
    shown = "; ".join(_describe(model, lst) for lst in hits[:2])
    example = f" For example {shown}." if hits else ""
    return _verdict(len(hits), len(valid), what, k, f"{example}{problem_text}{note}")


FOOL = CodeExercise(
    id="adversarial.fool_model",
    title="Lists the model sorts wrongly",
    statement=(
        "Return up to {n} lists (each {list_len} distinct ints in 0..{max_value}) such that at least "
        "{k} of them {goal}. Invalid lists are reported and do not count.\n\n"
        "The write-up suggests where to look: values all near the top of the range (SEP cannot find "
        "the minimum there) and large gaps between consecutive values (x attends to itself instead "
        "of the next larger value). You may use `model` to test candidates before returning them."
    ),
    starter=source('''
def find_adversarial(model, n: int, list_len: int, max_value: int) -> list[list[int]]:
    """Return up to n lists of list_len distinct values in 0..max_value."""
    raise NotImplementedError
'''),
    solution=source("""
def find_adversarial(model, n: int, list_len: int, max_value: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(0)
    V = max_value + 1
    candidates = []
    for width in range(list_len, V + 1):  # values drawn from a window at the top, then at the bottom
        for top in (True, False):
            keys = torch.rand(100, V, generator=g)
            if top:
                keys[:, : V - width] = 2.0
            else:
                keys[:, width:] = 2.0
            candidates.append(keys.argsort(-1)[:, :list_len])
    # one large gap: half the values at the bottom, half at the top
    keys = torch.rand(2000, V, generator=g)
    keys[:, V // 4 : 3 * V // 4] = 2.0
    candidates.append(keys.argsort(-1)[:, :list_len])
    unsorted = torch.unique(torch.cat(candidates), dim=0)  # each list once
    sep = torch.full((len(unsorted), 1), max_value + 1)
    toks = torch.cat([unsorted, sep, unsorted.sort(-1).values], dim=1)
    with torch.no_grad():
        logits = model(toks)[:, list_len:-1]  # [batch list_len d_vocab]
    targets = toks[:, list_len + 1 :]
    correct = eindex(logits, targets, "batch seq [batch seq]")
    best_other = logits.scatter(-1, targets[..., None], float("-inf")).max(-1).values
    margin = (correct - best_other).min(-1).values  # < 0: some prediction is wrong
    return unsorted[margin.argsort()[:n]].tolist()  # the hardest lists first
"""),
    hints=(
        "A list's tokens are `[unsorted, SEP, sorted]` with SEP = max_value + 1.",
        "Score many candidates at once: the predictions are `model(toks)[:, list_len:-1].argmax(-1)`.",
        "Try lists whose values all lie in a narrow window near the top of the range.",
    ),
    entry="find_adversarial",
    inputs=("model", "n", "list_len", "max_value"),
    params=_fool_params,
    check=_check_fool,
)


@torch.inference_mode()
def _sep_stats(model: LoadedModel, low: int, n: int = 500, seed: int = 0) -> tuple[float, np.ndarray]:
    """(SEP error rate, SEP margins) on random lists with every value >= low."""
    cfg = model.config
    V = cfg.max_value + 1
    g = torch.Generator().manual_seed(seed + low)
    keys = torch.rand(n, V, generator=g)
    keys[:, :low] = 2.0
    toks = tokens_from_unsorted(torch.unique(keys.argsort(-1)[:, : cfg.list_len], dim=0), cfg.max_value)
    L = cfg.list_len
    logits = prediction_logits(model.weights, toks, slice(L, L + 1))[:, 0]  # at SEP
    margin = _margin_to_best_other(logits, toks[:, L + 1]).numpy()
    return float((margin < 0).mean()), margin


def _sep_params(model: LoadedModel) -> dict:
    def compute() -> dict:
        cfg = model.config
        base = {"n": N_LISTS, "k": K_WANTED, "list_len": cfg.list_len, "max_value": cfg.max_value}
        lows = range(cfg.max_value // 2, cfg.max_value - cfg.list_len + 2)
        for low in lows:
            rate, _ = _sep_stats(model, low)
            if rate >= SEP_MIN_RATE:
                goal = (
                    f"the prediction at SEP (which should be the list's smallest value) is wrong. On this "
                    f"model about {rate:.0%} of random lists with every value >= {low} already fail at "
                    f"SEP; search among them"
                )
                return _wrong_task(base, goal, low=low)
        low = cfg.max_value // 2
        goal = (
            "SEP's logit margin (the smallest value's logit minus the best other logit) is at most "
            "{margin}. This model found the minimum at SEP in every high-value list we tried, so aim "
            "for the lists where it is least sure"
        )
        return _margin_task(base, _sep_stats(model, low)[1], goal, low=low)

    return dict(cached(model, "adversarial.sep_params", {}, compute))


def _check_sep(model: LoadedModel, params: dict, value: Any) -> Verdict:
    n, k, low = params["n"], params["k"], params["low"]
    cfg = model.config
    try:
        valid, problems, note = _split_valid(model, value, n)
    except TypeError as exc:
        return Verdict(False, str(exc))
    too_low = [lst for lst in valid if min(lst) < low]
    if too_low:
        problems.append(f"{len(too_low)} list(s) hold a value below {low}, e.g. {too_low[0]}")
        valid = [lst for lst in valid if min(lst) >= low]
    problem_text = (" " + "; ".join(problems[:3]) + ".") if problems else ""
    if not valid:
        return Verdict(False, f"None of your lists is valid with every value >= {low}.{problem_text}{note}")
    L = cfg.list_len
    toks = tokens_from_unsorted(torch.tensor(valid), cfg.max_value)
    with torch.inference_mode():
        logits = prediction_logits(model.weights, toks, prediction_slice(L))[:, 0]
    target = toks[:, L + 1]
    predicted = logits.argmax(-1)
    margin = _margin_to_best_other(logits, target).numpy()
    if params["mode"] == "wrong":
        hit = (predicted != target).numpy()
        what = "make SEP predict something other than the smallest value"
    else:
        hit = margin <= params["margin"]
        what = f"give SEP a margin below {params['margin']}"
    examples = [
        f"{lst}: SEP predicts {int(p)} instead of {int(t)}"
        if int(p) != int(t)
        else f"{lst}: SEP's margin is {float(m):.3g}"
        for lst, p, t, m, h in zip(valid, predicted, target, margin, hit)
        if h
    ][:2]
    example = (" For example " + "; ".join(examples) + ".") if examples else ""
    return _verdict(int(hit.sum()), len(valid), what, k, f"{example}{problem_text}{note}")


SEP_FAILS = CodeExercise(
    id="adversarial.sep_fails",
    title="High values that make SEP fail",
    statement=(
        "The positional QK plot suggests SEP only finds the minimum while it is small enough. "
        "Return up to {n} lists (each {list_len} distinct ints) whose values are all >= {low}, such "
        "that for at least {k} of them {goal}."
    ),
    starter=source('''
def sep_failures(model, n: int, low: int, list_len: int, max_value: int) -> list[list[int]]:
    """Up to n lists of list_len distinct values, all in low .. max_value."""
    raise NotImplementedError
'''),
    solution=source("""
def sep_failures(model, n: int, low: int, list_len: int, max_value: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(0)
    keys = torch.rand(5000, max_value + 1, generator=g)
    keys[:, :low] = 2.0  # never pick a value below `low`
    unsorted = torch.unique(keys.argsort(-1)[:, :list_len], dim=0)  # each list once
    sep = torch.full((len(unsorted), 1), max_value + 1)
    toks = torch.cat([unsorted, sep, unsorted.sort(-1).values], dim=1)
    with torch.no_grad():
        at_sep = model(toks)[:, list_len]  # logits of the prediction made at SEP
    smallest = unsorted.min(-1).values
    correct = at_sep.gather(-1, smallest[:, None])[:, 0]
    best_other = at_sep.scatter(-1, smallest[:, None], float("-inf")).max(-1).values
    margin = correct - best_other  # < 0: SEP predicts something else
    return unsorted[margin.argsort()[:n]].tolist()
"""),
    hints=(
        "Sample many random lists from low .. max_value and keep those the model gets wrong at SEP.",
        "Rank candidates by margin (correct logit minus the best other logit) and return the lowest.",
        "The prediction made at SEP is `model(toks)[:, list_len].argmax(-1)`; it should equal the minimum.",
    ),
    entry="sep_failures",
    inputs=("model", "n", "low", "list_len", "max_value"),
    params=_sep_params,
    check=_check_sep,
)

NOTEBOOK_TITLE = "Adversarial examples"
EXERCISES = (FOOL, SEP_FAILS)
