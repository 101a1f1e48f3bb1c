"""The one number formatter, shared by the prose (`sortlist_app.lessons.wording` re-exports it)
and the figures' cell labels: significant figures and the U+2212 minus sign everywhere, so a
number in a heatmap cell reads exactly as the same number in the sentence next to it."""

from __future__ import annotations

import math

# One minus sign everywhere: U+2212, which is also what plotly's d3 formats draw in figures, so a
# number in the prose reads the same as the same number in a chart next to it.
MINUS = "\u2212"
SIG_DIGITS = 3  # significant figures of every small number the app shows (solutions, tables, hovers)


def minus(text: str) -> str:
    """'-1.53' -> '−1.53' (every formatter here ends with it)."""
    return text.replace("-", MINUS)


def sig_figs(value: float, digits: int = SIG_DIGITS) -> str:
    """The one formatter of small numbers of any scale: `digits` significant figures, fixed
    notation, U+2212 minus: 0.0021347 -> '0.00213', -0.28 -> '−0.280', 13.01 -> '13.0'."""
    value = float(value)
    if not math.isfinite(value):
        return minus(str(value))
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if float(text) == 0:  # rounding can carry into a new digit; never show a nonzero value as 0
        text = f"{value:.{decimals + 1}f}"
    return minus(text)


def signed(value: float, digits: int = SIG_DIGITS) -> str:
    """`sig_figs` with an explicit sign: '+0.412', '−0.00089'."""
    text = sig_figs(value, digits)
    return text if value <= 0 else "+" + text
