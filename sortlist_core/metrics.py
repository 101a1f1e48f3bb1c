"""How well the model sorts: loss, probability on the correct label, accuracy, and the
per-sequence probability matrix the write-up's `show` draws."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int
from torch import Tensor

from .checkpoint import LoadedModel
from .data import make_vocab
from .model import Forward, run


def prediction_slice(list_len: int) -> slice:
    """Positions SEP .. second-to-last: each predicts the next sorted value."""
    return slice(list_len, 2 * list_len)


def correct_logprobs(
    logits: Float[Tensor, "batch seq vocab"], toks: Int[Tensor, "batch seq"], list_len: int
) -> Float[Tensor, "batch list_len"]:
    logprobs = logits[:, prediction_slice(list_len)].log_softmax(-1)
    return logprobs.gather(-1, toks[:, list_len + 1 :, None])[..., 0]


@dataclass(frozen=True)
class Metrics:
    """Headline figures on a batch. `per_position_accuracy[i]` is the accuracy of predicting the
    i-th sorted value (position `list_len + i`); `sequence_accuracy` counts fully sorted lists."""

    loss: float
    mean_prob: float
    median_prob: float
    min_prob: float
    accuracy: float
    sequence_accuracy: float
    per_position_accuracy: list[float]
    n_lists: int

    @property
    def worst_position(self) -> int:
        """The prediction position (0 = the one made at SEP) with the lowest accuracy (ties: the first)."""
        return int(np.argmin(self.per_position_accuracy))

    @property
    def worst_position_accuracy(self) -> float:
        return self.per_position_accuracy[self.worst_position]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def metrics_from_forward(fwd: Forward, toks: Int[Tensor, "batch seq"], list_len: int) -> Metrics:
    lp = correct_logprobs(fwd.logits, toks, list_len)
    probs = lp.exp()
    correct = fwd.logits[:, prediction_slice(list_len)].argmax(-1) == toks[:, list_len + 1 :]
    return Metrics(
        loss=float(-lp.mean()),
        mean_prob=float(probs.mean()),
        # torch.median returns the lower middle value, as the write-up's `.median()` did
        median_prob=float(probs.flatten().median()),
        min_prob=float(probs.min()),
        accuracy=float(correct.float().mean()),
        sequence_accuracy=float(correct.all(-1).float().mean()),
        per_position_accuracy=correct.float().mean(0).tolist(),
        n_lists=int(toks.shape[0]),
    )


def evaluate(model: LoadedModel, toks: Int[Tensor, "batch seq"]) -> Metrics:
    """Loss, mean/median/min probability on the correct label and accuracies on `toks`."""
    return metrics_from_forward(run(model.weights, toks), toks, model.config.list_len)


@dataclass(frozen=True)
class SequencePrediction:
    """One list through the model: what `show` plots.

    probs [list_len vocab]: probability of each vocab item at each prediction position;
    targets / predicted [list_len]: correct and argmax tokens; `wrong` lists the indices
    (0 = the prediction made at SEP) where they differ.
    """

    unsorted: list[int]
    targets: list[int]
    predicted: list[int]
    probs: np.ndarray
    wrong: list[int]
    position_labels: list[str]
    vocab: list[str]

    @property
    def correct(self) -> bool:
        return not self.wrong

    def to_dict(self) -> dict:
        return {
            "unsorted": self.unsorted,
            "target": self.targets,
            "predicted": self.predicted,
            "wrong_positions": self.wrong,
            "probs": np.round(self.probs, 6).tolist(),
            "position_labels": self.position_labels,
            "vocab": self.vocab,
        }


def sequence_predictions(model: LoadedModel, toks: Int[Tensor, "batch seq"]) -> list[SequencePrediction]:
    """Per-sequence probability matrices with targets and wrong positions (`show_multiple`)."""
    cfg = model.config
    fwd = run(model.weights, toks)
    probs = fwd.logits[:, prediction_slice(cfg.list_len)].softmax(-1)
    return predictions_from_probs(probs, toks, cfg.list_len, cfg.max_value)


def predictions_from_probs(
    probs: Float[Tensor, "batch list_len vocab"],
    toks: Int[Tensor, "batch seq"],
    list_len: int,
    max_value: int,
) -> list[SequencePrediction]:
    vocab = make_vocab(max_value)
    predicted = probs.argmax(-1)
    out = []
    for row, p, pred in zip(toks.tolist(), probs, predicted.tolist(), strict=True):
        targets = row[list_len + 1 :]
        labels = [f"{vocab[row[j]]} ({j})" for j in range(list_len, 2 * list_len)]
        out.append(
            SequencePrediction(
                unsorted=row[:list_len],
                targets=targets,
                predicted=pred,
                probs=p.numpy().copy(),
                wrong=[i for i, (t, q) in enumerate(zip(targets, pred, strict=True)) if t != q],
                position_labels=labels,
                vocab=vocab,
            )
        )
    return out


def predict_lists(model: LoadedModel, lists: Sequence[Sequence[int]]) -> list[SequencePrediction]:
    """Predictions for any lists (the learner's own, a dataset's), with every wrong position
    (`SequencePrediction.wrong`): the one way the app and the analyses predict on given lists."""
    from .data import CustomSortedListDataset

    toks = CustomSortedListDataset([list(x) for x in lists], model.config.max_value).toks
    return sequence_predictions(model, toks)
