"""Report CLI: wall time of `python -m sortlist_core report --json` in a fresh process (imports
included), checked to print valid JSON. Baseline: the same process only importing what the
command imports (`sortlist_core.cli` and `sortlist_core.report`); ratio = report / imports."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from .common import ROOT, Context, Row, Target, median

FIGURE = "report CLI"
TARGET = Target("value", "<=", 30.0)


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return seconds, proc.stdout


def run(ctx: Context) -> list[Row]:
    args = ["-m", "sortlist_core", "report", "--json"]
    if ctx.model_path is not None and "bundled_model.pt" not in ctx.model_path.name:
        args += ["--checkpoint", str(ctx.model_path)]
    imports = ["-c", "import sortlist_core.cli, sortlist_core.report"]
    full, bare = [], []
    for _ in range(ctx.reps(3)):
        seconds, out = _timed(args, ctx.env)
        report = json.loads(out)  # must be one valid JSON object
        if "metrics" not in report:
            raise RuntimeError("report --json printed no 'metrics'")
        full.append(seconds)
        bare.append(_timed(imports, ctx.env)[0])
    value, base = median(full), median(bare)
    return [
        Row(
            FIGURE,
            "report CLI: `python -m sortlist_core report --json`",
            value=value,
            unit="s",
            baseline=base,
            baseline_label="imports only",
            ratio=value / base,
            ratio_label="× the imports",
            target="≤ 30 s",
            targets=(TARGET,),
            note=f"accuracy {report['metrics'].get('accuracy', float('nan')):.4f} on the eval set",
            details={"report_s": full, "imports_s": bare, "args": args},
        )
    ]
