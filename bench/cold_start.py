"""Cold start: `python -m sortlist_app.server.serve` → /_stcore/health answers → a browser session
has the first page fully rendered. Baseline: the same for a one-line Streamlit app (Streamlit's
own floor), measured in the same run, interleaved. Also interleaved, the floor of any first page
that shows the model's numbers: a one-line app that imports torch, loads the default model and
evaluates it, started in the background at launch as the app's warm start does
(`bench/cold_floor.py`). Plus where import time goes (`python -X importtime`)."""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from harness.server import SERVE, StreamlitServer, streamlit_run

from . import browser
from .common import ERROR, ROOT, Context, Row, Target, error_row, median

FIGURE = "cold start"
TARGET = Target("value", "<=", 8.0)
BARE_APP = 'import streamlit as st\n\nst.title("hello")\n'
FLOOR = ("bench.cold_floor",)  # the launch of the floor app


async def _one(ctx: Context, pw_browser, launch: tuple[str, ...]) -> dict:
    context = await browser.new_context(pw_browser)
    try:
        with StreamlitServer(env=ctx.env, launch=launch) as server:
            _, load = await browser.open_session(context, server.url, timeout_s=120)
            total = time.perf_counter() - server.t0
            return {
                "total_s": total,
                "health_s": server.health_s,
                "session_s": load.seconds,
                "title": load.title,
                "exception": load.exception,
            }
    finally:
        await context.close()


async def _measure(ctx: Context, reps: int, bare_path: Path) -> dict[str, list[dict]]:
    from playwright.async_api import async_playwright

    launches = {"app": SERVE, "bare": streamlit_run(bare_path), "floor": FLOOR}
    runs: dict[str, list[dict]] = {name: [] for name in launches}
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)  # started before the clock: not part of cold start
        try:
            for i in range(reps):
                ctx.log(f"cold start {i + 1}/{reps}")
                for name, launch in launches.items():  # interleaved: the same load for each
                    runs[name].append(await _one(ctx, pw_browser, launch))
        finally:
            await pw_browser.close()
    return runs


def cold_start(ctx: Context) -> list[Row]:
    reps = ctx.reps(3)
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        runs = asyncio.run(_measure(ctx, reps, bare))
    app_runs, bare_runs, floor_runs = runs["app"], runs["bare"], runs["floor"]
    value = median([r["total_s"] for r in app_runs])
    base = median([r["total_s"] for r in bare_runs])
    floor = median([r["total_s"] for r in floor_runs])
    row = Row(
        FIGURE,
        "cold start: launch → first page rendered",
        value=value,
        unit="s",
        baseline=base,
        baseline_label="1-line Streamlit app",
        ratio=value / base,
        ratio_label="× the bare app",
        target="≤ 8 s",
        targets=(TARGET,),
        note=(
            f"health {median([r['health_s'] for r in app_runs]):.2f} s + first session "
            f"{median([r['session_s'] for r in app_runs]):.2f} s (browser, first page '{app_runs[0]['title']}'); "
            f"{value / floor:.2f}× the floor row below (same run)"
        ),
        details={"app_runs": app_runs, "bare_runs": bare_runs},
    )
    floor_row = Row(
        FIGURE,
        "cold start floor: 1-line app that imports torch, loads the default model and evaluates it",
        value=floor,
        unit="s",
        baseline=base,
        baseline_label="1-line Streamlit app",
        ratio=floor / base,
        ratio_label="× the bare app",
        note=(
            f"the evaluation started in the background at launch, as the app's warm start does; "
            f"health {median([r['health_s'] for r in floor_runs]):.2f} s + first session "
            f"{median([r['session_s'] for r in floor_runs]):.2f} s; interleaved with the rows above"
        ),
        details={"floor_runs": floor_runs},
    )
    for r, these in ((row, app_runs), (floor_row, floor_runs)):
        exceptions = [x["exception"] for x in these if x["exception"]]
        if exceptions:
            r.status, r.error = ERROR, f"the first page raised: {exceptions[0]}"
    return [row, floor_row]


# --------------------------------------------------------------------------- imports

_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def app_imports() -> list[str]:
    """Top-level modules `app.py` and `pages/*.py` import, in first-seen order."""
    names: dict[str, None] = {}
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        try:
            tree = ast.parse(path.read_text(), str(path))
        except (OSError, SyntaxError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(a.name for a in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names[node.module] = None
                for alias in node.names:  # `from pkg import module` imports pkg.module
                    if _importable(f"{node.module}.{alias.name}"):
                        names[f"{node.module}.{alias.name}"] = None
    return [n for n in names if n != "__future__"]


def parse_importtime(stderr: str) -> tuple[float, dict[str, float]]:
    """(total seconds, self seconds per top-level package) from `-X importtime` output."""
    per_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if not m:
            continue
        self_us, _, _, module = m.groups()
        per_package[module.split(".")[0]] += int(self_us) / 1e6
        total += int(self_us) / 1e6
    return total, dict(per_package)


def _importtime(modules: list[str]) -> tuple[float, float, dict[str, float]]:
    code = "\n".join(f"import {m}" for m in modules) or "pass"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"importing {modules} failed: {proc.stderr.strip().splitlines()[-1:]}")
    total, per_package = parse_importtime(proc.stderr)
    return wall, total, per_package


def import_breakdown(ctx: Context) -> Row:
    modules = [m for m in app_imports() if _importable(m)]
    reps = ctx.reps(3)
    runs = []
    for _ in range(reps):
        runs.append(_importtime(modules))
        runs.append(_importtime(["streamlit"]))
    app = [r for i, r in enumerate(runs) if i % 2 == 0]
    bare = [r for i, r in enumerate(runs) if i % 2 == 1]
    totals = [r[1] for r in app]
    mid = app[sorted(range(len(app)), key=lambda i: totals[i])[len(app) // 2]]
    top = sorted(mid[2].items(), key=lambda kv: -kv[1])
    value, base = median(totals), median([r[1] for r in bare])
    return Row(
        FIGURE,
        "cold start: import time of the app's modules",
        value=value,
        unit="s",
        baseline=base,
        baseline_label="import streamlit",
        ratio=value / base if base else None,
        ratio_label="× streamlit alone",
        note="self time: " + ", ".join(f"{k} {v:.2f}" for k, v in top[:7]),
        details={
            "modules": modules,
            "wall_s": [r[0] for r in app],
            "self_s_by_package": {k: round(v, 4) for k, v in top},
        },
    )


def _importable(module: str) -> bool:
    """Whether `module` is an importable module (finding a submodule imports its parents)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def run(ctx: Context) -> list[Row]:
    rows = []
    for fn, name in (
        (cold_start, "cold start: launch → first page rendered"),
        (import_breakdown, "cold start: import time"),
    ):
        try:
            out = fn(ctx)
            rows.extend(out if isinstance(out, list) else [out])
        except Exception as exc:  # noqa: BLE001 - reported as a failed row
            rows.append(error_row(FIGURE, name, exc))
    return rows
