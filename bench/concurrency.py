"""Concurrency: 20 sessions load the Attention page at once.

On a server warmed by one earlier visit to the page (a running classroom server), 20 browser
contexts open `/attention` at the same moment; each latency runs from its `goto` to the page
fully rendered (plotly drawn, circuitsvis views filled). All must succeed: rendered within the
timeout, no exception on the page. Baseline: one session alone, same server, same page
(ratio = p50 / alone). The browser shares the machine's CPUs with the server, so these
latencies include client-side rendering; the agent-API row (`server.enableAgentApi`, one HTTP
request per session, no browser) isolates the server's share.

Server side, measured twice:
- one server process, as `bash scripts/run.sh` starts it (with and without the run gate,
  `sortlist_app/server/run_gate.py`). A Python process runs one thread at a time, so N equal runs
  cannot beat ~N/2 x one alone at the median, even served strictly one after another;
- the hosted set-up: 2 replicas (one per core) behind nginx, sharing PostgreSQL
  (`bench/deployment.py`), each session a new request through nginx. The target
  (20 at once: p50 <= 6x one alone) is on this row.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from harness.server import SERVE, StreamlitServer

from . import browser
from .common import ERROR, Context, Row, Target, error_row, median, percentile
from .deployment import classroom_deployment

FIGURE = "concurrency"
PAGE_KEY = "attention"
TIMEOUT_S = 180
ALL_SUCCEED = "all succeed"
# The agent API keeps each session until it has been idle for its TTL (default 15 min) and
# refuses new ones past 100 (a browser class has no such cap). Here each arrival's sessions are
# closed (idle 2 s) before the next one comes, so every arrival meets the same server.
AGENT_SESSIONS = {"STREAMLIT_SERVER_AGENT_SESSION_TTL": "2", "STREAMLIT_SERVER_AGENT_MAX_SESSIONS": "1000"}
BETWEEN_ARRIVALS_S = 4.0
ARRIVALS = 3  # a class arrives 3 times (new sessions each time); one arrival's p50 is noisy
MAX_RATIO = 6.0  # a class of 20 opening Attention at once, p50 within 6× one alone


async def _load(pw_browser, url: str) -> dict:
    context = await browser.new_context(pw_browser)
    t0 = time.perf_counter()
    try:
        _, load = await browser.open_session(context, url, timeout_s=TIMEOUT_S)
        return {
            "ok": load.exception is None,
            "s": time.perf_counter() - t0,
            "exception": load.exception,
            "context": context,
        }
    except Exception as exc:  # noqa: BLE001 - a failed session is a result, not a crash
        return {
            "ok": False,
            "s": time.perf_counter() - t0,
            "exception": f"{type(exc).__name__}: {exc}"[:300],
            "context": context,
        }


async def _browser_sessions(ctx: Context, server: StreamlitServer, n: int, n_alone: int) -> dict:
    from playwright.async_api import async_playwright

    url = f"{server.url}/{PAGE_KEY}"
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)
        try:
            warm = await _load(pw_browser, url)  # fills the server's caches
            await warm["context"].close()
            if not warm["ok"]:
                raise RuntimeError(f"the {PAGE_KEY} page did not render: {warm['exception']}")
            alone = []
            for _ in range(n_alone):
                r = await _load(pw_browser, url)
                await r["context"].close()
                alone.append(r)
            ctx.log(f"concurrency: alone {median([r['s'] for r in alone]):.2f} s; now {n} at once")
            results = await asyncio.gather(*(_load(pw_browser, url) for _ in range(n)))
            for r in results:
                await r["context"].close()
        finally:
            await pw_browser.close()
    for r in [*alone, *results]:
        r.pop("context", None)
    return {"alone": alone, "at_once": list(results), "warm_s": warm["s"]}


def _agent_interact(url: str) -> dict:
    request = urllib.request.Request(
        f"{url}/_stcore/agent/interact",
        data=json.dumps({"page": PAGE_KEY}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = json.loads(response.read())
        seconds = time.perf_counter() - t0
        text = json.dumps(body.get("tree", {}))
        exception = '"type": "exception"' in text
        ok = body.get("status") == "ready" and not exception
        return {"ok": ok, "s": seconds, "status": body.get("status"), "exception": exception}
    except Exception as exc:  # noqa: BLE001 - a failed request is a result
        return {"ok": False, "s": time.perf_counter() - t0, "status": f"{type(exc).__name__}: {exc}"[:200]}


def _class_arrives(
    ctx: Context, url: str, ns: tuple[int, ...], n_alone: int, label: str, warm_urls: tuple[str, ...] = ()
) -> dict[int, dict]:
    """On a server at `url` warmed through every URL of `warm_urls` (each replica, directly; else
    `url`): `n_alone` sessions one after another, then for each n in `ns`, `ARRIVALS` times
    (once in --quick) n new sessions at once, as a class arriving; latencies pooled."""
    for warm_url in warm_urls or (url,):
        warm = _agent_interact(warm_url)
        if not warm["ok"]:
            raise RuntimeError(f"agent API: the {PAGE_KEY} page did not render ({warm})")
    alone = [_agent_interact(url) for _ in range(n_alone)]
    time.sleep(BETWEEN_ARRIVALS_S)
    out = {}
    for n in ns:
        results = []
        for _ in range(1 if ctx.quick else ARRIVALS):
            with ThreadPoolExecutor(max_workers=n) as pool:
                results += pool.map(lambda _: _agent_interact(url), range(n))
            time.sleep(BETWEEN_ARRIVALS_S)  # the last arrival's sessions are closed (AGENT_SESSIONS)
        ctx.log(f"concurrency ({label}): {n} at once, p50 {percentile([r['s'] for r in results], 50):.2f} s")
        out[n] = {"alone": alone, "at_once": results, "warm_s": warm["s"]}
    return out


def _agent_sessions(ctx: Context, ns: tuple[int, ...], n_alone: int, gate: bool = True) -> dict[int, dict]:
    """One server process (`SORTLIST_RUN_GATE` on or off)."""
    env = dict(ctx.env, SORTLIST_RUN_GATE="1" if gate else "0", **AGENT_SESSIONS)
    with StreamlitServer(env=env, launch=SERVE, extra_args=("--server.enableAgentApi", "true")) as server:
        return _class_arrives(ctx, server.url, ns, n_alone, "one process" + ("" if gate else ", no gate"))


def _deployment_sessions(ctx: Context, ns: tuple[int, ...], n_alone: int) -> dict[int, dict]:
    """2 replicas behind nginx: each request without a routing cookie lands on either replica."""
    with classroom_deployment(
        ctx, replicas=2, database="sortlist_concurrency", env=AGENT_SESSIONS
    ) as deployment:
        direct = tuple(f"http://{r.address}" for r in deployment.replicas)
        return _class_arrives(ctx, deployment.base_url, ns, n_alone, "2 replicas + nginx", warm_urls=direct)


def _row(name: str, r: dict, n: int, note: str, max_ratio: float | None = None) -> Row:
    lat = [x["s"] for x in r["at_once"]]
    ok, total = sum(1 for x in r["at_once"] if x["ok"]), len(lat)  # n per arrival, pooled
    p50, p95 = percentile(lat, 50), percentile(lat, 95)
    alone = median([x["s"] for x in r["alone"]])
    row = Row(
        FIGURE,
        name,
        value=p50,
        unit="s",
        baseline=alone,
        baseline_label="one session alone",
        ratio=p50 / alone,
        ratio_label="× alone (p50)",
        target=ALL_SUCCEED + (f"; p50 ≤ {max_ratio:g}× alone" if max_ratio else ""),
        targets=(
            Target("succeeded", ">=", total),
            *((Target("ratio", "<=", max_ratio),) if max_ratio else ()),
        ),
        display=f"{ok}/{total} ok; p50 {p50:.2f} s, p95 {p95:.2f} s",
        note=note,
        details={"p50_s": p50, "p95_s": p95, "succeeded": ok, "n": n, **r},
    )
    if ok < total:
        failed = next(x for x in r["at_once"] if not x["ok"])
        row.status, row.error = ERROR, f"{total - ok} of {total} sessions failed, e.g. {failed}"
    return row


AGENT_NOTE = (
    f"latency = one POST /_stcore/agent/interact per session (a new session each); "
    f"{ARRIVALS} arrivals pooled (1 in --quick); alone = median of 5 sessions one after another"
)


def _agent_rows(
    ctx: Context, measure, ns: tuple[int, ...], label: str, n_target: int | None, note: str
) -> list[Row]:
    names = {k: f"concurrency: {k} agent-API sessions at once, {label} (p50)" for k in ns}
    try:
        by_n = measure()
    except Exception as exc:  # noqa: BLE001
        return [error_row(FIGURE, names[k], exc, ALL_SUCCEED) for k in ns]
    return [_row(names[k], by_n[k], k, note, max_ratio=MAX_RATIO if k == n_target else None) for k in ns]


def run(ctx: Context) -> list[Row]:
    n = 4 if ctx.quick else 20
    n_alone = ctx.reps(3)
    n_alone_agent = ctx.reps(5)
    rows = []
    name = f"concurrency: {n} browser sessions load Attention at once (p50)"
    try:
        with StreamlitServer(env=ctx.env, launch=SERVE) as server:
            r = asyncio.run(_browser_sessions(ctx, server, n, n_alone))
        rows.append(_row(name, r, n, "latency = goto → fully rendered, browser on the same CPUs"))
    except Exception as exc:  # noqa: BLE001
        rows.append(error_row(FIGURE, name, exc, ALL_SUCCEED))
    ns = (n, 3 * n)  # a class, and three classes at once (60 sessions)
    one = "one server process"
    rows += _agent_rows(ctx, lambda: _agent_sessions(ctx, ns, n_alone_agent), ns, one, None, AGENT_NOTE)
    if ctx.quick:  # the quick run (CI) checks that sessions succeed; the class rows need the full run
        return rows
    rows += _agent_rows(
        ctx,
        lambda: _agent_sessions(ctx, (n,), n_alone_agent, gate=False),
        (n,),
        f"{one}, SORTLIST_RUN_GATE=0",
        None,
        AGENT_NOTE + "; runs share the CPU instead of taking turns",
    )
    rows += _agent_rows(
        ctx,
        lambda: _deployment_sessions(ctx, ns, n_alone_agent),
        ns,
        "2 replicas behind nginx",
        n,
        AGENT_NOTE + "; through nginx to 2 replicas (one per core) sharing PostgreSQL",
    )
    return rows
