"""The Mystery page's logic as pure functions (no streamlit): which lists to analyse, the
sentences that explain the measured DLA, OV and direct-path results, and the exercise graders.

Every sentence is worded from the loaded model's numbers (signs decide the wording), so a
checkpoint with its heads swapped, or one that resolves the mystery differently, still reads true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from jaxtyping import Float

from sortlist_core.circuit_findings import direct_path_preference
from sortlist_core.circuits import HeadResponsibility
from sortlist_core.config import ModelConfig
from sortlist_core.data import InvalidListError, format_list, parse_unsorted_list
from sortlist_core.mystery import (
    DEFAULT_MYSTERY_LISTS,
    DirectPathExperiment,
    MysteryCase,
    OffsetProfile,
    check_xyz,
    offset_shapes,
    qk_puzzle,
    tally_cases,
)

from .grading import CORRECT, Grade
from .prose import join_words, pct

SIGNS = ("positive", "negative")
TOTALS = ("y", "z")


def _fits(cfg: ModelConfig, unsorted: Sequence[int]) -> bool:
    return len(unsorted) == cfg.list_len and all(0 <= v <= cfg.max_value for v in unsorted)


def default_cases(cfg: ModelConfig) -> list[tuple[tuple[int, ...], tuple[int, int, int]]]:
    """The write-up's four lists when they fit the model's task; otherwise lists built the same
    way (evenly spread values with a close triple x < y < z inserted) for its range."""
    cases = [(tuple(lst), xyz) for lst, xyz in DEFAULT_MYSTERY_LISTS if _fits(cfg, lst)]
    if cases:
        return cases
    m, L = cfg.max_value, cfg.list_len
    if L < 3 or m < 4:
        return []
    built = []
    for frac, gaps in ((0.3, (1, 2)), (0.5, (1, 1)), (0.6, (1, 1)), (0.6, (1, 3))):
        x = max(0, min(int(frac * m), m - sum(gaps)))
        triple = [x, x + gaps[0], x + gaps[0] + gaps[1]]
        others = [
            v
            for v in np.linspace(0, m, L + 6).round().astype(int).tolist()
            if v not in range(x - 1, triple[2] + 2)
        ]
        values = sorted(set(others))[: L - 3]
        if len(values) < L - 3:
            continue
        lst = tuple(sorted(values + triple))
        try:
            check_xyz(lst, *triple)
        except InvalidListError:
            continue
        built.append((lst, tuple(triple)))
    return built


@dataclass(frozen=True)
class CustomInput:
    unsorted: tuple[int, ...]
    xyz: tuple[int, int, int]


def parse_custom(list_text: str, xyz_text: str, cfg: ModelConfig) -> CustomInput:
    """The learner's list and (x, y, z); `InvalidListError` names the problem."""
    try:
        values = tuple(parse_unsorted_list(list_text, cfg.list_len, cfg.max_value))
    except InvalidListError as exc:
        raise InvalidListError(f"the list: {exc}") from None
    items = [t for t in str(xyz_text).replace("(", " ").replace(")", " ").replace(",", " ").split() if t]
    if len(items) != 3:
        raise InvalidListError(f"(x, y, z): enter three values such as `14, 15, 17`, got {len(items)}")
    try:
        x, y, z = (int(t) for t in items)
    except ValueError:
        raise InvalidListError("(x, y, z): the three values must be whole numbers") from None
    check_xyz(values, x, y, z)
    return CustomInput(values, (x, y, z))


def suggest_xyz(unsorted: Sequence[int]) -> tuple[int, int, int] | None:
    """The tightest consecutive sorted triple of a list: a natural (x, y, z) to try."""
    s = sorted(unsorted)
    if len(s) < 3:
        return None
    i = min(range(len(s) - 2), key=lambda k: s[k + 2] - s[k])
    return s[i], s[i + 1], s[i + 2]


# --------------------------------------------------------------------------- DLA cases


def case_title(i: int, case: MysteryCase, custom: bool = False) -> str:
    label = "Your list" if custom else f"List #{i}"
    return f"{label}<br>(x, y, z) = ({case.x}, {case.y}, {case.z})"


def case_panel_title(title: str) -> str:
    """`case_title` short enough for a 2×2 panel five to a row: the figure's title names (x, y, z)."""
    return title.replace("(x, y, z) = ", "")


def case_row(label: str, case: MysteryCase, head_names: Sequence[str]) -> dict[str, Any]:
    (yy, zy), (yz, zz) = case.dla  # dla[pred][src]
    return {
        "case": label,
        "list": format_list(case.unsorted),
        "x, y, z": f"{case.x}, {case.y}, {case.z}",
        "head": head_names[case.head],
        "attention x→y": round(float(case.attention[0]), 3),
        "attention x→z": round(float(case.attention[1]), 3),
        "y→y": round(float(yy), 3),
        "z→y": round(float(zy), 3),
        "y→z": round(float(yz), 3),
        "z→z": round(float(zz), 3),
        "total to y": round(case.total_to_y, 3),
        "total to z": round(case.total_to_z, 3),
        "model predicts": case.predicted,
        "p(y)": round(case.prob_y, 3),
        "p(z)": round(case.prob_z, 3),
    }


def _signed(v: float) -> str:
    return f"{v:+.2f}".replace("-", "−")


def _sign_word(v: float) -> str:
    return "positive" if v > 0 else "negative" if v < 0 else "zero"


def case_sentence(case: MysteryCase, head_names: Sequence[str]) -> str:
    """The resolution for one list, worded from its measured signs and sizes."""
    (yy, zy), (yz, zz) = (float(v) for v in case.dla[0]), (float(v) for v in case.dla[1])
    a_y, a_z = float(case.attention[0]), float(case.attention[1])
    head = f"head {head_names[case.head]}"
    attn = (
        f"{head} attends *more* to z ({a_z:.2f}) than to y ({a_y:.2f})"
        if a_z > a_y
        else f"{head} attends more to y ({a_y:.2f}) than to z ({a_z:.2f})"
    )
    cross = f"z→y is {_sign_word(zy)} ({_signed(zy)}) and y→z is {_sign_word(yz)} ({_signed(yz)})"
    diff = case.total_to_y - case.total_to_z
    if diff > 0:
        total = f"so y gets {diff:.2f} more in total ({case.total_to_y:.2f} vs {case.total_to_z:.2f} for z)"
    else:
        total = f"so z gets {-diff:.2f} more in total ({case.total_to_z:.2f} vs {case.total_to_y:.2f} for y)"
    verdict = (
        f"the model predicts {case.predicted}, the right answer y (p = {case.prob_y:.2f})"
        if case.predicted == case.y
        else f"the model predicts {case.predicted}, not y = {case.y} (p(y) = {case.prob_y:.2f}, p(z) = {case.prob_z:.2f})"
    )
    direct = ""
    if zz > yy:
        direct = f" Note that z→z ({_signed(zz)}) is larger than y→y ({_signed(yy)}): on their own, the copying terms favour z."
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
            f"head {name}: attending to s moves the logits of s − 1 by {_signed(shape.just_below)} and of s + 1 by {_signed(shape.just_above)} "
            f"(as a fraction of its boost to s itself; mean over offsets −{shapes.max_below}..−1: {_signed(shape.below_mean)}, "
            f"+1..+{shapes.max_above}: {_signed(shape.above_mean)})"
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
    protected = exp.cluster_acc_with >= exp.control_acc_with - 0.05
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
        "dp_verdict": (
            "**does** make them adversarial: without the direct path, lists with d, d+1, d+2 fail clearly more often than lists without d+2. "
            "So for this model the direct path *is* part of the answer"
            if exp.becomes_adversarial
            else "does **not** make them adversarial: without the direct path, lists with d, d+1, d+2 fail about as often as (or less often than) "
            "the same lists without d+2. The direct path is not what protects them"
        ),
    }


def direct_path_heatmap_facts(direct: Float[np.ndarray, "input_token pred"]) -> dict[str, Any]:
    pref = direct_path_preference(direct)
    favours = pref.next_fraction
    return {
        "dpm_next_fraction": pct(favours),
        "dpm_next_gap": f"{pref.mean_gap:+.3g}".replace("-", "−"),
        "dpm_could": "so it *could* be the answer"
        if favours > 0.5
        else "so on its own it is an unlikely answer, but let's test it",
    }


# --------------------------------------------------------------------------- exercises


def grade_sign(answer: Any, value: float, what: str) -> Grade:
    """'positive' / 'negative' for a measured attribution."""
    if answer not in SIGNS:
        return Grade(False, "Choose positive or negative.")
    truth = "positive" if value > 0 else "negative"
    if answer == truth:
        return Grade(True, f"{CORRECT} {what} is {_signed(value)}.")
    return Grade(
        False,
        f"Not {answer}. Think about the OV circuit's off-diagonal: when a head copies a source token s, what does it do to the logits of tokens just above or below s?",
    )


def grade_larger_total(answer: Any, case: MysteryCase) -> Grade:
    if answer not in TOTALS:
        return Grade(False, "Choose y or z.")
    truth = "y" if case.total_to_y > case.total_to_z else "z"
    if answer == truth:
        return Grade(True, f"{CORRECT} Total to y {case.total_to_y:.2f}, total to z {case.total_to_z:.2f}.")
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
            f"{CORRECT} Without the direct path, {pct(exp.cluster_acc_without)} of d, d+1, d+2 lists vs "
            f"{pct(exp.control_acc_without)} of control lists are still predicted right at d.",
        )
    return Grade(
        False,
        "Compare the accuracy of the cluster lists and the control lists *without* the direct path, in the table.",
    )


def triples_text(cases: Sequence[MysteryCase]) -> str:
    return join_words(f"({c.x}, {c.y}, {c.z})" for c in cases)
