"""The Mystery page's lesson as pure functions (no streamlit): its prose templates, the sentences
that explain the measured DLA, OV and direct-path results, the exercise graders and its URL
parameters. Over 400 lines because it is one page's teaching text: the templates and the
sentences worded from the numbers belong together.

Every sentence is worded from the loaded model's numbers (signs decide the wording), so a
checkpoint with its heads swapped, or one that resolves the mystery differently, still reads true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import Float

from sortlist_core.circuit_findings import direct_path_preference
from sortlist_core.circuits import HeadResponsibility
from sortlist_core.data import format_list
from sortlist_core.exercises import mystery as code
from sortlist_core.mystery import (
    ADVERSARIAL_EXTRA,
    ADVERSARIAL_MISTAKE,
    DEFAULT_MYSTERY_LISTS,
    DirectPathExperiment,
    MysteryCase,
    OffsetProfile,
    offset_shapes,
    qk_puzzle,
    tally_cases,
)
from sortlist_core.well_posed import DEFAULT_MARGIN, Skip, pick_instance, pick_signed

from .exercise import CORRECT, Answer, Exercise, Grade, Skipped
from .spec import Lesson
from .url_params import head_or_auto_param, single_list_param, triple_param
from .wording import MOSTLY, pct, sig_figs, signed

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

INTRO_PROSE = """\
The write-up noticed in the QK circuit that a destination token *d* sometimes gives a higher
attention score to *d+2* (or *d+3*) than to *d+1*. In the loaded model, the head that copies
*d+1* scores *d+2* at least as high as *d+1* for **{puzzle_count} of the {puzzle_total}** tokens
*d* ({puzzle_fraction}). {puzzle_example}

So in a list holding *d*, *d+1* and *d+2*, the token *d* in the sorted half may attend more to
*d+2* than to the right answer *d+1*. Since the heads copy what they attend to, we would expect
the model to predict *d+2* after *d*: an adversarial example. {puzzle_outcome}

The write-up considered three explanations:

1. **The less important head** cancels the mistake (e.g. it suppresses *d+2*).
2. **The direct path** `W_E W_U` (the token's own embedding, straight to the unembedding) favours
   *d+1* over *d+2*.
3. **The OV circuit's off-diagonal**: attending to a token *s* also boosts tokens slightly
   *smaller* than *s* and suppresses tokens slightly *larger*. Then attention to *d+2* still
   boosts *d+1*, and attention to *d+1* pushes *d+2* down.

Let's test them in turn on the loaded model.
"""

DIRECT_PROSE = """\
The direct path favours *d+1* over *d+2* for {dpm_next_fraction} of tokens *d* (mean
difference {dpm_next_gap} logits), {dpm_could}. The test: remove the direct path and see whether
lists with *d*, *d+1*, *d+2* become adversarial. We compare {dp_n} such lists with {dp_n}
**control** lists that hold *d* and *d+1* but not *d+2* (so the only difference is the close
third value), and measure how often the prediction made at *d* is *d+1*. We call the cluster lists
adversarial when, {dp_rule}. Predict the outcome before you read it:
"""

DIRECT_RESULT_PROSE = """\
| lists | model intact | direct path removed | predicts the next value instead |
| --- | --- | --- | --- |
| with *d*, *d+1*, *d+2* | {dp_cluster_with} | {dp_cluster_without} | {dp_cluster_next} |
| control (no *d+2*) | {dp_control_with} | {dp_control_without} | {dp_control_next} |

Removing the direct path costs {dp_drop_cluster} of accuracy on the cluster lists and
{dp_drop_control} on the controls. So removing it {dp_verdict}.
"""

VS_ADVERSARIAL_PROSE = """\
**What this counts.** Each list above contributes *one* prediction: the one made at *d*
({dp_cluster_with} right on the intact model). The Adversarial page counts whole lists sorted
without a single mistake, at any of the {list_len} positions, so its figure for lists with three
close values can be much lower without contradicting this one.
"""

OV_PROSE = """\
The full OV circuit `W_E W_OV W_U` says what a head writes when it attends to source token *s*.
Its diagonal is the copying; the chart reads along the diagonals next to it: offset −1 is the
effect on the logit of *s − 1*, offset +1 on *s + 1*, averaged over the tokens each head copies
and divided by the head's boost to *s* itself (so offset 0 is 1):

{ov_lines}

{ov_verdict}. {ov_implication} The next section measures the cross terms on real lists.
"""

DLA_PROSE = """\
For each list, the destination is *x* in the sorted half (it should predict *y*, the next
value), and the head is {head_rule}. Each 2×2 heatmap is the **direct logit attribution**: the
head's output moved from source token *y* or *z* (columns), projected onto the logits of *y* and
*z* (rows), divided by the final LayerNorm scale as in the write-up. The diagonal (y→y, z→z) is
copying; the off-diagonal is the cross effect the OV circuit predicts: **z→y** (attending to *z*
lifts *y*?) and **y→z** (attending to *y* lowers *z*?). Summing a row gives the total to that
prediction.
"""

RESOLUTION_PROSE = """\
Across these {n_cases} lists: *x* attends more to *z* than to *y* in {z_more_attention};
z→y is positive in {zy_positive}; y→z is negative in {yz_negative}; the total to *y* beats the
total to *z* in {y_total_larger}; and the model predicts *y* in {predicted_y}. The copying term
alone favours *z* (z→z > y→y) in {zz_bigger} of them. {hypothesis_verdict}.
"""


SIGNS = ("positive", "negative")
TOTALS = ("y", "z")
# "Yet … Why?": close triples count as protected while their accuracy at d stays within 5
# percentage points of the controls'; below that the page says they *are* partly adversarial.
PROTECTED_GAP = 0.05


# --------------------------------------------------------------------------- DLA cases


def case_title(i: int, case: MysteryCase, custom: bool = False) -> str:
    label = "Your list" if custom else f"List #{i}"
    return f"{label}<br>(x, y, z) = ({case.x}, {case.y}, {case.z})"


def in_sentence(title: str) -> str:
    """A title used mid-sentence: 'Your list …' -> 'your list …' ('List #3' keeps its capital)."""
    return "your" + title[4:] if title.startswith("Your ") else title


def case_panel_title(title: str) -> str:
    """`case_title` short enough for a 2×2 panel five to a row: the figure's title names (x, y, z)."""
    return title.replace("(x, y, z) = ", "")


def _sign_word(v: float) -> str:
    return "positive" if v > 0 else "negative" if v < 0 else "zero"


def case_sentence(case: MysteryCase, head_names: Sequence[str]) -> str:
    """The resolution for one list, worded from its measured signs and sizes."""
    (yy, zy), (yz, zz) = (float(v) for v in case.dla[0]), (float(v) for v in case.dla[1])
    a_y, a_z = float(case.attention[0]), float(case.attention[1])
    head = f"head {head_names[case.head]}"
    attn = (
        f"{head} attends *more* to z ({sig_figs(a_z)}) than to y ({sig_figs(a_y)})"
        if a_z > a_y
        else f"{head} attends more to y ({sig_figs(a_y)}) than to z ({sig_figs(a_z)})"
    )
    cross = f"z→y is {_sign_word(zy)} ({signed(zy)}) and y→z is {_sign_word(yz)} ({signed(yz)})"
    diff = case.total_to_y - case.total_to_z
    if diff > 0:
        total = f"so y gets {sig_figs(diff)} more in total ({sig_figs(case.total_to_y)} vs {sig_figs(case.total_to_z)} for z)"
    else:
        total = f"so z gets {sig_figs(-diff)} more in total ({sig_figs(case.total_to_z)} vs {sig_figs(case.total_to_y)} for y)"
    verdict = (
        f"the model predicts {case.predicted}, the right answer y (p = {sig_figs(case.prob_y)})"
        if case.predicted == case.y
        else f"the model predicts {case.predicted}, not y = {case.y} (p(y) = {sig_figs(case.prob_y)}, p(z) = {sig_figs(case.prob_z)})"
    )
    direct = ""
    if zz > yy:
        direct = f" Note that z→z ({signed(zz)}) is larger than y→y ({signed(yy)}): on their own, the copying terms favour z."
    return f"At x = {case.x}, {attn}. {cross}, {total}: {verdict}.{direct}"


def cases_summary(cases: Sequence[MysteryCase]) -> dict[str, Any]:
    t = tally_cases(cases)
    n = t.n_cases
    return {
        "n_cases": n,
        "z_more_attention": t.z_more_attention,
        "zy_positive": t.zy_positive,
        "yz_negative": t.yz_negative,
        "y_total_larger": t.y_total_larger,
        "predicted_y": t.predicted_y,
        "zz_bigger": t.zz_bigger,
        "hypothesis_verdict": (
            "The write-up's explanation holds in every one of these lists"
            if t.explanation_holds
            else f"The write-up's explanation holds only partly here: z→y > 0 in {t.zy_positive} of {n}, y→z < 0 in {t.yz_negative} of {n}, and y's total is larger in {t.y_total_larger} of {n}"
        ),
    }


# --------------------------------------------------------------------------- the puzzle, OV, direct path


def qk_puzzle_facts(
    full_qk: Float[np.ndarray, "head dest src"], resp: HeadResponsibility, head_names: Sequence[str]
) -> dict[str, Any]:
    """How often the head that copies d+1 scores d+2 at least as high as d+1 (for destination d)."""
    puzzle = qk_puzzle(full_qk, resp)
    ex = ""
    if puzzle.example is not None:
        d, h = puzzle.example.dest, puzzle.example.head
        ex = (
            f"For example, for d = {d}, head {head_names[h]} (which copies {d + 1}) scores "
            f"{d + 2} at {puzzle.example.score_after_next:.3g} and {d + 1} at {puzzle.example.score_next:.3g}."
        )
    n_hits, n_dest = len(puzzle.hits), puzzle.n_dest
    return {
        "puzzle_count": n_hits,
        "puzzle_total": n_dest,
        "puzzle_fraction": pct(n_hits / n_dest) if n_dest else "0%",
        "puzzle_example": ex,
    }


def ov_profile_facts(profile: OffsetProfile, head_names: Sequence[str]) -> dict[str, Any]:
    """Below / above the copied token: the mean relative OV value at offsets −k..−1 and +1..+k."""
    shapes = offset_shapes(profile)
    lines = []
    for name, shape in zip(head_names, shapes.heads):
        if shape is None:
            lines.append(f"head {name} is the stronger copier of no token, so it has no profile")
            continue
        lines.append(
            f"head {name}: attending to s moves the logits of s − 1 by {signed(shape.just_below)} and of s + 1 by {signed(shape.just_above)} "
            f"(as a fraction of its boost to s itself; mean over offsets −{shapes.max_below}..−1: {signed(shape.below_mean)}, "
            f"+1..+{shapes.max_above}: {signed(shape.above_mean)})"
        )
    pattern_heads = shapes.pattern_heads
    n = len(head_names)
    return {
        "ov_lines": "\n".join(f"- {line}" for line in lines),
        "ov_pattern_heads": pattern_heads,
        "ov_implication": (
            "For a list with *y* and *z* just above *x*, this means attention to *z* also lifts *y*, while attention to *y* "
            "lowers *z*: even if *x* attends a bit more to *z*, *y* can end up with the larger logit."
            if pattern_heads == n
            else "Where the pattern is missing, attention to *z* does not lift *y* (or attention to *y* does not lower *z*), "
            "so this mechanism cannot fully protect such lists."
        ),
        "ov_verdict": (
            "In every head, attending to a token boosts slightly *smaller* tokens and suppresses slightly *larger* ones, as the write-up says"
            if pattern_heads == n
            else f"The write-up's pattern (boost smaller, suppress larger) shows in {pattern_heads} of the {n} heads"
        ),
    }


def direct_path_experiment_facts(exp: DirectPathExperiment) -> dict[str, Any]:
    protected = exp.cluster_acc_with >= exp.control_acc_with - PROTECTED_GAP
    return {
        "puzzle_outcome": (
            f"Yet on {exp.n_per_group:,} random lists holding *d*, *d+1* and *d+2*, the prediction made at *d* is right in "
            f"**{pct(exp.cluster_acc_with)}** of them ({pct(exp.control_acc_with)} for lists without *d+2*). Why?"
            if protected
            else f"Indeed, on {exp.n_per_group:,} random lists holding *d*, *d+1* and *d+2*, the prediction made at *d* is right "
            f"in only **{pct(exp.cluster_acc_with)}** of them, against {pct(exp.control_acc_with)} for lists without *d+2*: "
            "for this model such lists *are* partly adversarial. The sections below show which mechanisms are at work."
        ),
        "dp_n": f"{exp.n_per_group:,}",
        "dp_cluster_with": pct(exp.cluster_acc_with),
        "dp_cluster_without": pct(exp.cluster_acc_without),
        "dp_control_with": pct(exp.control_acc_with),
        "dp_control_without": pct(exp.control_acc_without),
        "dp_cluster_next": pct(exp.cluster_pred_next_without),
        "dp_control_next": pct(exp.control_pred_next_without),
        "dp_drop_cluster": pct(exp.cluster_acc_with - exp.cluster_acc_without),
        "dp_drop_control": pct(exp.control_acc_with - exp.control_acc_without),
        "dp_rule": direct_path_rule(),
        "dp_verdict": direct_path_verdict(exp),
    }


def direct_path_rule() -> str:
    """The rule `DirectPathExperiment.becomes_adversarial` applies, in words."""
    return (
        f"without the direct path, at least {pct(ADVERSARIAL_MISTAKE, 0)} of the lists with d, d+1, d+2 predict d+2 at d, "
        f"or they fail at least {round(100 * ADVERSARIAL_EXTRA)} percentage points more often than the control lists"
    )


def failure_comparison(exp: DirectPathExperiment) -> str:
    """'fail more often than the controls (4.5% vs 2.2%, 2.3 points more)', compared as shown."""
    cluster, control = pct(exp.cluster_fail_without), pct(exp.control_fail_without)
    # the gap between the two numbers as shown, so "3.4% vs 2.4%" is "1.0 points", not 0.9
    points = f"{abs(round(100 * exp.cluster_fail_without, 1) - round(100 * exp.control_fail_without, 1)):.1f}"
    if cluster == control:
        return f"fail as often as the controls ({cluster} each)"
    if exp.extra_failures > 0:
        return f"fail more often than the controls ({cluster} vs {control}, {points} points more)"
    return f"fail less often than the controls ({cluster} vs {control}, {points} points fewer)"


def direct_path_verdict(exp: DirectPathExperiment) -> str:
    """The verdict of the rule, with the numbers it was reached from."""
    compared = failure_comparison(exp)
    mistake = pct(exp.cluster_pred_next_without)
    if exp.becomes_adversarial:
        return (
            f"**does** make them adversarial by the rule: without the direct path, lists with d, d+1, d+2 {compared}, "
            f"and {mistake} of them predict d+2 at d. So for this model the direct path *is* part of the answer"
        )
    return (
        f"does **not** make them adversarial by the rule: without the direct path, lists with d, d+1, d+2 {compared}, "
        f"under the {round(100 * ADVERSARIAL_EXTRA)}-point margin, and {mistake} of them predict d+2 at d, under "
        f"{pct(ADVERSARIAL_MISTAKE, 0)}. The direct path is not what protects them"
    )


def direct_path_heatmap_facts(direct: Float[np.ndarray, "input_token pred"]) -> dict[str, Any]:
    pref = direct_path_preference(direct)
    favours = pref.next_fraction
    return {
        "dpm_next_fraction": pct(favours),
        "dpm_next_gap": f"{pref.mean_gap:+.3g}".replace("-", "−"),
        "dpm_could": "so it *could* be the answer"
        if favours > MOSTLY
        else "so on its own it is an unlikely answer, but let's test it",
    }


# --------------------------------------------------------------------------- exercises


def grade_sign(answer: Any, value: float, what: str) -> Grade:
    """'positive' / 'negative' for a measured attribution."""
    if answer not in SIGNS:
        return Grade(False, "Choose positive or negative.")
    truth = "positive" if value > 0 else "negative"
    if answer == truth:
        return Grade(True, f"{CORRECT} {what} is {signed(value)}.")
    return Grade(
        False,
        f"Not {answer}. Think about the OV circuit's off-diagonal: when a head copies a source token s, what does it do to the logits of tokens just above or below s?",
    )


def grade_larger_total(answer: Any, case: MysteryCase) -> Grade:
    if answer not in TOTALS:
        return Grade(False, "Choose y or z.")
    truth = "y" if case.total_to_y > case.total_to_z else "z"
    if answer == truth:
        return Grade(
            True, f"{CORRECT} Total to y {sig_figs(case.total_to_y)}, total to z {sig_figs(case.total_to_z)}."
        )
    return Grade(
        False,
        "Not that one. Add each row of the 2×2 heatmap: the prediction's total is its copying term plus its cross term.",
    )


def grade_direct_path(answer: Any, exp: DirectPathExperiment) -> Grade:
    options = ("yes", "no")
    if answer not in options:
        return Grade(False, "Choose yes or no.")
    truth = "yes" if exp.becomes_adversarial else "no"
    if answer == truth:
        return Grade(
            True,
            f"{CORRECT} Without the direct path, lists with d, d+1, d+2 {failure_comparison(exp)}, and "
            f"{pct(exp.cluster_pred_next_without)} of them predict d+2 at d.",
        )
    return Grade(
        False,
        "Compare the failures of the cluster lists and the control lists *without* the direct path with the "
        f"rule in the question: adversarial when, {direct_path_rule()}.",
    )


def dla_intro(cases: Sequence[tuple[tuple[int, ...], tuple[int, int, int]]]) -> str:
    """The sentence above the DLA inputs: the write-up's lists, or lists built like them."""
    writeup = bool(cases) and cases[0][0] == tuple(DEFAULT_MYSTERY_LISTS[0][0])
    return (
        (
            "The lists below are the write-up's four"
            if writeup
            else "The lists below are built like the write-up's (its own do not fit this model's task)"
        )
        + ": each has three close values *x < y < z*. Add your own list (*y* must come right after *x* in sorted "
        "order) and choose which head to attribute."
    )


def tightest_triple_note(xyz: tuple[int, int, int]) -> str:
    """The caption under the learner's list when the page chose its (x, y, z)."""
    return f"Using the list's tightest triple (x, y, z) = {xyz}."


def head_rule(head: int | None, head_names: Sequence[str]) -> str:
    """Which head the DLA is attributed to, for `DLA_PROSE`."""
    return (
        "the one whose OV circuit copies *y* most strongly"
        if head is None
        else f"head {head_names[head]} (your choice)"
    )


def other_heads_sentence(
    cases: Sequence[MysteryCase], other_push: Sequence[float], head_names: Sequence[str]
) -> str:
    """Explanation 1: the other heads' net push towards y against the attributed head's."""
    main = [c.push_to_y for c in cases]
    others = "The other head's" if len(head_names) == 2 else "The other heads'"
    return (
        f"**Is it the less important head? (explanation 1)** {others} net push towards *y* (total to y − total to z) in these lists "
        f"ranges from {signed(min(other_push))} to {signed(max(other_push))}, against {signed(min(main))} to {signed(max(main))} from the "
        f"attributed head. Pick a head in the selector above to see its own 2×2 attributions."
    )


def direct_path_exercise(exp: DirectPathExperiment) -> Exercise:
    """Predict whether removing the direct path makes close triples adversarial."""
    facts = direct_path_experiment_facts(exp)
    return Exercise(
        id=DIRECT_PATH,
        title="Was it the direct path?",
        question="Does removing the direct path `W_E W_U` make lists with d, d+1, d+2 adversarial for this model? "
        f"Count them adversarial when, {direct_path_rule()} (lists with d and d+1 but no d+2).",
        answer=Answer.select(("yes", "no"), str.capitalize, "Your verdict"),
        grade=lambda answer: grade_direct_path(answer, exp),
        hints=(
            "Compare the two rows of the table in the direct-path section, in the 'direct path removed' column.",
        ),
        solution=f"Without the direct path: {facts['dp_cluster_without']} of cluster lists vs "
        f"{facts['dp_control_without']} of control lists are right at d. The rule: adversarial when, "
        f"{direct_path_rule()}. Removing it {facts['dp_verdict']}.",
        difficulty=2,
        importance=3,
    )


def cross_sign_exercise(
    cases: Sequence[MysteryCase], head_names: Sequence[str], model_wide: bool = True
) -> Exercise | Skipped:
    """Predict the sign of the z→y attribution in the first list whose z→y is clearly away from 0
    (`well_posed.pick_signed`: at least `DEFAULT_MARGIN` of the list's largest attribution), or
    skipped."""
    picked = pick_signed(cases, lambda c: c.dla[0][1], lambda c: float(np.abs(c.dla).max()))
    if isinstance(picked, Skip):
        return Skipped(
            CROSS_SIGN,
            "Predict the sign of z→y",
            f"On every list below, the z→y attribution is within {pct(DEFAULT_MARGIN, 0)} of the list's "
            "largest attribution from 0, so its sign is not a fair question on this model.",
            model_wide=model_wide,
        )
    case = picked.value
    x, y, z = case.x, case.y, case.z
    return Exercise(
        id=CROSS_SIGN,
        title="Predict the sign of z→y",
        question=f"Before looking at the heatmaps: in the list `({format_list(case.unsorted)})` with (x, y, z) = "
        f"({x}, {y}, {z}), head {head_names[case.head]} moves information from source token "
        f"z = {z} to destination x = {x}. Is its direct logit attribution to the prediction **y = {y}** "
        "(the cell z→y) positive or negative?",
        answer=Answer.select(SIGNS, str.capitalize, "Sign of z→y"),
        grade=lambda answer: grade_sign(answer, float(case.dla[0][1]), f"z→y for ({x}, {y}, {z})"),
        hints=(
            "Look at the OV offset chart above: what does attending to s do to the logit of s − 1 or s − 2?",
            "Here y is just below z, so the relevant offset is y − z < 0.",
        ),
        solution=case_sentence(case, head_names),
        difficulty=2,
        importance=5,
        context=f"{case.unsorted}:{x}:{case.head}",
    )


def larger_total_exercise(
    cases: Sequence[MysteryCase], titles: Sequence[str], head_names: Sequence[str], model_wide: bool = True
) -> Exercise | Skipped:
    """Which prediction, y or z, gets the larger total attribution: in the first of `cases` (the
    page passes the learner's own list first) whose totals differ clearly (`well_posed`), or
    skipped when they are near-ties in every list."""
    picked = pick_instance(range(len(cases)), lambda i: [cases[i].total_to_y, cases[i].total_to_z])
    if isinstance(picked, Skip):
        return Skipped(
            LARGER_TOTAL,
            "Which prediction wins?",
            f"In every list below the total attributions to y and to z are within {pct(DEFAULT_MARGIN, 0)} of "
            "each other, so which one is larger is not a fair question on this model.",
            model_wide=model_wide,
        )
    case, title = cases[picked.value], titles[picked.value]
    return Exercise(
        id=LARGER_TOTAL,
        title="Which prediction wins?",
        question=f"For {in_sentence(title.replace('<br>', ' '))} (head {head_names[case.head]}), add up the attributions: is the "
        "**total** DLA larger for prediction y or for prediction z?",
        answer=Answer.select(TOTALS, lambda v: f"prediction {v}", "Larger total"),
        grade=lambda answer: grade_larger_total(answer, case),
        hints=(
            "Total to y = y→y + z→y (the top row of its heatmap); total to z = y→z + z→z (the bottom row).",
        ),
        solution=case_sentence(case, head_names),
        difficulty=1,
        importance=4,
        context=f"{case.unsorted}:{case.x}:{case.y}:{case.z}:{case.head}",
    )


def no_triple_skips(model_wide: bool = True) -> tuple[Skipped, Skipped]:
    """Both DLA questions, on a task whose lists hold no close triple x < y < z."""
    reason = (
        "This model's lists have no room for three close values x < y < z, so there is no list to ask about."
    )
    return (
        Skipped(CROSS_SIGN, "Predict the sign of z→y", reason, model_wide),
        Skipped(LARGER_TOTAL, "Which prediction wins?", reason, model_wide),
    )


# --------------------------------------------------------------------------- URL parameters
PAGE = "mystery"
LIST, XYZ, HEAD = "mystery.list", "mystery.xyz", "mystery.head"
AUTO = "auto"  # the head: the copier of y


URL_PARAMS = (
    single_list_param("lists", LIST),
    triple_param("xyz", XYZ),
    head_or_auto_param("head", HEAD, AUTO),
)


# --------------------------------------------------------------------------- the page, declared once
DIRECT_PATH = "mystery.direct_path"
CROSS_SIGN = "mystery.cross_sign"
LARGER_TOTAL = "mystery.larger_total"

LESSON = Lesson(
    key=PAGE,
    path="pages/5_mystery.py",
    order=50,
    title="Mystery",
    icon="🕵️",
    quizzes=(DIRECT_PATH, CROSS_SIGN, LARGER_TOTAL),
    code=(code.DIRECT, code.DLA),
)
