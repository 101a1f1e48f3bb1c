"""Adversarial search: candidate lists scored per second by `search_adversarial` (batched
generation, scoring and local search, wall time of the call) vs a loop that scores one list at a
time with `score_lists(model, one_list[None])`, in the same run; ratio = search / loop."""

from __future__ import annotations

import time

from .common import Context, Row, Target, median

FIGURE = "adversarial search"
TARGET = Target("value", ">=", 10_000.0)


def run(ctx: Context) -> list[Row]:
    import torch

    from sortlist_core.adversarial import generate_family, score_lists, search_adversarial

    model = ctx.load_model()
    cfg = model.config
    budget = 4096 if ctx.quick else 20_000
    n_loop = 100 if ctx.quick else 500
    reps = ctx.reps(3)
    search_adversarial(model, budget=2048, seed=99)  # warm-up
    lists = generate_family("uniform", n_loop, cfg.list_len, cfg.max_value, torch.Generator().manual_seed(0))
    score_lists(model, lists[:1])
    search_rates, loop_rates, n_wrong = [], [], []
    for i in range(reps):
        t0 = time.perf_counter()
        result = search_adversarial(model, budget=budget, seed=i)
        search_rates.append(result.n_scored / (time.perf_counter() - t0))
        n_wrong.append(result.n_wrong)
        t0 = time.perf_counter()
        for j in range(n_loop):
            score_lists(model, lists[j][None])
        loop_rates.append(n_loop / (time.perf_counter() - t0))
    s, loop = median(search_rates), median(loop_rates)
    return [
        Row(
            FIGURE,
            f"adversarial search: candidates/s (budget {budget:,})",
            value=s,
            unit="/s",
            baseline=loop,
            baseline_label="one list at a time",
            ratio=s / loop,
            ratio_label="× faster",
            target="≥ 10,000/s",
            targets=(TARGET,),
            note=f"{median(n_wrong):.0f} wrong of {budget:,} per search; loop over {n_loop:,} lists",
            details={
                "search_per_s": [round(x) for x in search_rates],
                "loop_per_s": [round(x) for x in loop_rates],
                "n_wrong": n_wrong,
            },
        )
    ]
