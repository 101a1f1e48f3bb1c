"""What every measurement shares: the result row, the run context, timing helpers, the model."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_MODEL = ROOT.parent / "shared" / "reference" / "arena_sorted_list_model.pt"
MODEL_PATH_ENV = "SORTLIST_MODEL_PATH"  # read by sortlist_app.widgets.session_model (the app's default model)

OK, NA, ERROR = "ok", "n/a", "error"
_OPS: dict[str, Callable[[float, float], bool]] = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}


@dataclass(frozen=True)
class Target:
    """`field op bound`, e.g. Target("value", "<=", 8.0): field is "value", "ratio" or a key of
    the row's `details` (e.g. "succeeded")."""

    field: str
    op: str
    bound: float


@dataclass
class Row:
    """One line of the table.

    `value` is in `unit`; `baseline` is the same quantity measured in the same run under the
    baseline condition named by `baseline_label`; `ratio` is oriented as `ratio_label` says
    (e.g. "× faster": >1 means the measured thing beats the baseline). `met` is None when the
    row has no target or no value. `status`: ok, n/a (nothing to measure yet, e.g. a page not
    written) or error (the measurement failed: `error` says why).
    """

    figure: str
    name: str
    value: float | None = None
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    targets: Sequence[Target] = ()
    status: str = OK
    error: str | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    display: str = ""  # the "measured" cell when value + unit say too little (e.g. p50 and p95)

    @property
    def met(self) -> bool | None:
        if self.status != OK or not self.targets:
            return None
        checks = []
        for t in self.targets:
            actual = getattr(self, t.field) if t.field in ("value", "ratio") else self.details.get(t.field)
            if actual is None:
                return None
            checks.append(_OPS[t.op](actual, t.bound))
        return all(checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline),
            "baseline_label": self.baseline_label,
            "ratio": _round(self.ratio),
            "ratio_label": self.ratio_label,
            "target": self.target,
            "met": self.met,
            "status": self.status,
            "error": self.error,
            "display": self.display,
            "note": self.note,
            "details": self.details,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.6g}")


def _first_and_last_line(text: str) -> str:
    """The error's first line, and its last when there are more (a server's error ends with the
    last line of its log, which usually says why)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return text
    shown = lines[0][:300]
    if len(lines) > 1:
        shown += f" … {lines[-1].strip()[:300]}"
    return shown


def error_row(figure: str, name: str, exc: BaseException | str, target: str = "") -> Row:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return Row(
        figure,
        name,
        status=ERROR,
        error=_first_and_last_line(text),
        target=target,
    )


def na_row(figure: str, name: str, why: str, target: str = "") -> Row:
    return Row(figure, name, status=NA, note=why, target=target)


@dataclass
class Context:
    """Settings of this run, shared by every measurement."""

    quick: bool
    model_path: Path | None
    model_label: str
    env: dict[str, str]  # environment for subprocesses (the app's model choice)
    budget_s: float = 570.0  # the whole run must end within 10 minutes; training adapts its caps
    started: float = field(default_factory=time.perf_counter)

    def remaining(self) -> float:
        """Seconds left of `budget_s`."""
        return self.budget_s - (time.perf_counter() - self.started)

    def reps(self, full: int) -> int:
        """Repetitions: `full` normally, 1 in --quick."""
        return 1 if self.quick else full

    def log(self, message: str) -> None:
        print(f"[bench {time.perf_counter() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)

    def load_model(self):
        """The model every in-process measurement uses (the app's default model)."""
        from sortlist_core.checkpoint import load_checkpoint

        if self.model_path is None:
            raise RuntimeError(
                "no model: neither assets/bundled_model.pt nor the reference checkpoint exists"
            )
        return load_checkpoint(self.model_path, name=self.model_label)


def resolve_model() -> tuple[Path | None, str, dict[str, str]]:
    """(path, label, env): the app's default model (the lesson model when its file exists, else
    the strong one), or the reference checkpoint when no bundled model is there yet (then `SORTLIST_MODEL_PATH` points the app at it)."""
    env = dict(os.environ)
    override = env.get(MODEL_PATH_ENV, "").strip()
    if override:
        return Path(override), f"{Path(override).name} (from ${MODEL_PATH_ENV})", env
    from sortlist_core.paths import bundled_model_by_key, default_bundled_key

    default = bundled_model_by_key(default_bundled_key())  # the app's default: lesson, else strong
    bundled = default.path
    if bundled.is_file():
        return bundled, f"{default.name} (assets/{bundled.name})", env
    if REFERENCE_MODEL.is_file():
        env[MODEL_PATH_ENV] = str(REFERENCE_MODEL)
        return REFERENCE_MODEL, "reference checkpoint (assets/bundled_model.pt missing)", env
    return None, "none found", env


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def percentile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    s = sorted(xs)
    if not s:
        raise ValueError("no samples")
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def time_calls(fn: Callable[[], Any], reps: int, setup: Callable[[], Any] | None = None) -> list[float]:
    """Seconds per call of `fn`, `reps` times; `setup` (untimed) runs before each call."""
    out = []
    for _ in range(reps):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and library versions: the machine behind the numbers."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    for package in ("torch", "streamlit", "plotly", "circuitsvis", "playwright"):
        try:
            from importlib.metadata import version

            info[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is just not reported
            pass
    return info


def kb(n_bytes: float) -> float:
    """Decimal kilobytes (1.3 MB inlined = 1,295,474 bytes): the stricter reading of the targets."""
    return n_bytes / 1e3


def mb(n_bytes: float) -> float:
    """Decimal megabytes (900 MB = 9e8 bytes)."""
    return n_bytes / 1e6
