"""The README's benchmark table from a results file.

    python -m bench --json bench/results.json      # measure
    python -m bench.readme bench/results.json      # print the Markdown (date, machine, table)
    python -m bench.readme bench/results.json --write   # replace it in README.md

`--write` replaces only the text between the `<!-- bench:start -->` and `<!-- bench:end -->`
markers of README.md's `## Benchmarks` section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import ROOT, Row, Target
from .table import markdown_table

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def rows_from_json(payload: dict) -> list[Row]:
    rows = []
    for r in payload["rows"]:
        row = Row(
            r["figure"],
            r["name"],
            value=r["value"],
            unit=r["unit"],
            baseline=r["baseline"],
            baseline_label=r["baseline_label"],
            ratio=r["ratio"],
            ratio_label=r["ratio_label"],
            target=r["target"],
            status=r["status"],
            error=r["error"],
            note=r["note"],
            display=r.get("display", ""),
        )
        if r["met"] is not None:  # keep the recorded verdict
            row.targets = (Target("met", ">=", 1.0),)
            row.details = {"met": 1.0 if r["met"] else 0.0}
        rows.append(row)
    return rows


def markdown(payload: dict) -> str:
    m = payload["machine"]
    load = f"{m['load_average_start'][0]} → {m.get('load_average_end', ['?'])[0]}"
    lines = [
        f"Measured {payload['date_utc'].replace('T', ' ')[:16]} UTC"
        + (" (quick mode: one repetition, small inputs)" if payload.get("quick") else "")
        + f" in {payload['elapsed_s']:.0f} s on {m['cpu']}, {m['usable_cpus']} CPUs, {m['memory_gb']} GB,"
        f" {m['os']}; Python {m['python']}, torch {m.get('torch')}, streamlit {m.get('streamlit')};"
        f" 1-minute load average {load}. Model: {payload['model']['label']}."
        f" Raw numbers: [`bench/results.json`](bench/results.json)."
        + (
            " **The machine was busy when the run started (load average above its CPU count):"
            " absolute times are inflated; re-run on a quiet machine.**"
            # only the start: the run's own browser sessions (20 at once) load the machine by the end
            if m["load_average_start"][0] > m["usable_cpus"]
            else ""
        ),
        "",
        markdown_table(rows_from_json(payload)),
    ]
    return "\n".join(lines)


def write_readme(text: str, readme: Path = ROOT / "README.md") -> None:
    content = readme.read_text()
    if START not in content or END not in content:
        raise SystemExit(f"{readme} has no {START} ... {END} markers in its Benchmarks section")
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readme", description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=ROOT / "bench" / "results.json")
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    text = markdown(json.loads(args.results.read_text()))
    if args.write:
        write_readme(text)
        print(f"updated {ROOT / 'README.md'}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
