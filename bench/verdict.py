"""Click → verdict in Chromium, and what a verdict weighs on the wire.

A real server (`python -m sortlist_app.server.serve`) and Chromium: the OV/QK page, the reference
solution of "Full OV circuit per head" typed into its editor, then "Check my code" pressed
`reps` times (after one warm-up check). Each is timed from the click until the fragment run has
finished with the verdict on screen (`*_drawn`: and its figure drawn). The code exercise is an
`st.fragment`, so only the exercise box reruns. Bytes per verdict: the websocket frames the
server sent from the click to the end of that run (median over the repeated checks; the
first one's too: Streamlit sends a message over 10 kB that the browser already holds, such as
an unchanged figure, as a reference to it).

Baseline, in the same run: the server-side check alone, `check_submission` (runner job plus
the trusted comparison) on the same model and solution, timed in this process with its own
runner (the server's share of a click; target: click → verdict ≤ 3× it). For the bytes: what the
same verdict sent before (your output and the reference as two float64 figures), serialised
as `st.plotly_chart` does.
"""

from __future__ import annotations

import asyncio
import time

from .common import Context, Row, Target, error_row, median

FIGURE = "code exercise check"
PAGE_KEY = "circuits"
TIMEOUT_S = 120
TYPE_SETTLE_S = 1.2  # the editor sends its text after a short debounce
TARGET_RATIO = Target("ratio", "<=", 3.0)

_VERDICT_JS = """
({before, title}) => {
  if ((window.__benchRunsDone || 0) <= before) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const box = [...document.querySelectorAll('[data-testid="stVerticalBlock"]')]
    .filter(b => b.innerText.includes(title)).pop();
  return !!(box && box.querySelector('[data-testid="stAlertContentSuccess"]'));
}
"""

_DRAWN_JS = """
(title) => {
  const box = [...document.querySelectorAll('[data-testid="stVerticalBlock"]')]
    .filter(b => b.innerText.includes(title)).pop();
  const charts = box ? [...box.querySelectorAll('[data-testid="stPlotlyChart"]')] : [];
  return charts.length > 0 && charts.every(c => c.querySelector('.main-svg'));
}
"""


async def type_solution(page, title: str, code: str) -> None:
    """Replace the editor's text in the exercise box titled `title` with `code`."""
    box = (
        page.locator('[data-testid="stVerticalBlock"]').filter(has=page.get_by_text(title, exact=False)).last
    )
    await box.scroll_into_view_if_needed()
    await box.frame_locator("iframe").first.locator(".ace_text-input").focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(code)
    await asyncio.sleep(TYPE_SETTLE_S)


async def _browser_checks(url: str, reps: int) -> dict[str, list[float]]:
    from playwright.async_api import async_playwright

    from sortlist_core.exercises.circuits import FULL_OV

    from . import browser

    ex = FULL_OV
    title = f"Write the analysis yourself: {ex.title}"
    out: dict[str, list[float]] = {"verdict_s": [], "drawn_s": [], "bytes": []}
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)
        try:
            context = await browser.new_context(pw_browser)
            page = await context.new_page()
            received: list[int] = []  # before the page opens its websocket
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
            await page.goto(f"{url}/{PAGE_KEY}", wait_until="commit", timeout=TIMEOUT_S * 1000)
            load = await browser.wait_ready(page, 1, TIMEOUT_S)
            if load.exception:
                raise RuntimeError(f"the OV/QK page raised: {load.exception}")
            await type_solution(page, title, ex.solution)
            await browser.wait_ready(page, 1, TIMEOUT_S)
            button = (
                page.locator('[data-testid="stVerticalBlock"]')
                .filter(has=page.get_by_text(title, exact=False))
                .last.get_by_role("button", name="Check my code")
            )
            for i in range(reps + 1):  # the first check starts the worker if it is not up yet
                before = await page.evaluate("() => window.__benchRunsDone || 0")
                n_frames = len(received)
                t0 = time.perf_counter()
                await button.click()
                await page.wait_for_function(
                    _VERDICT_JS, arg={"before": before, "title": title}, timeout=TIMEOUT_S * 1000, polling=5
                )
                t_verdict = time.perf_counter() - t0
                await page.wait_for_function(_DRAWN_JS, arg=title, timeout=TIMEOUT_S * 1000, polling=5)
                t_drawn = time.perf_counter() - t0
                state = await page.evaluate("() => !!document.querySelector('[data-testid=\"stException\"]')")
                if state:
                    raise RuntimeError("the check showed an exception")
                if not i:
                    out["first_bytes"] = [float(sum(received[n_frames:]))]
                if i:
                    out["verdict_s"].append(t_verdict)
                    out["drawn_s"].append(t_drawn)
                    out["bytes"].append(float(sum(received[n_frames:])))
                await asyncio.sleep(0.3)
            await context.close()
        finally:
            await pw_browser.close()
    return out


def _server_side_checks(ctx: Context, reps: int) -> list[float]:
    """`check_submission` alone on the same model and solution, warm (this process's runner)."""
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.exercises.check import check_submission
    from sortlist_core.exercises.circuits import FULL_OV

    ex = FULL_OV
    model = load_checkpoint(ctx.model_path)
    times = []
    for i in range(reps + 1):
        t0 = time.perf_counter()
        verdict = check_submission(ex, model, ex.solution, session="bench-verdict-alone")
        if not verdict.passed:
            raise RuntimeError(f"the reference solution failed: {verdict.message}")
        if i:
            times.append(time.perf_counter() - t0)
    return times


def _figure_bytes_before(ctx: Context) -> int:
    """A verdict's figures as they were sent before: yours and the reference, float64 each."""
    import numpy as np
    import plotly.io

    from sortlist_core import figures
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.exercises.circuits import FULL_OV
    from sortlist_core.exercises.local import check_in_process

    model = load_checkpoint(ctx.model_path)
    ex = FULL_OV
    verdict = check_in_process(ex, model, ex.solution)
    total = 0
    for values in (verdict.got, verdict.expected):
        fig = figures.ov_circuit_heatmaps(np.asarray(values, dtype=float), model.config.head_names)
        total += len(plotly.io.to_json(fig, validate=False))
    return total


def run(ctx: Context) -> list[Row]:
    from harness.server import SERVE, StreamlitServer
    from sortlist_core.runner import RunnerMode, runner_mode

    name = "check → verdict in Chromium (correct full OV, click → verdict on screen)"
    if runner_mode().mode is RunnerMode.OFF:
        return [error_row(FIGURE, name, "code exercises are off on this machine", "≤ 3× the check alone")]
    reps = ctx.reps(10)
    try:
        with StreamlitServer(env=ctx.env, launch=SERVE) as server:
            browser_times = asyncio.run(_browser_checks(server.url, reps))
        alone = _server_side_checks(ctx, reps)
        before_bytes = _figure_bytes_before(ctx)
    except Exception as exc:  # noqa: BLE001 - reported as failed rows
        return [
            error_row(FIGURE, name, exc, "≤ 3× the check alone"),
            error_row(FIGURE, "bytes per verdict", exc, "reported"),
        ]
    p50, base = median(browser_times["verdict_s"]), median(alone)
    drawn = median(browser_times["drawn_s"])
    per_verdict = median(browser_times["bytes"])
    return [
        Row(
            FIGURE,
            name,
            value=p50,
            unit="s",
            baseline=base,
            baseline_label="check_submission alone, same run",
            ratio=p50 / base,
            ratio_label="× the check alone",
            target="≤ 3× the check alone",
            targets=(TARGET_RATIO,),
            note=f"p50 of {len(browser_times['verdict_s'])} checks; figure drawn after {drawn:.2f} s",
            details={k: [round(x, 4) for x in v] for k, v in browser_times.items() if k.endswith("_s")}
            | {"alone_s": [round(x, 4) for x in alone]},
        ),
        Row(
            FIGURE,
            "bytes per verdict (websocket, click → run finished)",
            value=per_verdict / 1e3,
            unit="kB",
            baseline=before_bytes / 1e3,
            baseline_label="yours + reference as float64 figures (before)",
            ratio=before_bytes / per_verdict if per_verdict else None,
            ratio_label="× smaller",
            target="reported",
            note=(
                f"median of repeated checks; the first verdict {browser_times['first_bytes'][0] / 1e3:.1f} kB "
                "(Streamlit's browser cache then holds the unchanged figure); a passing output is drawn "
                "once (it equals the reference), values as float32"
            ),
            details={
                "bytes": browser_times["bytes"],
                "first_bytes": browser_times["first_bytes"][0],
                "before_figures_bytes": before_bytes,
            },
        ),
    ]
