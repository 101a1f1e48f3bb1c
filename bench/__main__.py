"""`python -m bench [--quick] [--json PATH] [--only NAME ...]`: measure, print the table.

Exit status: 0 when every measurement ran (missed targets are printed, not enforced: this is a
measurement, and the machine may be busy); 1 when a measurement failed (raised, or the app showed
an exception), so `--quick` in the test command catches a broken benchmark or app.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from .common import ERROR, ROOT, Context, Row, error_row, machine, resolve_model
from .table import notes, text_table

# name -> (module, figure), run in this order; training last, because it adapts its time caps
# to what is left of the 10-minute budget.
MEASUREMENTS: dict[str, tuple[str, str]] = {
    "cold_start": ("bench.cold_start", "cold start"),
    "reruns": ("bench.reruns", "warm rerun"),
    "interaction": ("bench.interaction", "interaction"),
    "attention_bytes": ("bench.attention_bytes", "bytes per attention view"),
    "memory": ("bench.memory", "memory"),
    "concurrency": ("bench.concurrency", "concurrency"),
    "failover": ("bench.failover", "failover"),
    "advex": ("bench.advex", "adversarial search"),
    "report_cli": ("bench.report_cli", "report CLI"),
    "code_runner": ("bench.code_runner", "code exercise check"),
    "explain": ("bench.explain", "explain it"),
    "instructor": ("bench.instructor", "instructor page"),
    "verdict": ("bench.verdict", "click to verdict"),
    "training": ("bench.training", "training"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each measurement once, on small inputs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--budget", type=float, default=570.0, metavar="SECONDS",
                        help="time budget of the whole run; training caps its slow runs to fit (default 570)")  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), metavar="NAME",
                        help=f"run only these: {', '.join(MEASUREMENTS)}")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.json is not None:
        args.json = args.json.resolve()  # relative to where the command was run
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    model_path, model_label, env = resolve_model()
    # In-process Streamlit (AppTest, cached helpers imported bare) warns about the missing
    # runtime on every import; keep the benchmark's own output readable. Servers keep `env`.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    ctx = Context(
        quick=args.quick, model_path=model_path, model_label=model_label, env=env, budget_s=args.budget
    )
    started_utc = datetime.now(UTC)
    info = machine()
    ctx.log(
        f"{'quick' if args.quick else 'full'} run on {info['cpu']} ({info['usable_cpus']} CPUs), model: {model_label}"
    )
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in args.only or list(MEASUREMENTS):
        module_name, figure = MEASUREMENTS[name]
        ctx.log(f"--- {name}")
        t0 = time.perf_counter()
        try:
            rows += importlib.import_module(module_name).run(ctx)
        except Exception as exc:  # noqa: BLE001 - one failed measurement must not stop the others
            traceback.print_exc()
            rows.append(error_row(figure, name, exc))
        timings[name] = round(time.perf_counter() - t0, 1)
        ctx.log(f"{name} done in {timings[name]:.1f} s")
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    total = time.perf_counter() - ctx.started

    print()
    print(f"sortlist benchmark ({'quick: one repetition, small inputs' if args.quick else 'full'}), "
          f"{started_utc:%Y-%m-%d %H:%M} UTC, {total:.0f} s")  # fmt: skip
    print(f"machine: {info['cpu']}, {info['usable_cpus']} CPUs, {info['memory_gb']} GB, {info['os']}, "
          f"Python {info['python']}, torch {info.get('torch')}, streamlit {info.get('streamlit')}; "
          f"load average {info['load_average_start'][0]} → {info['load_average_end'][0]}")  # fmt: skip
    print(f"model: {model_label}")
    print()
    print(text_table(rows))
    extra = notes(rows)
    if extra:
        print("\nnotes:\n" + extra)
    missed = [r for r in rows if r.met is False]
    errors = [r for r in rows if r.status == ERROR]
    if missed:
        print(
            f"\nMISSED TARGETS ({len(missed)}){' (quick mode: small inputs, not meaningful)' if args.quick else ''}:"
        )
        for r in missed:
            print(f"  - {r.name}: target {r.target}")
    if errors:
        print(f"\nFAILED MEASUREMENTS ({len(errors)}):")
        for r in errors:
            print(f"  - {r.name}: {r.error}")

    if args.json:
        payload = {
            "date_utc": started_utc.isoformat(timespec="seconds"),
            "quick": args.quick,
            "machine": info,
            "model": {"path": str(model_path) if model_path else None, "label": model_label},
            "elapsed_s": round(total, 1),
            "seconds_per_measurement": timings,
            "rows": [r.to_dict() for r in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
