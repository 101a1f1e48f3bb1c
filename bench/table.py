"""The results table: plain text for the terminal, Markdown for the README."""

from __future__ import annotations

from collections.abc import Sequence

from .common import ERROR, NA, Row

HEADER = ("figure", "measured", "baseline", "ratio", "target", "met?")


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
    if unit == "kB":
        return f"{value:.1f} kB" if value < 100 else f"{value:,.0f} kB"
    if unit == "MB":
        return f"{value:.1f} MB" if value < 100 else f"{value:,.0f} MB"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:.3g} {unit}".strip()


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return "—"
    r = row.ratio
    text = f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"
    return f"{text}{row.ratio_label if row.ratio_label.startswith('×') else ' ' + row.ratio_label}".strip()


def met_text(row: Row) -> str:
    if row.status == ERROR:
        return "ERROR"
    if row.status == NA:
        return "n/a"
    if row.met is None:
        return "—" if not row.targets else "?"
    return "yes" if row.met else "MISSED"


def cells(row: Row) -> tuple[str, ...]:
    if row.status == NA:
        return (row.name, "n/a", "—", "—", row.target or "—", "n/a")
    if row.status == ERROR and row.value is None:
        return (row.name, "error", "—", "—", row.target or "—", "ERROR")
    baseline = fmt(row.baseline, row.unit)
    if row.baseline is not None and row.baseline_label:
        baseline += f" ({row.baseline_label})"
    return (
        row.name,
        row.display or fmt(row.value, row.unit),
        baseline,
        fmt_ratio(row),
        row.target or "—",
        met_text(row),
    )


def text_table(rows: Sequence[Row]) -> str:
    body = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(HEADER))]
    sep = "-+-".join("-" * w for w in widths)
    lines = [" | ".join(c.ljust(w) for c, w in zip(body[0], widths)), sep]
    lines += [" | ".join(c.ljust(w) for c, w in zip(line, widths)) for line in body[1:]]
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" for _ in HEADER) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def notes(rows: Sequence[Row]) -> str:
    """One line per row that has a note or an error."""
    out = []
    for r in rows:
        if r.error:
            out.append(f"  {r.name}: ERROR {r.error}")
        if r.note:
            out.append(f"  {r.name}: {r.note}")
    return "\n".join(out)
