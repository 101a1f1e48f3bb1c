"""The Adversarial page's lesson as pure functions (no streamlit): its prose templates, the
presets, the measured facts behind its prose, its exercise graders and its URL parameters. Over
400 lines because it is one page's teaching text: eight templates and the sentences worded from
the measurements belong together.

Nothing here knows what the reference model gets wrong: presets are the write-up's *inputs*
(adapted to the loaded model's list length and value range), and every statement about the
model's behaviour is computed from predictions of the loaded model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sortlist_core import positions
from sortlist_core.adversarial import (
    FAMILIES,
    MIN_LISTS_TO_JUDGE,
    AccuracyMap,
    FamilyRates,
    SearchResult,
    SliceReading,
    family_lists,
    read_accuracy_maps,
    writeup_adversarial_lists,
    wrong_rate_by_source,
)
from sortlist_core.config import ModelConfig
from sortlist_core.data import InvalidListError, format_list, parse_unsorted_list
from sortlist_core.exercises import adversarial as code
from sortlist_core.list_text import MAX_EDITOR_LISTS
from sortlist_core.metrics import SequencePrediction
from sortlist_core.well_posed import DEFAULT_MARGIN, Skip, clear_answer

from .exercise import CORRECT, Answer, Exercise, Grade, Skipped, as_int
from .spec import Lesson
from .url_params import editor_lists_param
from .wording import join_words, pct, plural, sig_figs, signed

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

INTRO_PROSE = """\
A model trained on random lists can still fail on lists that random sampling almost never
produces: these are its **adversarial examples**. The write-up reads two candidates off the
circuits of the previous page:

- **All values high.** In the positional QK circuit, `SEP` prefers small tokens only over part of
  the range; if every value is high, `SEP` may not find the smallest one.
- **A large gap.** Token *x* should attend to the next larger value *y*. If *y* is far above *x*,
  *x* may attend to itself instead and predict itself again.
"""

FAMILIES_PROSE = """\
How often the loaded model gets each kind of list wrong ({family_n} random lists of each kind; a
list counts as wrong when any of its predictions is wrong): random lists {uniform_wrong}; all
values high {high_wrong} ({high_times}); a large gap {gap_wrong} ({gap_times}); three close
values *x < y < z* {cluster_wrong} ({cluster_times}). The kind that fails most often is
**{worst_family}** ({worst_family_wrong}).
"""

VS_MYSTERY_PROSE = """\
**What this counts.** A list counts as wrong here when *any* of its {list_len} predictions is
wrong, so "three close values" ({cluster_wrong} wrong) is about whole lists. The Mystery page
measures something narrower: in lists holding *d*, *d+1* and *d+2*, only the one prediction made
at *d* (is it *d+1*?). A list can be right at *d* and still go wrong at another position, so the
two pages' numbers need not agree.
"""

EDITOR_PROSE = """\
Type up to {max_lists} lists, **one per line**: each needs {list_len} distinct whole numbers
from 0 to {max_value}, separated by commas or spaces. Or start from a preset: the write-up's
two lists (its first value was lost from the write-up's text and is restored here), or
random lists that have all values high or a large gap (change the seed for new ones).
"""

PREDICTIONS_PROSE = """\
Each panel is the write-up's `show` for one list: a row per prediction position (the token
there and its position), a column per vocabulary token, colour = probability. ○ marks the
correct next token and ✗ the model's prediction where it is wrong. Of your {lists_count},
the model sorts {n_correct} correctly and gets {n_wrong} wrong.
"""

SEARCH_PROSE = """\
The search scores candidate lists in batches: half are fresh random lists of four kinds (random,
all high, a large gap, three close values), half are small mutations of the lists that came
closest to failing so far. A list's **margin** is its worst position's correct logit minus the
best other logit; a negative margin means a wrong prediction, and the most negative come first.
"""

SEARCH_RESULT_PROSE = """\
Scored **{n_scored}** candidate lists in {seconds} s: the model got **{n_wrong}** of them wrong
({wrong_fraction}). The share is highest for candidates from **{best_source}**
({best_source_fraction}). Load any of them into the editor to see where it goes wrong.
"""

MAPS_PROSE = """\
Each map bins {n_lists} lists (drawn from all four kinds, so rare structures are well
represented) by two features and shows the fraction sorted entirely correctly; hover a cell for
its count, and blank cells had no lists. Read each feature with the other one held ordinary.
Among lists whose largest gap is only {gap_row} (the map's first row), {smallest_sentence}.
Among lists whose smallest value is {small_col} (its first column), {gap_sentence}. The worst
cell with at least {min_lists} lists: {worst_cell}. By the span *z − x* of the list's tightest triple
(pooled over where it starts): {tight_sentence}.
"""


FAMILY_LABELS = {
    "uniform": "random lists (the training distribution)",
    "high": "all high values",
    "gap": "a large gap between two values",
    "cluster": "three close values x < y < z",
}
GENERATED_PRESETS = ("high", "gap")  # the two families the write-up proposes as adversarial


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    lists: tuple[tuple[int, ...], ...]
    why: str  # the write-up's hypothesis behind it (an idea to test, not a measured claim)


def writeup_presets(cfg: ModelConfig) -> list[Preset]:
    """The write-up's two custom lists (`adversarial.writeup_adversarial_lists`), labelled."""
    lists = writeup_adversarial_lists(cfg.list_len, cfg.max_value)
    presets: list[Preset] = []
    if "high" in lists:
        high = lists["high"]
        presets.append(
            Preset(
                "writeup_high",
                f"[0] + {high[1]}..{high[-1]}",
                (high,),
                "One small value, then a run of high consecutive values: a large gap right after the smallest value.",
            )
        )
    if "evens" in lists:
        evens = lists["evens"]
        presets.append(
            Preset(
                "writeup_evens",
                f"[{evens[0]}] + {evens[1]}, {evens[1] + 2}, …, {evens[-1]}",
                (evens,),
                "A small value, a large gap, then evenly spaced high values.",
            )
        )
    return presets


def generated_lists(family: str, n: int, cfg: ModelConfig, seed: int) -> tuple[tuple[int, ...], ...]:
    """`n` seeded lists of one family ("high": all values high; "gap": a large gap)."""
    return family_lists(family, n, cfg.list_len, cfg.max_value, seed)


# --------------------------------------------------------------------------- measured facts


def family_facts(rates: FamilyRates) -> dict[str, Any]:
    base = rates.rate("uniform")
    worst = rates.worst_family

    def times(family: str) -> str:
        return compared_with_random(rates.rate(family), base)

    return {
        "family_n": f"{rates.n_per_family:,}",
        "uniform_wrong": pct(base),
        "high_wrong": pct(rates.rate("high")),
        "gap_wrong": pct(rates.rate("gap")),
        "cluster_wrong": pct(rates.rate("cluster")),
        "high_times": times("high"),
        "gap_times": times("gap"),
        "cluster_times": times("cluster"),
        "worst_family": FAMILY_LABELS[worst],
        "worst_family_wrong": pct(rates.rate(worst)),
    }


ABOUT_AS_OFTEN = 0.1  # "about as often as random lists": within 10% of their failure rate


def compared_with_random(rate: float, base: float) -> str:
    """'3.2× as often as random lists'; 'about as often' only within `ABOUT_AS_OFTEN` of their
    rate (and said so), compared at the precision shown."""
    if base <= 0:
        return "while random lists never fail" if rate > 0 else "like random lists, never"
    ratio = rate / base
    if abs(ratio - 1) <= ABOUT_AS_OFTEN:
        return f"about as often as random lists, within {pct(ABOUT_AS_OFTEN, 0)} of their rate"
    if ratio > 1:
        return f"{ratio:.1f}× as often as random lists"
    return f"less often than random lists, {ratio:.2f}× their rate"


def worst_family_rule() -> str:
    return (
        f"the kind with the highest failure rate; the question is posed only when it beats the next kind by at "
        f"least {pct(DEFAULT_MARGIN, 0)} of the highest rate"
    )


def _slice_sentence(reading: SliceReading, feature: str, threshold: float) -> str:
    """'accuracy stays at or above 90% up to 25–29 and falls to 0.0% at 30–34' for one slice."""
    seen = reading.judged
    if not seen:
        return f"there are too few lists to judge the {feature}"
    k = reading.first_below
    if k is not None:
        label, a = seen[k]
        before = f"stays at or above {pct(threshold, 0)} up to {feature} {seen[k - 1][0]} and " if k else ""
        return f"accuracy {before}falls to {pct(a)} at {feature} {label}"
    return f"accuracy stays at or above {pct(threshold, 0)} for every {feature} up to {seen[-1][0]}"


SORTS_WELL = 0.9  # the maps' sentences say where accuracy falls below this


def accuracy_map_facts(maps: Sequence[AccuracyMap], threshold: float = SORTS_WELL) -> dict[str, Any]:
    """Where accuracy falls below `threshold`, as `read_accuracy_maps` reads the maps (each
    feature along the slice that holds the other at its most ordinary value). Phrased for
    whatever the model does."""
    gap_map = maps[0]
    reading = read_accuracy_maps(maps, threshold)
    cell = reading.worst
    if cell is not None:
        worst = f"largest gap {cell.row_bin} and smallest value {cell.col_bin}: {pct(cell.accuracy)} of {cell.count} lists sorted correctly"
    else:
        worst = "no cell has enough lists to judge"
    parts = [f"span {label}: {pct(a)}" for label, a in reading.tight_spans]
    tight_sentence = join_words(parts[:4]) or "too few lists"
    smallest_sentence = _slice_sentence(reading.by_smallest_value, "smallest value", threshold)
    gap_sentence = _slice_sentence(reading.by_largest_gap, "largest gap", threshold)
    return {
        "threshold": pct(threshold, 0),
        "gap_row": gap_map.row_bins[0],
        "small_col": gap_map.col_bins[0],
        "smallest_sentence": smallest_sentence,
        "gap_sentence": gap_sentence,
        "worst_cell": worst,
        "tight_sentence": tight_sentence,
    }


HIDDEN_WHERE = (
    "the model sorts it wrongly. Where? That is the exercise *Where does it go wrong?* below: "
    "read the heatmap, answer, and this line says it."
)


def _position(row: int, p: SequencePrediction) -> int:
    """The sequence position of prediction row `row` (see `sortlist_core.positions`)."""
    return positions.prediction_position(row, len(p.targets))


def describe_prediction(p: SequencePrediction) -> str:
    """'The model goes wrong at position 15 (the 5th sorted token, predicting the 6th), after
    token 12, where it predicts 14 (p = 0.41) instead of 13 (p = 0.12).'"""
    if p.correct:
        return "The model sorts this list correctly."
    parts = []
    for k in p.wrong:
        after = "SEP" if k == 0 else f"token {p.targets[k - 1]}"
        parts.append(
            f"at {positions.describe_prediction_position(_position(k, p), len(p.targets))}, after {after}, "
            f"where it predicts {p.predicted[k]} (p = {sig_figs(p.probs[k, p.predicted[k]])}) "
            f"instead of {p.targets[k]} (p = {sig_figs(p.probs[k, p.targets[k]])})"
        )
    return "The model goes wrong " + join_words(parts, "; and") + "."


# --------------------------------------------------------------------------- exercises


def grade_adversarial_list(
    answer: Any, cfg: ModelConfig, predict: Callable[[tuple[int, ...]], SequencePrediction]
) -> Grade:
    """Any valid list the model gets wrong at one or more positions passes."""
    text = "" if answer is None else str(answer)
    try:
        values = tuple(parse_unsorted_list(text, cfg.list_len, cfg.max_value))
    except InvalidListError as exc:
        return Grade(False, f"That is not a valid list: {exc}.")
    p = predict(values)
    if p.wrong:
        return Grade(True, f"{CORRECT} {describe_prediction(p)}")
    lowest = min(float(p.probs[k, t]) for k, t in enumerate(p.targets))
    return Grade(
        False,
        f"The model sorts ({format_list(values)}) correctly (its lowest probability on a correct token is {sig_figs(lowest)}). "
        "Try values the training data rarely contains: all values high, or a very large gap between two values.",
    )


def grade_wrong_position(answer: Any, p: SequencePrediction) -> Grade:
    """A sequence position (SEP = list_len .. 2 * list_len - 1, see `sortlist_core.positions`)
    where the model's prediction is wrong."""
    value = as_int(answer)
    n = len(p.targets)
    if value is None or value not in positions.prediction_positions(n):
        return Grade(False, f"Enter a position from {n} (SEP) to {2 * n - 1}: predictions are made there.")
    row = positions.prediction_row(value, n)
    where = positions.describe_prediction_position(value, n)
    if row in p.wrong:
        others = [_position(w, p) for w in p.wrong if w != row]
        extra = (
            f" It also goes wrong at {plural(len(others), 'position')} {join_words(map(str, others))}."
            if others
            else ""
        )
        return Grade(
            True,
            f"{CORRECT} At {where} the model predicts {p.predicted[row]} instead of {p.targets[row]}.{extra}",
        )
    return Grade(
        False,
        f"At {where} the model correctly predicts {p.targets[row]}. Look for the ✗ in the heatmap "
        "(each row is labelled token (position)).",
    )


def grade_worst_family(answer: Any, rates: FamilyRates) -> Grade:
    """The family whose lists the model gets wrong most often (ties: any of the worst)."""
    if answer not in rates.families:
        return Grade(False, "Choose one of the families.")
    worst = max(rates.wrong)
    if rates.rate(answer) >= worst - 1e-12:
        return Grade(
            True,
            f"{CORRECT} {FAMILY_LABELS[answer].capitalize()}: {pct(rates.rate(answer))} of such lists go wrong.",
        )
    return Grade(
        False,
        f"Lists with {FAMILY_LABELS[answer]} go wrong {pct(rates.rate(answer))} of the time; another family fails more often. "
        "Think about which lists the training data (random subsets) almost never contains.",
    )


def pick_exercise_list(candidates: Sequence[SequencePrediction]) -> SequencePrediction | None:
    """The first candidate the model gets wrong (the exercise needs one), else None."""
    return next((p for p in candidates if p.wrong), None)


def default_lists(cfg: ModelConfig) -> list[tuple[int, ...]]:
    """The editor's lists before the learner changes them: the presets, else two "high" lists."""
    return [lst for p in writeup_presets(cfg) for lst in p.lists] or list(generated_lists("high", 2, cfg, 0))


def exercise_candidates(cfg: ModelConfig) -> tuple[tuple[int, ...], ...]:
    """Lists to pick the "where does it go wrong" list from: presets, then generated gap/high lists."""
    candidates = [lst for p in writeup_presets(cfg) for lst in p.lists]
    candidates += list(generated_lists("gap", 5, cfg, 0)) + list(generated_lists("high", 5, cfg, 0))
    return tuple(candidates)


def search_result_facts(result: SearchResult) -> dict[str, Any]:
    """The values of `SEARCH_RESULT_PROSE`."""
    sources = wrong_rate_by_source(result)
    best = max(sources, key=sources.get) if sources else "none"
    return {
        "n_scored": f"{result.n_scored:,}",
        "seconds": f"{result.seconds:.1f}",
        "n_wrong": f"{result.n_wrong:,}",
        "wrong_fraction": pct(result.n_wrong / max(result.n_scored, 1)),
        "best_source": best,
        "best_source_fraction": pct(sources.get(best, 0.0)),
    }


def example_caption(wrong_rows: Sequence[int], margin: float, family: str, list_len: int) -> str:
    """'wrong at positions 12 and 15 · margin −0.50 · high' (`wrong_rows`: prediction rows)."""
    where = [str(positions.prediction_position(r, list_len)) for r in wrong_rows]
    return (
        f"wrong at {plural(len(where), 'position')} {join_words(where)} · margin {signed(margin)} · {family}"
    )


def maps_facts(maps: Sequence[AccuracyMap]) -> dict[str, Any]:
    """The values of `MAPS_PROSE`."""
    return accuracy_map_facts(maps) | {
        "n_lists": f"{int(maps[0].counts.sum()):,}",
        "min_lists": MIN_LISTS_TO_JUDGE,
    }


def worst_family_exercise(rates: FamilyRates) -> Exercise | Skipped:
    """Predict which kind of list the model gets wrong most often; skipped when no family
    clearly fails most (`well_posed`: none fails, or a tie)."""
    if isinstance(clear_answer(rates.wrong), Skip):
        worst = max(rates.wrong)
        tied = [FAMILY_LABELS[f] for f in rates.families if rates.rate(f) == worst]
        reason = (
            f"None of the {rates.n_per_family:,} lists of any family goes wrong on this model, so no family is "
            "the most dangerous."
            if worst == 0
            else f"Lists with {join_words(tied)} go wrong equally often ({pct(worst)} of {rates.n_per_family:,}), "
            "so the question has no single answer on this model."
        )
        return Skipped(WORST_FAMILY, "Which kind of list is most dangerous?", reason)
    return Exercise(
        id=WORST_FAMILY,
        title="Which kind of list is most dangerous?",
        question="Predict before you measure: which kind of list does this model get wrong most often "
        f"({worst_family_rule()})?",
        answer=Answer.select(FAMILIES, lambda f: FAMILY_LABELS[f], "Kind of list"),
        grade=lambda answer: grade_worst_family(answer, rates),
        hints=(
            "The training data are uniformly random subsets. Which structures does it almost never contain?",
            "Compare what SEP needs to find with what the positional QK circuit lets it find.",
        ),
        solution="Measured on this model: "
        + "; ".join(f"{FAMILY_LABELS[f]}: {pct(rates.rate(f))}" for f in rates.families)
        + f". The answer is {worst_family_rule()}: **{FAMILY_LABELS[rates.worst_family]}**.",
        difficulty=2,
        importance=3,
    )


def find_wrong_list_exercise(
    rates: FamilyRates, cfg: ModelConfig, predict: Callable[[tuple[int, ...]], SequencePrediction]
) -> Exercise:
    """Type a list the model sorts wrongly (`predict` runs the model on it)."""
    family = family_facts(rates)
    return Exercise(
        id=FIND_WRONG_LIST,
        title="Break the model",
        question=f"Find a list of {cfg.list_len} distinct values in 0..{cfg.max_value} that the model sorts "
        "**wrongly** (at least one wrong prediction). Type it without using the search.",
        answer=Answer.text(placeholder=format_list(range(cfg.list_len - 1, -1, -1)), label="Your list"),
        grade=lambda answer: grade_adversarial_list(answer, cfg, predict),
        hints=(
            "Random lists almost always work. Think about what random subsets of 0..max rarely contain.",
            "Try lists whose values are all near the top of the range, or one small value followed by a run of large ones.",
        ),
        solution="Any list the heatmap marks with a ✗ works. For this model, lists of the kind "
        f"**{family['worst_family']}** go wrong most often "
        f"({family['worst_family_wrong']}); the search above finds many more.",
        difficulty=2,
        importance=4,
    )


def wrong_position_exercise(target: SequencePrediction, cfg: ModelConfig) -> Exercise:
    """At which prediction position a wrongly sorted list goes wrong."""
    source = next((p.label for p in writeup_presets(cfg) if tuple(target.unsorted) in p.lists), None)
    return Exercise(
        id=WRONG_POSITION,
        title="Where does it go wrong?",
        question=(f"The write-up's list **{source}**" if source else "This list")
        + f" `({format_list(target.unsorted)})` is sorted wrongly. At which **position** does the model "
        f"make a wrong prediction? Positions are the sequence's: `SEP` is position {cfg.list_len} and predicts the "
        f"smallest value, position {cfg.list_len + 1} holds the 1st sorted token and predicts the 2nd, and so on "
        f"up to {2 * cfg.list_len - 1}. Load it into the editor and read the heatmap: each row is labelled "
        "token (position).",
        answer=Answer.number(cfg.list_len, 2 * cfg.list_len - 1, "Prediction made at position"),
        grade=lambda answer: grade_wrong_position(answer, target),
        hints=(
            f"Rows of the heatmap are the positions that predict, top row = `SEP (position {cfg.list_len})`.",
            "Find the row with a ✗: the model's argmax differs from the ○.",
        ),
        solution=describe_prediction(target),
        difficulty=1,
        importance=3,
        context=format_list(target.unsorted),
    )


def wrong_position_skipped() -> Skipped:
    """ "Where does it go wrong?" on a model that sorts every candidate list correctly."""
    return Skipped(
        WRONG_POSITION,
        "Where does it go wrong?",
        "This model sorted every preset, every generated high or large-gap list and every searched list "
        "correctly, so there is no wrongly sorted list to ask about.",
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "adversarial"
TEXT = "adv.lists_text"  # the editor's text area


URL_PARAMS = (editor_lists_param("lists", TEXT, MAX_EDITOR_LISTS, default_lists),)


# --------------------------------------------------------------------------- the page, declared once
WORST_FAMILY = "adversarial.worst_family"
FIND_WRONG_LIST = "adversarial.find_wrong_list"
WRONG_POSITION = "adversarial.wrong_position"

LESSON = Lesson(
    key=PAGE,
    path="pages/4_adversarial.py",
    order=40,
    title="Adversarial",
    icon="🧨",
    quizzes=(WORST_FAMILY, FIND_WRONG_LIST, WRONG_POSITION),
    code=(code.FOOL, code.SEP_FAILS),
)
