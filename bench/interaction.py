"""Interaction: 10 custom lists entered on the Adversarial page → predictions, attention and
heatmaps ready.

Three rows:
- "core + figures": what the page computes for 10 new lists, called directly: predictions and
  attention patterns of all 10, the prediction heatmaps of the (up to 4) lists it draws,
  serialised as `st.plotly_chart` does, and one circuitsvis view's HTML. Baseline: the same with
  the model called one list at a time (ratio = one-at-a-time / batched).
- "on the Adversarial page" (the figure the target applies to): the editor, predictions and
  attention form an `st.fragment`, so an edit reruns only that section. `AppTest` runs that
  section alone (`sortlist_app.widgets.adversarial_editor.lists_section`, as the page's fragment calls
  it) after 10 new lists are typed into its text area. Baseline: the same edit in `AppTest` of
  the whole page (which is what an edit cost without the fragment).
- "typed in the browser": a real server and Chromium: 10 new lists typed into the editor and
  submitted (Ctrl+Enter), timed from the key press until the run has finished, and (note) until
  the browser has drawn the charts and the circuitsvis view. Baseline: a no-op whole-page rerun
  in the same browser (the "r" shortcut). No target: on this 2-core machine Chromium's drawing
  shares the CPU with the server, and the time is mostly the browser's.
New lists every repetition, so no cache ever answers.
"""

from __future__ import annotations

import asyncio
import os
import time

import numpy as np

from .common import MODEL_PATH_ENV, ROOT, Context, Row, Target, error_row, median

FIGURE = "interaction"
TARGET = Target("value", "<=", 150.0)
TARGET_TEXT = "≤ 150 ms"
N_LISTS = 10
PAGE = "pages/4_adversarial.py"
MAX_DRAWN = 4


def random_lists(n: int, list_len: int, max_value: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.choice(max_value + 1, size=list_len, replace=False).tolist() for _ in range(n)]


def compute(model, lists: list[list[int]]):
    """The model's part: predictions and attention patterns for `lists`."""
    from sortlist_core.adversarial import predict_lists
    from sortlist_core.attention import attention_patterns
    from sortlist_core.data import CustomSortedListDataset

    data = CustomSortedListDataset(lists, model.config.max_value)
    return predict_lists(model, lists), attention_patterns(model, data.toks), data.str_toks


def draw(model, preds, patterns, str_toks) -> int:
    """The page's figures, serialised as `st.plotly_chart` / `st.iframe` send them: the prediction
    heatmaps of up to `MAX_DRAWN` lists (the page draws at most 4 at a time) and one circuitsvis
    view. Returns the bytes produced."""
    import plotly.io

    from sortlist_app.widgets.attention_view import attention_html
    from sortlist_core import figures

    fig = figures.multiple_prediction_heatmaps(preds[:MAX_DRAWN])
    produced = len(plotly.io.to_json(fig, validate=False))
    produced += len(
        attention_html(str_toks[0], patterns[0], model.config.head_names, "/app/static/circuitsvis.js")
    )
    return produced


def core_work(model, lists: list[list[int]]) -> int:
    """Everything the page derives from the lists (predictions, attention, heatmaps)."""
    return draw(model, *compute(model, lists))


def one_at_a_time(model, lists: list[list[int]]) -> int:
    """The same, with the model called once per list."""
    import numpy as np

    parts = [compute(model, [one]) for one in lists]
    preds = [p for part in parts for p in part[0]]
    patterns = np.concatenate([part[1] for part in parts])
    str_toks = [t for part in parts for t in part[2]]
    return draw(model, preds, patterns, str_toks)


def core_row(ctx: Context, model) -> Row:
    cfg = model.config
    reps = ctx.reps(7)
    core_work(model, random_lists(N_LISTS, cfg.list_len, cfg.max_value, 0))  # warm-up (lazy imports)
    batched, looped, cpu = [], [], []
    for i in range(reps):
        lists = random_lists(N_LISTS, cfg.list_len, cfg.max_value, 1000 + i)
        c0, t0 = time.process_time(), time.perf_counter()
        core_work(model, lists)
        batched.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        lists = random_lists(N_LISTS, cfg.list_len, cfg.max_value, 2000 + i)
        t0 = time.perf_counter()
        one_at_a_time(model, lists)
        looped.append(time.perf_counter() - t0)
    b, loop = median(batched) * 1e3, median(looped) * 1e3
    return Row(
        FIGURE,
        "interaction: 10 lists, core + figures",
        value=b,
        unit="ms",
        baseline=loop,
        baseline_label="one list at a time",
        ratio=loop / b,
        ratio_label="× faster batched",
        target="",  # the learner-facing figure is the browser row
        note=f"CPU {median(cpu) * 1e3:.0f} ms batched",
        details={
            "batched_cpu_ms": [round(x * 1e3, 1) for x in cpu],
            "batched_ms": [round(x * 1e3, 1) for x in batched],
            "one_at_a_time_ms": [round(x * 1e3, 1) for x in looped],
        },
    )


def _exception_text(at) -> str | None:
    return str(getattr(at.exception[0], "message", at.exception[0]))[:300] if len(at.exception) else None


def _lists_section_script() -> None:
    """The Adversarial page's `st.fragment`, alone (AppTest turns this function into a script)."""
    from sortlist_app.lessons import adversarial as facts
    from sortlist_app.widgets import adversarial_editor as editor
    from sortlist_app.widgets.session_model import require_model

    model = require_model()
    presets = facts.writeup_presets(model.config)
    editor.lists_section(model, presets, [lst for p in presets for lst in p.lists])


def _time_edits(at, cfg, reps: int, seed: int) -> tuple[list[float], list[float]]:
    """(wall, cpu) seconds of `at.run()` after typing 10 new lists, `reps` times (after a warm-up)."""
    from sortlist_app.widgets.adversarial_editor import TEXT
    from sortlist_core.data import format_list

    wall, cpu = [], []
    for i in range(reps + 1):
        lists = random_lists(N_LISTS, cfg.list_len, cfg.max_value, seed + i)
        at.text_area(key=TEXT).input("\n".join(", ".join(map(str, lst)) for lst in lists))
        c0, t0 = time.process_time(), time.perf_counter()
        at.run()
        if i:  # the first run fills the page's other caches
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        if _exception_text(at):
            raise RuntimeError(f"the run raised: {_exception_text(at)}")
        if not any(format_list(lists[0]) in " ".join(map(str, s.options)) for s in at.selectbox):
            raise RuntimeError("the run did not show the lists that were typed")
    return wall, cpu


def page_row(ctx: Context, model) -> Row:
    from streamlit.testing.v1 import AppTest

    name = "interaction: 10 lists on the Adversarial page"
    if MODEL_PATH_ENV in ctx.env:
        os.environ[MODEL_PATH_ENV] = ctx.env[MODEL_PATH_ENV]
    cfg = model.config
    reps = ctx.reps(7)
    section = AppTest.from_function(_lists_section_script, default_timeout=180)
    section.run()
    whole = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    whole.switch_page(PAGE)
    whole.run()
    for at, what in ((section, "the list section"), (whole, PAGE)):
        if _exception_text(at):
            return error_row(FIGURE, name, f"{what} raised: {_exception_text(at)}", TARGET_TEXT)
    s_wall, s_cpu = _time_edits(section, cfg, reps, 3000)
    w_wall, _ = _time_edits(whole, cfg, reps, 4000)
    s, w = median(s_wall) * 1e3, median(w_wall) * 1e3
    return Row(
        FIGURE,
        name,
        value=s,
        unit="ms",
        baseline=w,
        baseline_label="the same edit rerunning the whole page",
        ratio=w / s,
        ratio_label="× faster as a fragment",
        target=TARGET_TEXT,
        targets=(TARGET,),
        note=f"server-side (AppTest): the page's list-section fragment; CPU {median(s_cpu) * 1e3:.0f} ms",
        details={
            "section_ms": [round(x * 1e3, 1) for x in s_wall],
            "whole_page_ms": [round(x * 1e3, 1) for x in w_wall],
        },
    )


EDITOR = 'textarea[aria-label^="Lists (one per line"]'
BROWSER_TIMEOUT_S = 120
HOTKEY_SETTLE_S = 1.0


async def _browser_times(url: str, cfg, reps: int) -> dict[str, list[float]]:
    """Seconds per submitted edit and per whole-page rerun, in one browser session: until the
    run finished (`*_run`: the server's work plus the websocket) and until everything on screen
    was drawn (`*_drawn`: plus the browser drawing the charts and the circuitsvis view)."""
    from playwright.async_api import async_playwright

    from . import browser

    async def runs(page) -> int:
        return await page.evaluate("() => window.__benchRunsDone || 0")

    async def timed(page, action, what: str) -> tuple[float, float]:
        """(run finished, everything drawn) seconds after `action`."""
        before = await runs(page)
        t0 = time.perf_counter()
        await action()
        try:
            await page.wait_for_function(
                "(n) => (window.__benchRunsDone || 0) > n",
                arg=before,
                timeout=BROWSER_TIMEOUT_S * 1000,
                polling=5,
            )
        except Exception as exc:  # noqa: BLE001 - playwright's TimeoutError: say which step
            raise RuntimeError(f"{what}: no run finished within {BROWSER_TIMEOUT_S} s") from exc
        t_run = time.perf_counter() - t0
        done = await browser.wait_ready(page, before + 1, BROWSER_TIMEOUT_S)
        if done.exception:
            raise RuntimeError(f"the Adversarial page raised: {done.exception}")
        return t_run, time.perf_counter() - t0

    out: dict[str, list[float]] = {"edit_run": [], "edit_drawn": [], "page_run": [], "page_drawn": []}
    async with async_playwright() as pw:
        pw_browser = await browser.launch(pw)
        try:
            context = await browser.new_context(pw_browser)
            page, load = await browser.open_session(context, f"{url}/adversarial", BROWSER_TIMEOUT_S)
            if load.exception:
                raise RuntimeError(f"the Adversarial page raised: {load.exception}")
            editor = page.locator(EDITOR)
            title = page.locator('[data-testid="stMain"] h1').first
            for i in range(reps + 1):  # the first round warms the page's other caches
                lists = random_lists(N_LISTS, cfg.list_len, cfg.max_value, 5000 + i)
                await editor.fill("\n".join(", ".join(map(str, lst)) for lst in lists))
                edit = await timed(page, lambda: editor.press("Control+Enter"), "10 lists submitted")
                # the edit really arrived: the attention picker offers the first new list
                if not await page.get_by_text(", ".join(map(str, lists[0])), exact=False).count():
                    raise RuntimeError("the page did not show the lists that were typed")
                await asyncio.sleep(HOTKEY_SETTLE_S)
                await title.click()  # focus off the editor, so "r" reaches Streamlit
                whole = await timed(page, lambda: page.keyboard.press("r"), "whole-page rerun (r)")
                if i:
                    out["edit_run"].append(edit[0])
                    out["edit_drawn"].append(edit[1])
                    out["page_run"].append(whole[0])
                    out["page_drawn"].append(whole[1])
            await context.close()
        finally:
            await pw_browser.close()
    return out


def browser_row(ctx: Context, model) -> Row:
    from harness.server import SERVE, StreamlitServer

    reps = ctx.reps(7)
    with StreamlitServer(env=ctx.env, launch=SERVE) as server:
        t = asyncio.run(_browser_times(server.url, model.config, reps))
    ms = {k: median(v) * 1e3 for k, v in t.items()}
    return Row(
        FIGURE,
        "interaction: 10 lists typed in the browser",
        value=ms["edit_run"],
        unit="ms",
        baseline=ms["page_run"],
        baseline_label="no-op whole-page rerun, same browser",
        ratio=ms["edit_run"] / ms["page_run"],
        ratio_label="× a no-op whole-page rerun",
        target="",  # browser-side: Chromium draws on the same 2 cores as the server (see module doc)
        note=(
            f"submit → run finished; drawn on screen after {ms['edit_drawn']:.0f} ms "
            f"(a no-op whole-page rerun: {ms['page_drawn']:.0f} ms)"
        ),
        details={k: [round(x * 1e3, 1) for x in v] for k, v in t.items()},
    )


def run(ctx: Context) -> list[Row]:
    model = ctx.load_model()
    rows = []
    for fn, name in (
        (core_row, "interaction: 10 lists, core + figures"),
        (page_row, "interaction: 10 lists on the Adversarial page"),
        (browser_row, "interaction: 10 lists typed in the browser"),
    ):
        try:
            rows.append(fn(ctx, model))
        except Exception as exc:  # noqa: BLE001 - reported as a failed row
            rows.append(error_row(FIGURE, name, exc, TARGET_TEXT))
    return rows
