"""The Attention page's lesson: prose templates and their values, graders, exercises and URL
parameters (pure functions of analysis results, no streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import Float
from numpy import ndarray

from sortlist_core.ablation import AblationResult, importance_contrast
from sortlist_core.attention import AttentionClaims, AttentionMisses
from sortlist_core.circuit_findings import (
    copying_roles,
)
from sortlist_core.circuits import HeadResponsibility
from sortlist_core.config import ModelConfig
from sortlist_core.exercises import attention as code
from sortlist_core.well_posed import DEFAULT_MARGIN, Skip, clear_answer, nearest_first, pick_instance

from .circuits import COPIER, COPY_COUNT
from .exercise import CORRECT, Answer, Exercise, Grade, Skipped, as_int, grade_head_choice
from .spec import Lesson
from .url_params import MAX_LISTS, head_param, indices_param, list_text_param, prediction_position_param
from .wording import MOSTLY, Values, count, head_name, join_words, num, pct, responsibility_facts, sig_figs

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

INTRO_PROSE = """\
Only attention from the sorted half (and `SEP`) matters: that is where predictions are read, and
in a 1-layer model each prediction is the embedding of the token itself plus what the heads copy
from the tokens they attend to. Pick sequences from the evaluation set or type your own; each
view shows both heads of layer 0 (click a head to enlarge it, hover to read the weights). The
table under the views lists, for the chosen head's first sequence, which position each
prediction position attends to most.
"""

OBSERVATIONS_PROSE = """\
**What the patterns show, measured on {claims_n_lists} lists of the evaluation set** (the
write-up's observations, checked by taking each position's most-attended token):

- **`SEP` attends to the smallest value** of the list in {sep_min_per_head}; in at least one
  head for {sep_min_any} of the lists.
- **A token *d* of the sorted half attends most to the next larger value** (the token it must
  predict) in {next_larger_per_head}; in at least one head for {next_larger_any} of the cases.
  {attend_predict_sentence}
- In the remaining {next_larger_miss} ({miss_count}) no head's top token is the next
  larger value. In {miss_skip} of them a head attends most to the value two or three places
  further up the sorted list instead (the write-up's "4 attends more to 7 than to 5", common when
  values lie close together). Yet the model predicts {miss_correct} of those positions
  correctly: attending most to a token does not mean predicting it. The Mystery page explains why.
- {split_sentence}
"""

ABLATION_PROSE = """\
**Which head matters more?** Replace one head's output with its mean over the evaluation set
(per position, as the write-up does) and measure how much the loss rises above its base value
{base_loss}: {mean_ablation_per_head}. Zero-ablation gives {zero_ablation_per_head}.

**Does head {important_head} matter more?** {ablation_verdict_cap}. {ablation_copying}
"""


def attention_facts(claims: AttentionClaims, head_names: Sequence[str]) -> Values:
    return {
        "claims_n_lists": claims.n_lists,
        "sep_min_any": pct(claims.sep_attends_min_any),
        "sep_min_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.sep_attends_min)
        ),
        "sep_best_head": head_names[claims.sep_best_head],
        "next_larger_any": pct(claims.attends_next_larger_any),
        "next_larger_per_head": join_words(
            f"{pct(v)} for {head_name(head_names, h)}" for h, v in enumerate(claims.attends_next_larger)
        ),
        "next_best_head": head_names[claims.next_larger_best_head],
        "next_larger_miss": pct(1 - claims.attends_next_larger_any),
        "attend_predict_sentence": attend_predict_sentence(claims.attends_next_larger_any),
    }


def attend_predict_sentence(next_larger_any: float) -> str:
    """'The heads mostly attend to what they predict' only when more than `MOSTLY` of the cases
    do; below it the sentence says what was measured, not a pattern."""
    if next_larger_any > MOSTLY:
        return (
            "So the heads mostly *attend to what they predict*, which suggests they copy it (the OV/QK page "
            "checks this)."
        )
    return (
        f"At {pct(next_larger_any)} that is not the rule for this model: its heads do not mostly attend to "
        "what they must predict (the OV/QK page shows what they do instead)."
    )


def matters_more_rule() -> str:
    """The rule "head X matters more" is graded and written by (`well_posed.DEFAULT_MARGIN`)."""
    return (
        f"a head matters more when its loss increase beats every other head's by at least "
        f"{pct(DEFAULT_MARGIN, 0)} of the largest increase"
    )


def matters_more(result: AblationResult) -> bool:
    """Whether one head matters more by `matters_more_rule` (the exercise is posed then)."""
    return not isinstance(clear_answer(result.mean), Skip)


def ablation_facts(result: AblationResult, head_names: Sequence[str]) -> Values:
    contrast = importance_contrast(result)
    top, low, ratio = contrast.most_important, contrast.least_important, contrast.cost_ratio
    times = "many" if ratio == float("inf") else f"{ratio:.1f}"
    if matters_more(result):
        verdict = (
            f"yes, by the rule ({matters_more_rule()}): mean-ablating head {head_names[top]} raises the loss "
            f"{times} times as much as ablating head {head_names[low]}"
        )
    else:
        verdict = (
            f"no head does by the rule ({matters_more_rule()}): the heads' mean-ablation costs are within "
            f"{pct(DEFAULT_MARGIN, 0)} of the largest of each other"
        )
    return {
        "base_loss": num(result.base_loss),
        "mean_ablation_per_head": join_words(
            f"{num(result.mean[h])} for {head_name(head_names, h)}" for h in range(len(head_names))
        ),
        "zero_ablation_per_head": join_words(
            f"{num(result.zero[h])} for {head_name(head_names, h)}" for h in range(len(head_names))
        ),
        "important_head": head_names[top],
        "less_important_head": head_names[low],
        "important_increase": num(result.mean[top]),
        "less_important_increase": num(result.mean[low]),
        "ablation_verdict": verdict,
        "ablation_verdict_cap": verdict[0].upper() + verdict[1:],
    }


def ablation_copying_sentence(
    result: AblationResult, resp: HeadResponsibility, head_names: Sequence[str], split_shown: bool = True
) -> str:
    """Relate the ablation ranking to which head copies most of the vocabulary (held back, like
    the split itself, until the OV/QK page's exercises that ask it are answered)."""
    if not split_shown:
        return (
            "Whether it is also the head that copies most of the vocabulary is a question on the OV/QK page."
        )
    important = result.most_important_head
    major = copying_roles(resp).major
    copied = f"{len(resp.copies[major])} of the {len(resp.owner)} values"
    if important == major:
        return f"That fits the OV circuits: head {head_names[major]} is also the stronger copier of most of the vocabulary ({copied})."
    return (
        f"Surprisingly, the stronger copier of most of the vocabulary is a different head, "
        f"head {head_names[major]} ({copied}): look at the OV/QK page to see why."
    )


def attention_miss_facts(misses: AttentionMisses) -> Values:
    """Among sorted-half positions where *no* head attends most to the next larger value, how
    often is the prediction still right? (`attention.next_larger_misses_on` on the eval set.)"""
    return {
        "miss_count": count(misses.n_misses, "position"),
        "miss_skip": pct(misses.skip_fraction),
        "miss_correct": pct(misses.still_correct_fraction),
    }


def grade_top_attended(answer: Any, expected: int, dest: int) -> Grade:
    """The source position that destination position `dest` attends to most in one head."""
    value = as_int(answer)
    if value is None:
        return Grade(False, "Enter a position (a whole number).")
    if value > dest:
        return Grade(False, f"Attention is causal: position {dest} can only attend to positions 0..{dest}.")
    if value == expected:
        return Grade(True, f"{CORRECT} Position {dest} attends most to position {expected}.")
    return Grade(
        False, "Not this one. Hover over the destination's row in the chosen head and find its darkest cell."
    )


# The OV/QK page's exercises that the vocabulary split answers: the observation waits for them.
SPLIT_EXERCISES = (COPIER, COPY_COUNT)


def split_sentence(resp: HeadResponsibility, head_names: Sequence[str], shown: bool = True) -> str:
    """Which head copies which tokens; held back (`shown` False) until the OV/QK page's
    exercises that ask it (`SPLIT_EXERCISES`) are answered."""
    if not shown:
        return (
            "The heads also **split the vocabulary** between them. Which head copies which tokens, and how "
            "many, is a question on the OV/QK page: this line fills in once you have answered it there."
        )
    facts = responsibility_facts(resp, head_names)
    return (
        f"The heads **split the vocabulary**: {facts['per_head_copying']}. Select sequences containing tokens "
        f"{facts['minor_main_range']} to watch head {facts['minor_head']} take over."
    )


def observation_facts(
    claims: AttentionClaims,
    resp: HeadResponsibility,
    misses: AttentionMisses,
    head_names: Sequence[str],
    split_shown: bool = True,
) -> Values:
    """The values of `OBSERVATIONS_PROSE`."""
    return (
        attention_facts(claims, head_names)
        | responsibility_facts(resp, head_names)
        | attention_miss_facts(misses)
        | {"split_sentence": split_sentence(resp, head_names, split_shown)}
    )


def ablation_prose_facts(
    result: AblationResult, resp: HeadResponsibility, head_names: Sequence[str], split_shown: bool = True
) -> Values:
    """The values of `ABLATION_PROSE`."""
    return ablation_facts(result, head_names) | {
        "ablation_copying": ablation_copying_sentence(result, resp, head_names, split_shown)
    }


def view_labels(indices: Sequence[int], n_own: int) -> list[str]:
    """Captions of the lists shown: evaluation lists first, then the learner's."""
    return [f"evaluation list #{i}" for i in indices] + [f"your list {n + 1}" for n in range(n_own)]


def question_position(pattern: Float[ndarray, "dest src"], pos: int, list_len: int) -> int | None:
    """The position "Follow one position's attention" asks about: `pos` when its row has a clear
    winner, else the nearest prediction position that has one (`well_posed`); None if none."""
    row = lambda d: pattern[d, : d + 1]  # noqa: E731
    picked = pick_instance(nearest_first(pos, list_len, 2 * list_len - 1), row)
    return None if isinstance(picked, Skip) else picked.value


def top_attended_exercise(
    label: str,
    labels: Sequence[str],
    pos: int,
    head: int,
    pattern: Float[ndarray, "dest src"],
    head_names: Sequence[str],
    cfg: ModelConfig,
    unsorted: Sequence[int],
) -> Exercise | Skipped:
    """Which position `pos` attends to most in `head`, for the first list shown (token `labels`,
    `pattern` = that head's attention). When the top two weights of row `pos` are too close to
    call, the nearest prediction position with a clear winner (`well_posed.pick_instance`);
    skipped when there is none."""
    name = head_names[head]
    L = cfg.list_len
    row = lambda d: pattern[d, : d + 1]  # noqa: E731  (causal: a position sees itself and earlier ones)
    picked = question_position(pattern, pos, L)
    if picked is None:
        return Skipped(
            TOP_ATTENDED,
            "Follow one position's attention",
            f"In {label}, no prediction position of head {name} attends to one position clearly more than to "
            "the next, so the question has no single answer here: try another list or head.",
            model_wide=False,
        )
    asked, pos = pos, picked
    expected = int(np.argmax(row(pos)))
    weight = float(pattern[pos, expected])
    moved = ""
    if pos != asked:
        close = np.argsort(-row(asked), kind="stable")[:2]
        moved = (
            f" (Position {asked} attends almost equally to positions {close[0]} and {close[1]}, so the question "
            f"uses position {pos}, the nearest one with a clear winner.)"
        )
    return Exercise(
        id=TOP_ATTENDED,
        title="Follow one position's attention",
        question=f"In {label} (`{' '.join(labels)}`), which **position** does position "
        f"{pos} (token `{labels[pos]}`) attend to most in head {name}?{moved} "
        "Change the head and the destination position above for a new question.",
        answer=Answer.number(0, cfg.n_ctx - 1, "Source position"),
        grade=lambda answer: grade_top_attended(answer, expected, pos),
        hints=(
            f"In the view of {label}, click head {name} and find row {pos} "
            "(destination tokens are rows, sources are columns).",
            f"The write-up predicts it attends to the next larger value, {labels[pos + 1]}, "
            "which sits somewhere in the unsorted half — but check: it is not always so.",
        ),
        solution=f"Position **{expected}** (token `{labels[expected]}`, weight "
        f"{sig_figs(weight)}). The next larger value is `{labels[pos + 1]}`.",
        difficulty=2,
        importance=3,
        context=f"{tuple(unsorted)}:{pos}:{head}",
    )


def important_head_exercise(result: AblationResult, head_names: Sequence[str]) -> Exercise | Skipped:
    """Which head's mean ablation costs the most loss; skipped when no head clearly costs more
    (`well_posed`)."""
    if isinstance(clear_answer(result.mean), Skip):
        return Skipped(
            IMPORTANT_HEAD,
            "Which head matters more?",
            "Mean-ablating the heads costs "
            + join_words(f"{result.mean[h]:.3g} (head {head_names[h]})" for h in range(len(head_names)))
            + f" in loss: no head matters more by the rule ({matters_more_rule()}) on this model.",
        )
    return Exercise(
        id=IMPORTANT_HEAD,
        title="Which head matters more?",
        question="Mean-ablate each head in turn on the evaluation set. Ablating which head "
        f"increases the loss the most, i.e. which head matters more? The rule: {matters_more_rule()}; "
        "on this model one head does.",
        answer=Answer.select(range(len(head_names)), lambda h: f"head {head_names[h]}", "Head"),
        grade=lambda answer: grade_head_choice(
            answer,
            result.most_important_head,
            head_names,
            "Compare the mean-ablation bars in the chart above.",
        ),
        hints=(
            "A head the model relies on more costs more loss when its output is replaced by its average.",
            "Read the blue (mean ablation) bars of the head ablation chart.",
        ),
        solution=f"Head **{head_names[result.most_important_head]}**: "
        + ablation_facts(result, head_names)["mean_ablation_per_head"]
        + f" (loss increase when mean-ablated). The rule: {matters_more_rule()}.",
        difficulty=1,
        importance=4,
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "attention"
IDX, LISTS, HEAD, POS = "attention.idx", "attention.lists", "attention.head", "attention.pos"


def default_pos(cfg: ModelConfig) -> int:
    """The first sorted token: the write-up's "4 attends more to 7 than to 5"."""
    return cfg.list_len + 1


URL_PARAMS = (
    indices_param("idx", IDX),
    list_text_param("lists", LISTS, MAX_LISTS, "\n", default=lambda c: ""),
    head_param(HEAD),
    prediction_position_param("pos", POS, default_pos),
)


# --------------------------------------------------------------------------- the page, declared once
TOP_ATTENDED = "attention.top_attended"
IMPORTANT_HEAD = "attention.important_head"

LESSON = Lesson(
    key=PAGE,
    path="pages/2_attention.py",
    order=20,
    title="Attention",
    icon="👀",
    quizzes=(TOP_ATTENDED, IMPORTANT_HEAD),
    code=(code.SEP_ATTENDS_MIN, code.MEAN_ABLATION),
)
