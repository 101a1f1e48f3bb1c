"""Memory: the server's RSS (psutil, the Streamlit process; its children, the code-exercise
worker with torch and TransformerLens pre-imported, are a separate row) after one browser session has
visited every page, and the RSS added per extra session over 10 more sessions (each a separate
browser context that also visits every page; all stay open while RSS is read). The per-session
figure is the least-squares slope of RSS over the extra sessions (RSS read after each one), so a
one-off drop after the first session (freed temporaries, malloc trimming) does not hide it.

Baselines: the idle server right after /_stcore/health (before any session), and the first
session's own cost (model, imports and caches loaded on first use)."""

from __future__ import annotations

import asyncio
import statistics

from . import browser
from .common import ERROR, ROOT, Context, Row, Target, error_row, mb
from .reruns import pages
from .server import StreamlitServer

FIGURE = "memory"
TARGET_TOTAL = Target("value", "<=", 900.0)
TARGET_PER_SESSION = Target("value", "<=", 20.0)
SETTLE_S = 1.5
WORKER_ROW = "memory: code-exercise worker RSS (a separate process)"


async def _session(pw_browser, url: str, keys: list[str], problems: list[str]) -> tuple[object, list[float]]:
    context = await browser.new_context(pw_browser)
    page, load = await browser.open_session(context, url)
    times = [load.seconds]
    if load.exception:
        problems.append(f"first page: {load.exception}")
    for key in keys:
        try:
            visit = await browser.visit(page, key)
        except Exception as exc:
            raise RuntimeError(f"page '{key}': {exc}") from None
        times.append(visit.seconds)
        if visit.exception:
            problems.append(f"{key}: {visit.exception}")
    return context, times


async def _measure(ctx: Context, n_extra: int, extra_visit_all: bool) -> dict:
    from playwright.async_api import async_playwright

    infos = [p for p in pages() if (ROOT / p.path).is_file()]
    keys = [p.key for p in infos[1:]]  # the first (default) page is what the root URL shows
    problems: list[str] = []
    result: dict = {"pages": [infos[0].key, *keys] if infos else []}
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)
        try:
            with StreamlitServer(ctx.env) as server:
                await asyncio.sleep(SETTLE_S)
                result["idle"] = server.rss_parts()[0]
                ctx.log(
                    f"memory: idle server {mb(result['idle']):.0f} MB; first session visits {len(keys) + 1} pages"
                )
                _, times = await _session(pw_browser, server.url, keys, problems)
                result["first_session_page_s"] = [round(t, 2) for t in times]
                await asyncio.sleep(SETTLE_S)
                result["one_session"], result["worker"] = server.rss_parts()
                samples = [result["one_session"]]
                for i in range(n_extra):
                    await _session(pw_browser, server.url, keys if extra_visit_all else [], problems)
                    await asyncio.sleep(0.3)
                    samples.append(server.rss_parts()[0])
                    ctx.log(f"memory: session {i + 2}: {mb(samples[-1]):.0f} MB")
                await asyncio.sleep(SETTLE_S)
                result["after_extra"] = server.rss_parts()[0]
                result["samples"] = samples
        finally:
            await pw_browser.close()
    result["problems"] = problems
    return result


def run(ctx: Context) -> list[Row]:
    n_extra = 2 if ctx.quick else 10
    try:
        r = asyncio.run(_measure(ctx, n_extra, extra_visit_all=not ctx.quick))
    except Exception as exc:  # noqa: BLE001 - reported as failed rows
        return [
            error_row(FIGURE, "memory: server RSS after one session visited every page", exc, "≤ 900 MB"),
            error_row(FIGURE, "memory: added RSS per extra session", exc, "≤ 20 MB"),
            error_row(FIGURE, WORKER_ROW, exc, "reported"),
        ]
    idle, one, after = mb(r["idle"]), mb(r["one_session"]), mb(r["after_extra"])
    extra = [mb(x) for x in r["samples"][1:]]  # RSS after each extra session
    per = statistics.linear_regression(range(len(extra)), extra).slope if len(extra) >= 2 else after - one
    worker = mb(r["worker"])
    details = {
        k: v for k, v in r.items() if k not in ("idle", "one_session", "after_extra", "samples", "worker")
    }
    details["rss_mb"] = [round(mb(x), 1) for x in r["samples"]]  # after session 1, 2, ...
    details["rss_after_settling_mb"] = round(after, 1)
    rows = [
        Row(
            FIGURE,
            "memory: server RSS after one session visited every page",
            value=one,
            unit="MB",
            baseline=idle,
            baseline_label="idle server",
            ratio=one / idle,
            ratio_label="× idle",
            target="≤ 900 MB",
            targets=(TARGET_TOTAL,),
            note=f"the Streamlit process; pages visited: {', '.join(r['pages'])}",
            details=details,
        ),
        Row(
            FIGURE,
            f"memory: added RSS per extra session ({n_extra} sessions)",
            value=per,
            unit="MB",
            baseline=one - idle,
            baseline_label="first session",
            ratio=per / (one - idle) if one > idle else None,
            ratio_label="× the first session",
            target="≤ 20 MB",
            targets=(TARGET_PER_SESSION,),
            note="each extra session visits every page"
            if not ctx.quick
            else "quick: extra sessions open the first page only",
        ),
        Row(
            FIGURE,
            WORKER_ROW,
            value=worker,
            unit="MB",
            baseline=one,
            baseline_label="the server process",
            ratio=worker / one if one else None,
            ratio_label="× the server",
            target="reported",
            note="one per server, started at the first session; learner code runs in children it forks",
        ),
    ]
    if r["problems"]:
        for row in rows:
            row.status, row.error = ERROR, f"a page raised: {r['problems'][0]}"
    return rows
