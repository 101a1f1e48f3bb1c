"""Interaction: 10 custom lists entered on the Adversarial page → predictions, attention and
heatmaps ready.

Two rows:
- "core + figures": what the page computes for 10 new lists, called directly: predictions and
  attention patterns of all 10, the prediction heatmaps of the (up to 4) lists it draws,
  serialised as `st.plotly_chart` does, and one circuitsvis view's HTML. Baseline: the same with
  the model called one list at a time (ratio = one-at-a-time / batched).
- "Adversarial page": the page itself in `AppTest`: its list text area is set to 10 new lists and
  the rerun timed. Baseline: a warm rerun with the lists unchanged. n/a while the page has no
  text area (not written yet).
New lists every repetition, so no cache ever answers.
"""

from __future__ import annotations

import os
import time

import numpy as np

from .common import ERROR, MODEL_PATH_ENV, ROOT, Context, Row, Target, error_row, median, na_row

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

    from sortlist_app.attention_view import attention_html
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
        target=TARGET_TEXT,
        targets=(TARGET,),
        note=f"CPU {median(cpu) * 1e3:.0f} ms batched",
        details={
            "batched_cpu_ms": [round(x * 1e3, 1) for x in cpu],
            "batched_ms": [round(x * 1e3, 1) for x in batched],
            "one_at_a_time_ms": [round(x * 1e3, 1) for x in looped],
        },
    )


def _find_text_area(at):
    areas = list(at.text_area)
    for area in areas:
        if "list" in (area.label or "").lower():
            return area
    return areas[0] if areas else None


def _exception_text(at) -> str | None:
    return str(getattr(at.exception[0], "message", at.exception[0]))[:300] if len(at.exception) else None


def page_row(ctx: Context, model) -> Row:
    from streamlit.testing.v1 import AppTest

    name = "interaction: 10 lists on the Adversarial page"
    if not (ROOT / PAGE).is_file():
        return na_row(FIGURE, name, f"{PAGE} does not exist yet", TARGET_TEXT)
    if MODEL_PATH_ENV in ctx.env:
        os.environ[MODEL_PATH_ENV] = ctx.env[MODEL_PATH_ENV]
    cfg = model.config
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page(PAGE)
    at.run()
    if _exception_text(at):
        return error_row(FIGURE, name, f"{PAGE} raised: {_exception_text(at)}", TARGET_TEXT)
    area = _find_text_area(at)
    if area is None:
        return na_row(FIGURE, name, f"{PAGE} has no text area for lists yet", TARGET_TEXT)
    key = area.key
    reps = ctx.reps(7)

    cpu: list[float] = []

    def enter(seed: int) -> float:
        text = "\n".join(
            ", ".join(map(str, lst)) for lst in random_lists(N_LISTS, cfg.list_len, cfg.max_value, seed)
        )
        widget = at.text_area(key=key) if key else _find_text_area(at)
        widget.input(text)
        c0, t0 = time.process_time(), time.perf_counter()
        at.run()
        wall = time.perf_counter() - t0
        cpu.append(time.process_time() - c0)
        return wall

    enter(1)  # warm-up: the page's other caches
    entered, unchanged = [], []
    for i in range(reps):
        entered.append(enter(3000 + i))
        t0 = time.perf_counter()
        at.run()
        unchanged.append(time.perf_counter() - t0)
    e, u = median(entered) * 1e3, median(unchanged) * 1e3
    row = Row(
        FIGURE,
        name,
        value=e,
        unit="ms",
        baseline=u,
        baseline_label="rerun, lists unchanged",
        ratio=e / u,
        ratio_label="× a no-op rerun",
        target=TARGET_TEXT,
        targets=(TARGET,),
        note=f"CPU {median(cpu[1:]) * 1e3:.0f} ms; text area '{area.label}'",
        details={
            "entered_ms": [round(x * 1e3, 1) for x in entered],
            "unchanged_ms": [round(x * 1e3, 1) for x in unchanged],
        },
    )
    if _exception_text(at):
        row.status, row.error = ERROR, f"{PAGE} raised: {_exception_text(at)}"
    return row


def run(ctx: Context) -> list[Row]:
    model = ctx.load_model()
    rows = []
    for fn, name in (
        (core_row, "interaction: 10 lists, core + figures"),
        (page_row, "interaction: 10 lists on the Adversarial page"),
    ):
        try:
            rows.append(fn(ctx, model))
        except Exception as exc:  # noqa: BLE001 - reported as a failed row
            rows.append(error_row(FIGURE, name, exc, TARGET_TEXT))
    return rows
