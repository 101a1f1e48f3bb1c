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

from harness.server import SERVE, StreamlitServer

from . import browser
from .common import ERROR, ROOT, Context, Row, Target, error_row, mb
from .reruns import pages

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
            with StreamlitServer(env=ctx.env, launch=SERVE) as server:
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
    return [*rows, replica_row(ctx)]


# --------------------------------------------------------------------------- a replica

REPLICA_ROW = "memory: a replica (server + code worker) after one session visited every page and checked one exercise on each"
TARGET_REPLICA = Target("value", "<=", 1000.0)


async def _visit_and_check(ctx: Context, env: dict[str, str]) -> dict:
    """One browser session: every page, and on each lesson page its first code exercise checked
    with the reference solution (a pass); then the replica's memory, server and worker."""
    import importlib

    from playwright.async_api import async_playwright

    from harness.server import SERVE, StreamlitServer

    from .verdict import TIMEOUT_S, type_solution

    infos = [p for p in pages() if (ROOT / p.path).is_file()]
    checked: list[str] = []
    problems: list[str] = []
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)
        try:
            with StreamlitServer(env=env, launch=SERVE) as server:
                context = await browser.new_context(pw_browser)
                page, load = await browser.open_session(context, server.url)
                if load.exception:
                    problems.append(f"first page: {load.exception}")
                for i, info in enumerate(infos):
                    if i:
                        visit = await browser.visit(page, info.key)
                        if visit.exception:
                            problems.append(f"{info.key}: {visit.exception}")
                    try:
                        lesson = importlib.import_module(f"sortlist_app.lessons.{info.key}")
                    except ImportError:
                        continue
                    code = getattr(getattr(lesson, "LESSON", None), "code", ())
                    if not code:
                        continue
                    ex = code[0]
                    title = f"Write the analysis yourself: {ex.title}"
                    box = (
                        page.locator('[data-testid="stVerticalBlock"]')
                        .filter(has=page.get_by_text(title, exact=False))
                        .last
                    )
                    await type_solution(page, title, ex.solution)
                    await box.get_by_role("button", name="Check my code").click()
                    await box.locator('[data-testid="stAlertContentSuccess"]').first.wait_for(
                        timeout=TIMEOUT_S * 1000
                    )
                    checked.append(ex.id)
                await asyncio.sleep(SETTLE_S)
                parts = server.memory_parts()
                await context.close()
        finally:
            await pw_browser.close()
    return {"parts": parts, "checked": checked, "problems": problems, "pages": [p.key for p in infos]}


def replica_row(ctx: Context) -> Row:
    try:
        r = asyncio.run(_visit_and_check(ctx, ctx.env))
    except Exception as exc:  # noqa: BLE001 - reported as a failed row
        return error_row(FIGURE, REPLICA_ROW, exc, "≤ 1000 MB")
    p = {k: mb(v) for k, v in r["parts"].items()}
    total = p["server_rss"] + p["worker_rss"]
    row = Row(
        FIGURE,
        REPLICA_ROW,
        value=total,
        unit="MB",
        baseline=p["server_pss"] + p["worker_pss"],
        baseline_label="PSS, shared pages counted once",
        ratio=total / p["server_rss"] if p["server_rss"] else None,
        ratio_label="× the server alone",
        target="≤ 1000 MB (RSS)",
        targets=(TARGET_REPLICA,),
        note=(
            f"RSS server {p['server_rss']:.0f} + worker {p['worker_rss']:.0f} MB; "
            f"USS server {p['server_uss']:.0f} + worker {p['worker_uss']:.0f} MB; checked {', '.join(r['checked'])}"
        ),
        details={"mb": {k: round(v, 1) for k, v in p.items()}, "checked": r["checked"], "pages": r["pages"]},
    )
    if r["problems"]:
        row.status, row.error = ERROR, f"a page raised: {r['problems'][0]}"
    return row
