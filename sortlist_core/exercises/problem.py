"""Problem page: how well the model sorts, measured as the write-up does."""

from __future__ import annotations

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..metrics import correct_logprobs, evaluate, prediction_slice
from ..model import run
from .common import EVAL_PARAMS, cached, eval_toks, source
from .spec import CodeExercise
from .verdict import Verdict, compare


def _params(model: LoadedModel) -> dict:
    return dict(EVAL_PARAMS)


def _logits(model: LoadedModel, params: dict) -> tuple[torch.Tensor, torch.Tensor]:
    toks = eval_toks(model, params)
    return run(model.weights, toks).logits, toks


def _check_correct_probs(model: LoadedModel, params: dict, value) -> Verdict:
    L = model.config.list_len

    def refs():
        logits, toks = _logits(model, params)
        lp = correct_logprobs(logits, toks, L)
        targets = toks[:, L + 1 :, None]
        wrong_axis = logits[:, prediction_slice(L)].softmax(1).gather(-1, targets)[..., 0]
        return lp.exp().numpy(), lp.numpy(), wrong_axis.numpy()

    probs, logprobs, wrong_axis = cached(model, "problem.correct_probs_refs", params, refs)
    return compare(
        value,
        probs,
        ("list", "prediction position"),
        alternatives={
            "These are log-probabilities: the exercise asks for probabilities (take .exp()).": logprobs,
            "You normalised over the sequence axis: softmax / log_softmax must run over the vocabulary "
            "axis (dim=-1).": wrong_axis,
        },
    )


CORRECT_PROBS = CodeExercise(
    id="problem.correct_probs",
    title="Probability on the correct label",
    statement=(
        "For every list in `dataset` and every prediction position (SEP up to the second-to-last "
        "token), return the probability the model puts on the correct next value.\n\n"
        "Do it as the write-up does: slice the logits to the prediction positions, take "
        "`log_softmax` over the vocabulary, pick the target's entry with "
        '`eindex(logprobs, targets, "batch seq [batch seq]")`, then exponentiate. '
        "The targets are the sorted half, `dataset.toks[:, L + 1:]` with `L = dataset.list_len`."
    ),
    starter=source('''
def correct_probs(model, dataset) -> Float[Tensor, "batch list_len"]:
    """model: the TransformerLens model; dataset: a SortedListDataset (dataset.toks [batch seq])."""
    L = dataset.list_len
    raise NotImplementedError
'''),
    solution=source("""
def correct_probs(model, dataset) -> Float[Tensor, "batch list_len"]:
    L = dataset.list_len
    logits = model(dataset.toks)[:, L:-1, :]  # predictions made at SEP .. second-to-last
    targets = dataset.toks[:, L + 1 :]
    logprobs = logits.log_softmax(-1)
    return eindex(logprobs, targets, "batch seq [batch seq]").exp()
"""),
    hints=(
        "The prediction for sorted value i is made one position earlier: logits at positions "
        "L .. 2L-1 predict tokens at L+1 .. 2L.",
        "`logits[:, L:-1]` has shape [batch, L, vocab]; `targets` has shape [batch, L].",
        '`eindex(logprobs, targets, "batch seq [batch seq]")` is '
        "`logprobs.gather(-1, targets[..., None])[..., 0]`.",
    ),
    entry="correct_probs",
    inputs=("model", "dataset"),
    params=_params,
    check=_check_correct_probs,
)


STAT_NAMES = ("loss", "mean", "median", "min")


def _check_summary(model: LoadedModel, params: dict, value) -> Verdict:
    def refs():
        toks = eval_toks(model, params)
        m = evaluate(model, toks)
        expected = np.array([m.loss, m.mean_prob, m.median_prob, m.min_prob], dtype=np.float64)
        sign = expected.copy()
        sign[0] = -sign[0]
        probs = correct_logprobs(run(model.weights, toks).logits, toks, model.config.list_len).exp()
        numpy_median = expected.copy()
        numpy_median[2] = float(np.median(probs.numpy()))
        return expected, sign, numpy_median

    expected, sign, numpy_median = cached(model, "problem.summary_refs", params, refs)
    alternatives = {
        "Your loss has the wrong sign: the cross-entropy loss is minus the mean log-probability of the "
        "correct label.": sign,
        "Your median averages the two middle values (numpy's median); the write-up uses torch's "
        "`.median()`, which returns the lower of the two.": numpy_median,
    }
    verdict = compare(value, expected, ("statistic",), alternatives=alternatives)
    if verdict.passed or verdict.got is None or verdict.got.shape != expected.shape:
        return verdict
    wrong = [n for n, g, e in zip(STAT_NAMES, verdict.got, expected) if abs(g - e) > 1e-3 * max(abs(e), 1e-2)]
    if wrong and verdict.message.startswith("Outside tolerance"):
        detail = ", ".join(
            f"{n} {verdict.got[STAT_NAMES.index(n)]:.4g} (expected {expected[STAT_NAMES.index(n)]:.4g})"
            for n in wrong
        )
        return Verdict(False, f"Wrong {', '.join(wrong)}: {detail}.", expected, verdict.got)
    return verdict


SUMMARY = CodeExercise(
    id="problem.summary",
    title="Loss, mean, median and min probability",
    statement=(
        "Return the write-up's four headline numbers on `dataset`, as a tensor of shape [4]: the "
        "average cross-entropy loss, then the mean, median and minimum probability on the correct "
        "label, over every prediction of every list."
    ),
    starter=source('''
def summary(model, dataset) -> Float[Tensor, "4"]:
    """Return torch.tensor([loss, mean_prob, median_prob, min_prob])."""
    raise NotImplementedError
'''),
    solution=source("""
def summary(model, dataset) -> Float[Tensor, "4"]:
    L = dataset.list_len
    logits = model(dataset.toks)[:, L:-1, :]
    targets = dataset.toks[:, L + 1 :]
    logprobs_correct = eindex(logits.log_softmax(-1), targets, "batch seq [batch seq]")
    probs_correct = logprobs_correct.exp()
    loss = -logprobs_correct.mean()
    return torch.stack([loss, probs_correct.mean(), probs_correct.median(), probs_correct.min()])
"""),
    hints=(
        "Start from the probabilities of the previous exercise (and their logs).",
        "The loss is minus the mean log-probability on the correct label.",
        "`torch.stack([...])` turns four 0-d tensors into a tensor of shape [4].",
    ),
    entry="summary",
    inputs=("model", "dataset"),
    params=_params,
    check=_check_summary,
)

NOTEBOOK_TITLE = "The problem: how well does the model sort?"
EXERCISES = (CORRECT_PROBS, SUMMARY)
