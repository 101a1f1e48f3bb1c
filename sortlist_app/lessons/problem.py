"""The Problem page's lesson: template values, graders, exercises and URL parameters
(pure functions of analysis results, no streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sortlist_core.circuits import position_labels
from sortlist_core.config import ModelConfig
from sortlist_core.data import format_list
from sortlist_core.metrics import Metrics, SequencePrediction

from .exercise import CORRECT, Answer, Exercise, Grade, as_int
from .url_params import Param, decode_indices, decode_lists, encode_lists, seed_param, valid_lists
from .wording import Values, count, head_name, join_words, num, pct


def model_facts(cfg: ModelConfig) -> Values:
    """Architecture sentence pieces."""
    return {
        "list_len": cfg.list_len,
        "max_value": cfg.max_value,
        "n_heads": cfg.n_heads,
        "n_layers": cfg.n_layers,
        "d_model": cfg.d_model,
        "d_head": cfg.d_head,
        "d_vocab": cfg.d_vocab,
        "n_ctx": cfg.n_ctx,
        "sep_token": cfg.sep_token,
        "sep_position": cfg.list_len,
        "last_prediction_position": 2 * cfg.list_len - 1,
        "heads": join_words(head_name(cfg.head_names, h) for h in range(cfg.n_heads)),
        "normalization": "with LayerNorm" if cfg.normalization == "LN" else "without LayerNorm",
    }


def grade_sep_prediction(answer: Any, predicted: int, unsorted: Sequence[int]) -> Grade:
    """What the model predicts at SEP for one list (its argmax at the SEP position)."""
    value = as_int(answer)
    if value is None:
        return Grade(False, "Enter a whole number: the token the model predicts at SEP.")
    if value == predicted:
        return Grade(True, f"{CORRECT} At SEP the model predicts {predicted}.")
    if value not in unsorted:
        return Grade(
            False,
            "That value is not in the list: the model's prediction at SEP is almost always one of the list's values.",
        )
    return Grade(
        False,
        "Not quite. Read the first row of the probability heatmap (the prediction made at SEP): which token has the highest probability?",
    )


def grade_least_accurate_position(answer: Any, per_position_accuracy: Sequence[float]) -> Grade:
    """The prediction position (0 = at SEP) with the lowest accuracy; any tied position counts."""
    value = as_int(answer)
    if value is None or not 0 <= value < len(per_position_accuracy):
        return Grade(False, f"Choose a position between 0 and {len(per_position_accuracy) - 1}.")
    lowest = min(per_position_accuracy)
    if per_position_accuracy[value] <= lowest:
        return Grade(True, f"{CORRECT} Position {value} has the lowest accuracy, {lowest:.1%}.")
    return Grade(
        False,
        f"Position {value} has accuracy {per_position_accuracy[value]:.1%}; at least one position does worse. Check the per-position accuracy table.",
    )


# The write-up's tiny example: SortedListDataset(size=1, list_len=5, max_value=10, seed=42).
EXAMPLE = {"seed": 42, "size": 1, "list_len": 5, "max_value": 10}

# Code exercises for this page (issue 11) live in `sortlist_core/exercises/problem.py`; list them
# here when they exist, so the page renders them after its widget exercises.
CODE_EXERCISES: tuple[str, ...] = (
    "problem.correct_probs",
    "problem.summary",
)


def task_facts(cfg: ModelConfig, example_tokens: Sequence[int], example_str_tokens: Sequence[str]) -> Values:
    """The `problem_task` template: the architecture and the write-up's tiny example."""
    return model_facts(cfg) | {
        "example_tokens": str(list(example_tokens)),
        "example_str_tokens": str(list(example_str_tokens)),
        "example_len": EXAMPLE["list_len"],
        "example_max": EXAMPLE["max_value"],
        "example_seed": EXAMPLE["seed"],
    }


def data_facts(cfg: ModelConfig) -> Values:
    """The `problem_data` template: where the unsorted and sorted halves sit."""
    return model_facts(cfg) | {
        "last_unsorted": cfg.list_len - 1,
        "first_sorted": cfg.list_len + 1,
        "last_position": cfg.n_ctx - 1,
    }


def metric_tiles(metrics: Metrics) -> list[tuple[str, str]]:
    """(label, value) of the headline metrics, in display order."""
    return [
        ("Loss (cross-entropy)", num(metrics.loss)),
        ("Mean p(correct)", num(metrics.mean_prob)),
        ("Median p(correct)", num(metrics.median_prob)),
        ("Min p(correct)", num(metrics.min_prob)),
        ("Token accuracy", pct(metrics.accuracy)),
        ("Lists fully sorted", pct(metrics.sequence_accuracy)),
    ]


def prediction_positions(cfg: ModelConfig) -> list[str]:
    """Labels of the positions that make a prediction (`SEP` and the sorted half but the last)."""
    return position_labels(cfg.list_len)[cfg.list_len : 2 * cfg.list_len]


def own_list_sentence(pred: SequencePrediction) -> str:
    """What the model does with the learner's own list."""
    verdict = "sorts it correctly" if pred.correct else f"gets {count(len(pred.wrong), 'position')} wrong (✗)"
    return f"The model {verdict}: it outputs `{format_list(pred.predicted)}`."


def sep_prediction_exercise(
    pred: SequencePrediction, unsorted: Sequence[int], seed: int, idx: int, cfg: ModelConfig
) -> Exercise:
    """Which token the model predicts at SEP for one dataset list."""
    sep_prob = float(pred.probs[0, pred.predicted[0]])
    return Exercise(
        id="problem.sep_prediction",
        title="What comes out at SEP?",
        question=f"Take list {idx} of the dataset with seed {seed}: `{format_list(unsorted)}`. "
        "Which token does the model predict at the `SEP` position? Reason it out first, then "
        "check the first row of the heatmap.",
        answer=Answer.number(0, cfg.max_value + 1, "Token predicted at SEP"),
        grade=lambda answer: grade_sep_prediction(answer, pred.predicted[0], unsorted),
        hints=(
            "At `SEP` the model starts the sorted list.",
            "The first value of a sorted list is the smallest one.",
        ),
        solution=f"The model predicts **{pred.predicted[0]}** at `SEP`, with probability "
        f"{sep_prob:.3f}. The correct token is the list's smallest value, {min(unsorted)}.",
        difficulty=1,
        importance=2,
        context=f"{seed}:{idx}",
    )


def least_accurate_position_exercise(metrics: Metrics, cfg: ModelConfig) -> Exercise:
    """The prediction position with the lowest accuracy on the evaluation set."""
    acc = metrics.per_position_accuracy
    labels = prediction_positions(cfg)
    worst = [i for i, a in enumerate(acc) if a == min(acc)]
    return Exercise(
        id="problem.least_accurate_position",
        title="Where does it slip?",
        question=f"On the evaluation set ({metrics.n_lists} lists), at which prediction position "
        "is the model least accurate? (Position `SEP` makes the first prediction.)",
        answer=Answer.select(range(cfg.list_len), lambda i: f"position {labels[i]}", "Prediction position"),
        grade=lambda answer: grade_least_accurate_position(answer, acc),
        hints=(
            "The bar chart under the headline metrics shows the accuracy of every prediction position.",
            "Ties count: any position with the lowest accuracy is a right answer.",
        ),
        solution="Lowest accuracy "
        + pct(min(acc), 2)
        + " at "
        + join_words(f"position {labels[i]}" for i in worst)
        + ". Per position: "
        + ", ".join(f"{labels[i]}: {pct(a, 2)}" for i, a in enumerate(acc))
        + ".",
        difficulty=1,
        importance=1,
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "problem"
SEED, IDX, OWN = "problem.seed", "problem.idx", "problem.own_list"


def _decode_idx(text: str, cfg: ModelConfig) -> tuple[int, list[str]]:
    indices, warnings = decode_indices(text)
    return (indices or [0])[0], warnings


def _decode_own(text: str, cfg: ModelConfig) -> tuple[str, list[str]]:
    lists, warnings = decode_lists(text, cfg)
    return (format_list(lists[0]) if lists else ""), warnings


URL_PARAMS = (
    seed_param(SEED),
    Param(
        "idx", IDX, default=lambda c: 0, decode=_decode_idx, encode=lambda v, c: str(int(v)) if v else None
    ),
    Param(
        "lists",
        OWN,
        default=lambda c: "",
        decode=_decode_own,
        encode=lambda v, c: encode_lists(valid_lists([str(v)], c)) or None,
    ),
)
