"""The Problem page's lesson: prose templates and their values, graders, exercises and URL
parameters (pure functions of analysis results, no streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sortlist_core import positions
from sortlist_core.config import ModelConfig
from sortlist_core.data import format_list
from sortlist_core.exercises import problem as code
from sortlist_core.metrics import Metrics, SequencePrediction
from sortlist_core.well_posed import Skip, clear_answer

from .exercise import CORRECT, Answer, Exercise, Grade, Skipped, as_int
from .spec import Lesson
from .url_params import first_list_param, index_param, seed_param
from .wording import Values, count, head_name, join_words, num, pct, sig_figs

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

TASK_PROSE = """\
This lesson reverse-engineers a small transformer that was trained to **sort lists**, following
the write-up of ARENA's October 2023 monthly algorithmic problem "Sorted List". It is fed
sequences like

`{example_tokens}`

that is, an unsorted list, a separator token `SEP`, then the same values sorted. At `SEP` and at
every token of the sorted half it predicts the *next* token of the sorted list: at `SEP` the
smallest value, at the smallest value the second smallest, and so on. (This example comes from
`SortedListDataset(size=1, list_len={example_len}, max_value={example_max}, seed={example_seed})`;
as strings it is `{example_str_tokens}`.)

The model in use sorts lists of **{list_len} distinct values from 0 to {max_value}**, so its
vocabulary has {d_vocab} tokens (the values, then `SEP` = token {sep_token}) and its context is
{n_ctx} positions long. It is **attention-only**: {n_layers} layer of {n_heads} attention heads
({heads}, named `layer.head` as in the write-up), `d_model` = {d_model}, `d_head` = {d_head},
{normalization}, and no MLPs. Everything it knows how to do happens in those two heads, the
embeddings and the unembedding, which is what makes it possible to understand completely.
"""

DATA_PROSE = """\
**How the data is built.** Each list is a random subset of 0..{max_value}, in random order:
`torch.manual_seed(seed)`, then `argsort(rand(size, max_value + 1))[:, :list_len]` takes the
first {list_len} entries of a random permutation, so values never repeat and every value is
equally likely. The sequence is `unsorted + [SEP] + sorted(unsorted)`: positions 0 to
{last_unsorted} hold the unsorted list, position {sep_position} holds `SEP`, and positions
{first_sorted} to {last_position} the sorted list.

The model sees the whole sequence at once (teacher forcing), but attention is causal, so the
prediction at position *p* only uses tokens 0..*p*. Predictions are read at positions
{sep_position} (`SEP`) to {last_prediction_position}; the last token predicts nothing. The
loss is the average cross-entropy of those {list_len} predictions.
"""

METRICS_PROSE = """\
On the write-up's evaluation set (`SortedListDataset(size={n_lists}, seed={seed})`) the model's
average cross-entropy loss on the sorted half is **{loss}**. The probability it puts on the
correct next token is {mean_prob} on average, with median {median_prob} and minimum
{min_prob}: {mean_vs_median}. It predicts {accuracy} of the sorted-half tokens correctly and sorts
{sequence_accuracy} of the lists without a single mistake.
"""

SHOW_PROSE = """\
The heatmap below is the write-up's `show`: one row per prediction position (the token there
and its position in brackets, `SEP` first), one column per token the model could predict, and
the colour is the predicted probability. **○** marks the correct next token; **✗** marks the
model's top prediction where it is wrong.
"""


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
    """The sequence position (`SEP` = list_len, see `sortlist_core.positions`) whose prediction
    has the lowest accuracy; any tied position counts."""
    list_len = len(per_position_accuracy)
    value = as_int(answer)
    if value is None or value not in positions.prediction_positions(list_len):
        return Grade(False, f"Choose a position from {list_len} (SEP) to {2 * list_len - 1}.")
    accuracy = per_position_accuracy[positions.prediction_row(value, list_len)]
    lowest = min(per_position_accuracy)
    where = positions.describe_prediction_position(value, list_len)
    if accuracy <= lowest:
        return Grade(True, f"{CORRECT} The prediction at {where} has the lowest accuracy, {pct(lowest, 2)}.")
    return Grade(
        False,
        f"The prediction at {where} has accuracy {pct(accuracy, 2)}; at least one position does worse. Check the per-position accuracy chart.",
    )


# The write-up's tiny example: SortedListDataset(size=1, list_len=5, max_value=10, seed=42).
EXAMPLE = {"seed": 42, "size": 1, "list_len": 5, "max_value": 10}


def task_facts(cfg: ModelConfig, example_tokens: Sequence[int], example_str_tokens: Sequence[str]) -> Values:
    """The values of `TASK_PROSE`: the architecture and the write-up's tiny example."""
    return model_facts(cfg) | {
        "example_tokens": str(list(example_tokens)),
        "example_str_tokens": str(list(example_str_tokens)),
        "example_len": EXAMPLE["list_len"],
        "example_max": EXAMPLE["max_value"],
        "example_seed": EXAMPLE["seed"],
    }


def data_facts(cfg: ModelConfig) -> Values:
    """The values of `DATA_PROSE`: where the unsorted and sorted halves sit."""
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
        id=SEP_PREDICTION,
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
        f"{sig_figs(sep_prob)}. The correct token is the list's smallest value, {min(unsorted)}.",
        difficulty=1,
        importance=2,
        context=f"{seed}:{idx}",
    )


def least_accurate_position_exercise(metrics: Metrics, cfg: ModelConfig) -> Exercise | Skipped:
    """The prediction position with the lowest accuracy on the evaluation set; skipped when no
    position is clearly the least accurate (`well_posed`: every position 100%, or a tie)."""
    acc = metrics.per_position_accuracy
    where = [positions.prediction_position(i, cfg.list_len) for i in range(len(acc))]
    # error rates, so that the scale is the largest error (accuracies all sit near 100%)
    if isinstance(clear_answer([1.0 - a for a in acc]), Skip):
        low = min(acc)
        tied = [f"position {p}" for p, a in zip(where, acc) if a == low]
        reason = (
            f"This model is {pct(low, 2)} accurate at every prediction position on the {metrics.n_lists} "
            "evaluation lists, so no position is less accurate than another."
            if len(tied) == len(acc)
            else f"{join_words(tied).capitalize()} tie for the lowest accuracy ({pct(low, 2)}) on the "
            f"{metrics.n_lists} evaluation lists, so the question has no single answer on this model."
        )
        return Skipped(LEAST_ACCURATE_POSITION, "Where does it slip?", reason)
    worst = [p for p, a in zip(where, acc) if a == min(acc)]
    return Exercise(
        id=LEAST_ACCURATE_POSITION,
        title="Where does it slip?",
        question=f"On the evaluation set ({metrics.n_lists} lists), at which position is the model's "
        f"prediction least accurate? Positions are the sequence's: `SEP` is position {cfg.list_len} and makes "
        f"the first prediction, the last prediction is made at position {2 * cfg.list_len - 1}.",
        answer=Answer.select(
            where,
            lambda p: positions.describe_prediction_position(p, cfg.list_len),
            "Prediction made at position",
        ),
        grade=lambda answer: grade_least_accurate_position(answer, acc),
        hints=(
            "The bar chart under the headline metrics shows the accuracy of every prediction position.",
            "Ties count: any position with the lowest accuracy is a right answer.",
        ),
        solution="Lowest accuracy "
        + pct(min(acc), 2)
        + " at "
        + join_words(positions.describe_prediction_position(p, cfg.list_len) for p in worst)
        + ". Per position: "
        + ", ".join(f"{positions.position_label(p, cfg.list_len)}: {pct(a, 2)}" for p, a in zip(where, acc))
        + ".",
        difficulty=1,
        importance=1,
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "problem"
SEED, IDX, OWN = "problem.seed", "problem.idx", "problem.own_list"


URL_PARAMS = (seed_param(SEED), index_param("idx", IDX), first_list_param("lists", OWN))


# --------------------------------------------------------------------------- the page, declared once
SEP_PREDICTION = "problem.sep_prediction"
LEAST_ACCURATE_POSITION = "problem.least_accurate_position"

LESSON = Lesson(
    key=PAGE,
    path="pages/1_problem.py",
    order=10,
    title="Problem",
    icon="🔢",
    quizzes=(SEP_PREDICTION, LEAST_ACCURATE_POSITION),
    code=(code.CORRECT_PROBS, code.SUMMARY),
)
