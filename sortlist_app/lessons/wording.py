"""Phrasing shared by every lesson: number formats (`pct`, `num`, `sig`, `count`), word lists,
filling a lesson's prose templates (`fill`: strict, a missing value raises `KeyError`) and facts
used by more than one page (`responsibility_facts`).

Pure functions, no streamlit: every sentence is derived from the loaded model's results, so it
stays true for any checkpoint (one with its two heads swapped gets correspondingly different,
still-true sentences). Templates use `str.format` placeholders (`{minor_head}`); a literal brace
is written `{{`.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sortlist_core.circuit_findings import copying_roles
from sortlist_core.circuits import HeadRange, HeadResponsibility
from sortlist_core.figures.layout import SIG_HOVER
from sortlist_core.metrics import Metrics
from sortlist_core.numbers import MINUS, SIG_DIGITS, minus, sig_figs, signed  # noqa: F401 (re-exported)

Values = dict[str, Any]

# --------------------------------------------------------------------------- claim thresholds
# A qualitative word is said only when the measured value behind it clears its threshold; below
# it the sentence is neutral (an untrained model must not be said to "copy" at 0.0%).
MOSTLY = 0.5  # "mostly", "the heads copy": more than half of the cases
CLEAR_SIGN = 0.1  # "anti-copying" / "copies them too": |value| >= 10% of the major head's own diagonal
MINOR_SHARE = 0.4  # "the less used head ... only": it is the stronger copier of < 40% of the values


def responsibility_facts(resp: HeadResponsibility, head_names: Sequence[str]) -> Values:
    """Which head copies which tokens: `minor_head` copies `minor_ranges`, and so on."""
    roles = copying_roles(resp)
    major, minor = roles.major, roles.minor
    n_values = len(resp.owner)
    per_head = [
        f"{head_name(head_names, h)} is the stronger copier of {len(resp.copies[h])} tokens ({ranges_text(resp.ranges_of(h))})"
        for h in range(len(head_names))
    ]
    return {
        "major_head": head_names[major],
        "minor_head": head_names[minor],
        "major_index": major,
        "minor_index": minor,
        "major_ranges": ranges_text(resp.ranges_of(major)),
        "minor_ranges": ranges_text(resp.ranges_of(minor)),
        "minor_main_range": resp.main_range(minor).label if resp.main_range(minor) else "no tokens",
        "major_count": len(resp.copies[major]),
        "minor_count": len(resp.copies[minor]),
        "n_values": n_values,
        "per_head_copying": "; ".join(per_head),
        "minor_sentence": minor_head_sentence(resp, head_names),
    }


def minor_head_sentence(resp: HeadResponsibility, head_names: Sequence[str]) -> str:
    """'Head 0.1 is the less used head: it is the stronger copier only for …', said only when it
    copies fewer than `MINOR_SHARE` of the values; an even split is called one."""
    roles = copying_roles(resp)
    major, minor = roles.major, roles.minor
    n_values = len(resp.owner)
    n_minor, n_major = len(resp.copies[minor]), len(resp.copies[major])
    minor_ranges, major_ranges = ranges_text(resp.ranges_of(minor)), ranges_text(resp.ranges_of(major))
    if n_minor < MINOR_SHARE * n_values:
        return (
            f"Head **{head_names[minor]}** is the less used head: it is the stronger copier only for tokens "
            f"**{minor_ranges}** ({n_minor} of {n_values}), and head **{head_names[major]}** deals with the "
            f"other {n_major} ({major_ranges})."
        )
    return (
        f"The heads share the vocabulary about evenly: head **{head_names[minor]}** is the stronger copier "
        f"for tokens **{minor_ranges}** ({n_minor} of {n_values}) and head **{head_names[major]}** for the "
        f"other {n_major} ({major_ranges})."
    )


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with every placeholder replaced; `KeyError` names a missing one."""
    missing = placeholders(template) - set(values)
    if missing:
        raise KeyError(f"prose placeholders without a value: {sorted(missing)}")
    return template.format_map(dict(values))


def pct(fraction: float, digits: int = 1) -> str:
    """0.9871 -> '98.7%'; never rounds a rare case away: 0.0002 -> '<0.1%', 0.9998 -> '>99.9%'."""
    text = f"{fraction:.{digits}%}"
    step = 10.0 ** -(digits + 2)  # the smallest fraction `digits` decimals can show
    if 0 < fraction and text == f"{0:.{digits}%}":
        return f"<{step:.{digits}%}"
    if fraction < 1 and text == f"{1:.{digits}%}":
        return f">{1 - step:.{digits}%}"
    return minus(text)


HOVER_FORMAT = SIG_HOVER  # the same, as the d3 format of the figures' hovertemplates


def round_sig(value: float, digits: int = SIG_DIGITS) -> float:
    """A table cell's value rounded to `digits` significant figures: 0.0021347 -> 0.00213."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def plural(n: int, noun: str) -> str:
    """The noun alone, agreeing with n: 1 -> 'position', 2 -> 'positions'."""
    return noun if n == 1 else noun + "s"


def count(n: int, noun: str) -> str:
    """1, 'position' -> '1 position'; 3 -> '3 positions'."""
    return f"{n:,} {plural(n, noun)}"


def num(value: float, digits: int = 3) -> str:
    """Fixed decimals, for losses and probabilities: 0.12345 -> '0.123'; a value too small for
    them keeps two significant digits instead of reading as zero: 0.0000731 -> '0.000073'."""
    if value != 0 and abs(value) < 0.5 * 10.0**-digits:
        digits = 1 - math.floor(math.log10(abs(value)))
    return minus(f"{value:.{digits}f}")


def sig(value: float, digits: int = 2) -> str:
    """Signed significant digits, for weights-based quantities of any scale: -0.000412 ->
    '−0.00041' (`signed`, the one formatter)."""
    return signed(value, digits)


def join_words(items: Iterable[str], conjunction: str = "and") -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def head_name(head_names: Sequence[str], head: int) -> str:
    """'head 0.1'."""
    return f"head {head_names[head]}"


def ranges_text(ranges: Sequence[HeadRange]) -> str:
    """Token ranges as prose: '0–27 and 37–50'."""
    return join_words(r.label for r in ranges) or "no tokens"


def metrics_facts(metrics: Metrics, seed: int) -> Values:
    """Headline metrics on the evaluation set (Problem and Model pages)."""
    return {
        "n_lists": metrics.n_lists,
        "seed": seed,
        "loss": num(metrics.loss),
        "mean_prob": num(metrics.mean_prob),
        "median_prob": num(metrics.median_prob),
        "min_prob": num(metrics.min_prob),
        "accuracy": pct(metrics.accuracy),
        "sequence_accuracy": pct(metrics.sequence_accuracy),
        "worst_position_accuracy": pct(metrics.worst_position_accuracy),
        "mean_vs_median": mean_vs_median_sentence(metrics.mean_prob, metrics.median_prob),
    }


def mean_vs_median_sentence(mean: float, median: float) -> str:
    """Compare the mean with the median only as far as the shown precision (`num`) can: at
    1.000 vs 1.000 neither is lower."""
    shown_mean, shown_median = num(mean), num(median)
    if shown_mean == shown_median:
        return "the mean and the median are equal at the precision shown"
    if mean < median:
        return "the mean is lower than the median, because a few hard predictions pull it down"
    return "the mean is higher than the median: a few confident predictions pull it up"
