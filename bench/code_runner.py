"""Code exercises: check -> result through the real runner (the mode SORTLIST_CODE_EXERCISES
selects; sandbox where bubblewrap works) for a correct full-OV solution.

Rows: warm (worker already started; target <= 1 s), cold (a new runner: worker start with its
imports, then the check), the in-process baseline (the same function on a model built from the
same checkpoint, no isolation), and 20 sessions submitting at once (p50/p95 per submission,
under the server's caps: some may be answered "busy").

Under attack: 20 honest learners against 20 learners whose code sleeps (`time.sleep(600)`),
all submitted at once, each with its own learner key; an honest learner told "busy" presses
Check again 2 s later, as the page asks. p50/p95 of the honest verdicts (from the first press)
and how many got through within 60 s.

The same again through `check_submission` (what the app's Check button calls: the job plus the
trusted comparison, i.e. check -> verdict) on the process-wide runner the app uses: warm, cold
(its first check in this process) and 20 sessions at once, with the in-process baseline
`check_in_process` (the same checker, the learner's function called here, no isolation)."""

from __future__ import annotations

import threading
import time

from .common import NA, OK, Context, Row, Target, median, na_row, percentile

FIGURE = "code exercise check"
SOLUTION = """
import torch
def full_ov(model):
    return model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U
"""


def _checkpoint(ctx: Context) -> bytes:
    from sortlist_core.paths import BUNDLED_MODEL_PATH

    path = ctx.model_path if ctx.model_path is not None else BUNDLED_MODEL_PATH
    return path.read_bytes()


def _in_process(checkpoint: bytes) -> float:
    import types

    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.model import to_transformer_lens

    t0 = time.perf_counter()
    loaded = load_checkpoint(checkpoint)
    model = to_transformer_lens(loaded.state_dict, loaded.config)
    module = types.ModuleType("solution")
    exec(compile(SOLUTION, "<solution>", "exec"), module.__dict__)  # noqa: S102 - our own reference code
    module.full_ov(model).detach().numpy()
    return time.perf_counter() - t0


def verdict_rows(ctx: Context) -> list[Row]:
    """check -> verdict through `check_submission`, as the app's Check button runs it."""
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.exercises.check import check_submission
    from sortlist_core.exercises.circuits import FULL_OV
    from sortlist_core.exercises.local import check_in_process
    from sortlist_core.runner import server

    ex = FULL_OV
    model = load_checkpoint(_checkpoint(ctx))
    fresh = (
        server.DEFAULT_RUNNER.instance is None
    )  # cold only means something if nothing started the worker yet

    def timed_check(session: str) -> float:
        t0 = time.perf_counter()
        verdict = check_submission(ex, model, ex.solution, session=session)
        if not verdict.passed:
            raise RuntimeError(f"the reference solution failed: {verdict.message}")
        return time.perf_counter() - t0

    cold = timed_check("bench-cold")
    warm = [timed_check("bench-warm") for _ in range(ctx.reps(10))]
    check_in_process(ex, model, ex.solution)  # TransformerLens imported: the baseline is the warm call
    baseline = []
    for _ in range(ctx.reps(5)):
        t0 = time.perf_counter()
        check_in_process(ex, model, ex.solution)
        baseline.append(time.perf_counter() - t0)
    latencies: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        t0 = time.perf_counter()
        verdict = check_submission(ex, model, ex.solution, session=f"bench-verdict-{i}")
        with lock:
            latencies.append(time.perf_counter() - t0)
            if not verdict.passed:
                failed.append(verdict.message[:60])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mode = server.default_runner().decision.mode.value
    value, base = median(warm), median(baseline)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    busy = sum("busy" in m for m in failed)
    return [
        Row(
            FIGURE, f"check → verdict, warm ({mode} mode, check_submission, correct full OV)", value=value,
            unit="s", baseline=base, baseline_label="check_in_process (same checker, no isolation)",
            ratio=value / base, ratio_label="× in-process", target="≤ 1 s", targets=(Target("value", "<=", 1.0),),
            details={"warm_s": warm, "in_process_s": baseline, "mode": mode},
        ),
        Row(
            FIGURE, f"check → verdict, cold ({mode} mode: the app's first check, worker start included)",
            value=cold if fresh else None, unit="s", status=OK if fresh else NA,
            note="" if fresh else "the process-wide runner was already warm", details={"cold_s": cold, "mode": mode},
        ),
        Row(
            FIGURE, f"check → verdict, 20 sessions at once ({mode} mode, check_submission)", value=p95, unit="s",
            display=f"p50 {p50:.2f} s, p95 {p95:.2f} s",
            note=f"{20 - len(failed)} passed, {busy} busy, {len(failed) - busy} other of 20",
            targets=(Target("answered", ">=", 20),), target="all 20 answered",
            details={"p50_s": p50, "p95_s": p95, "answered": len(latencies), "failed": failed},
        ),
    ]  # fmt: skip


def run(ctx: Context) -> list[Row]:
    from sortlist_core.runner import Job, Runner, RunnerMode, runner_mode

    decision = runner_mode()
    if decision.mode is RunnerMode.OFF:
        return [na_row(FIGURE, "code exercise check", decision.reason, "≤ 1 s warm")]
    checkpoint = _checkpoint(ctx)
    job = Job(SOLUTION, "full_ov", ("model",), {}, checkpoint)
    runner = Runner(decision)
    try:
        t0 = time.perf_counter()
        first = runner.run(job)
        cold = time.perf_counter() - t0
        if first.status != "ok":
            raise RuntimeError(f"correct solution answered {first.status}: {first.message}")
        warm = []
        for _ in range(ctx.reps(10)):
            t0 = time.perf_counter()
            out = runner.run(job)
            warm.append(time.perf_counter() - t0)
            if out.status != "ok":
                raise RuntimeError(f"correct solution answered {out.status}: {out.message}")
        _in_process(checkpoint)  # imports TransformerLens: the baseline is the warm call
        baseline = median([_in_process(checkpoint) for _ in range(ctx.reps(5))])

        latencies: list[float] = []
        statuses: list[str] = []
        lock = threading.Lock()

        def submit(i: int) -> None:
            t = time.perf_counter()
            o = runner.run(job, session=f"bench-{i}")
            with lock:
                latencies.append(time.perf_counter() - t)
                statuses.append(o.status)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        attack = _under_attack(runner, job)
    finally:
        runner.close()
    verdict = verdict_rows(ctx)
    value = median(warm)
    mode = decision.mode.value
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    ok, busy = statuses.count("ok"), statuses.count("busy")
    return [
        Row(
            FIGURE, f"check → result, warm ({mode} mode, correct full OV)", value=value, unit="s",
            baseline=baseline, baseline_label="same function in-process", ratio=value / baseline,
            ratio_label="× in-process", target="≤ 1 s", targets=(Target("value", "<=", 1.0),),
            details={"warm_s": warm, "in_process_s": baseline, "mode": mode},
        ),
        Row(
            FIGURE, f"check → result, cold ({mode} mode: worker start + imports + check)", value=cold, unit="s",
            details={"cold_s": cold, "mode": mode},
        ),
        Row(
            FIGURE, f"20 sessions at once ({mode} mode, {runner.max_running} running + {runner.max_queued} queued)",
            value=p95, unit="s", display=f"p50 {p50:.2f} s, p95 {p95:.2f} s",
            note=f"{ok} ok, {busy} busy, {len(statuses) - ok - busy} other of 20",
            targets=(Target("answered", ">=", 20),),
            target="all 20 answered",
            details={"p50_s": p50, "p95_s": p95, "ok": ok, "busy": busy, "answered": len(statuses)},
        ),
        attack,
        *verdict,
    ]  # fmt: skip


SLEEPER = "import time\ndef full_ov(model):\n    time.sleep(600)\n"
ATTACK_WINDOW_S = 60.0


def _under_attack(runner, job) -> Row:
    """20 honest learners and 20 sleeping submissions at once (interleaved), each its own key."""
    from dataclasses import replace

    sleeper = replace(job, source=SLEEPER)
    honest: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    t_start = time.perf_counter()

    def learner(i: int, is_honest: bool) -> None:
        t0 = time.perf_counter()
        while True:
            o = runner.run(job if is_honest else sleeper, session=f"attack-{i}-{is_honest}")
            if not is_honest or o.status != "busy" or time.perf_counter() - t0 > ATTACK_WINDOW_S:
                break
            time.sleep(2.0)  # "busy: try again in a few seconds"
        with lock:
            key = ("honest " if is_honest else "sleeper ") + o.status
            outcomes[key] = outcomes.get(key, 0) + 1
            if is_honest and o.status == "ok" and time.perf_counter() - t0 <= ATTACK_WINDOW_S:
                honest.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=learner, args=(i, i % 2 == 0)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - t_start
    mode = runner.decision.mode.value
    p50 = percentile(honest, 50) if honest else float("nan")
    p95 = percentile(honest, 95) if honest else float("nan")
    return Row(
        FIGURE, f"under attack: 20 honest vs 20 time.sleep(600) ({mode} mode, idle limit {runner.limits.idle_s:g} s)",
        value=p95 if honest else None, unit="s", display=f"p50 {p50:.1f} s, p95 {p95:.1f} s, {len(honest)}/20 answered",
        note=", ".join(f"{v} {k}" for k, v in sorted(outcomes.items())) + f"; all 40 done in {total:.0f} s",
        targets=(Target("answered", ">=", 20),), target="all 20 honest answered within 60 s",
        details={"p50_s": p50, "p95_s": p95, "answered": len(honest), "outcomes": outcomes, "total_s": total},
    )  # fmt: skip
