"""Warm rerun per page, server-side: `streamlit.testing.v1.AppTest` runs `app.py` in this process
(navigation, sidebar and the page, exactly as the server does), switched to each page.

A page is run once to warm the caches, then `at.run()` is timed repeatedly (the same session
rerunning, as after any widget change that hits the caches). Baseline: the same rerun after
`st.cache_data.clear()` and `st.cache_resource.clear()` (model, datasets and every analysis
recomputed: a first visit in a warm process). Ratio = cleared / warm.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .common import ERROR, MODEL_PATH_ENV, ROOT, Context, Row, Target, error_row, median, na_row

FIGURE = "warm rerun"
TARGET = Target("value", "<=", 300.0)
TARGET_TEXT = "≤ 300 ms"


@dataclass(frozen=True)
class PageInfo:
    key: str
    path: str  # relative to app.py
    title: str


def pages() -> list[PageInfo]:
    """The app's page registry, or `pages/*.py` when the registry cannot be imported."""
    try:
        from sortlist_app.navigation import PAGES

        return [PageInfo(p.key, p.path, p.title) for p in PAGES]
    except Exception:  # noqa: BLE001 - fall back to the files
        return [
            PageInfo(p.stem.split("_", 1)[-1], f"pages/{p.name}", p.stem)
            for p in sorted((ROOT / "pages").glob("*.py"))
        ]


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def _exception_text(at) -> str | None:
    if len(at.exception):
        exc = at.exception[0]
        return (
            f"{getattr(exc, 'message', '')}".strip().splitlines()[0][:300]
            if getattr(exc, "message", "")
            else str(exc)[:300]
        )
    return None


def _timed_run(at, cpu: list[float] | None = None) -> float:
    """Wall seconds of one `at.run()`; its process CPU seconds (every thread) go to `cpu`:
    on a busy machine CPU time drifts far less than wall time."""
    c0, t0 = time.process_time(), time.perf_counter()
    at.run()
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return wall


def run(ctx: Context) -> list[Row]:
    from streamlit.testing.v1 import AppTest

    if MODEL_PATH_ENV in ctx.env:
        os.environ[MODEL_PATH_ENV] = ctx.env[MODEL_PATH_ENV]
    n_warm, n_cold = ctx.reps(7), ctx.reps(3)
    infos = pages()
    rows: list[Row] = []

    # Through app.py, as the server runs it; per page script alone if app.py itself cannot run.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    standalone_reason = None
    if _exception_text(at):
        standalone_reason = f"app.py raised ({_exception_text(at)}); each page script run alone"
        ctx.log(f"warm rerun: {standalone_reason}")

    for info in infos:
        name = f"warm rerun: {info.title}"
        if not (ROOT / info.path).is_file():
            rows.append(na_row(FIGURE, name, f"{info.path} does not exist yet", TARGET_TEXT))
            continue
        try:
            if standalone_reason:
                page_at = AppTest.from_file(str(ROOT / info.path), default_timeout=180)
            else:
                page_at = at
                page_at.switch_page(info.path)
            _clear_caches()
            first = _timed_run(page_at)  # warm-up: fills the caches
            problem = _exception_text(page_at)
            warm_cpu: list[float] = []
            warm = [_timed_run(page_at, warm_cpu) for _ in range(n_warm)]
            cold = []
            for _ in range(n_cold):
                _clear_caches()
                cold.append(_timed_run(page_at))
            problem = problem or _exception_text(page_at)
            w, c = median(warm) * 1e3, median(cold) * 1e3
            row = Row(
                FIGURE,
                name,
                value=w,
                unit="ms",
                baseline=c,
                baseline_label="caches cleared",
                ratio=c / w,
                ratio_label="× faster warm",
                target=TARGET_TEXT,
                targets=(TARGET,),
                note=f"CPU {median(warm_cpu) * 1e3:.0f} ms warm"
                + (f"; {standalone_reason}" if standalone_reason else ""),
                details={
                    "path": info.path,
                    "first_run_ms": round(first * 1e3, 1),
                    "warm_ms": [round(x * 1e3, 1) for x in warm],
                    "warm_cpu_ms": [round(x * 1e3, 1) for x in warm_cpu],
                    "cleared_ms": [round(x * 1e3, 1) for x in cold],
                    "elements": len(page_at.main),
                },
            )
            if problem:
                row.status, row.error = ERROR, f"{info.path} raised: {problem}"
            rows.append(row)
            ctx.log(f"{name}: warm {w:.0f} ms, cleared {c:.0f} ms")
        except Exception as exc:  # noqa: BLE001 - one page's failure is that page's row
            rows.append(error_row(FIGURE, name, exc, TARGET_TEXT))
    return rows
