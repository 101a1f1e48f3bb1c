"""What the learner is told: the worker's report of one check (untrusted bytes from the child
inside) translated into a `RunOutcome` with a sentence naming the limit or the failure."""

from __future__ import annotations

import base64
import signal
from typing import Any

from . import policy
from .codec import BadMessage, decode_message
from .job import Limits, RunOutcome


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.0f} MB"


def outcome_from_done(done: dict[str, Any], limits: Limits, entry: str) -> RunOutcome:
    """Translate the worker's report (untrusted bytes from the child inside) into an outcome."""
    stdout = base64.b64decode(done.get("stdout_b64", ""))[: limits.stdout_bytes].decode("utf-8", "replace")
    printed = int(done.get("printed_bytes", 0))
    if printed > limits.stdout_bytes:
        stdout += f"\n[... output cut: your code printed {printed:,} bytes, the first {limits.stdout_bytes:,} are shown]"
    seconds = float(done.get("wall_s", 0.0))

    def out(status: str, message: str = "", value: Any = None, tb: str = "") -> RunOutcome:
        return RunOutcome(status, value=value, message=message, traceback=tb, stdout=stdout, seconds=seconds)  # type: ignore[arg-type]

    sig = done.get("signal")
    cpu = float(done.get("cpu_s", 0.0))
    cpu_limit = max(1, int(limits.cpu_s + 0.999))
    if sig == signal.SIGXCPU or (
        sig == signal.SIGKILL and cpu >= cpu_limit - 0.05 and not done.get("timed_out")
    ):
        return out("timeout", f"Your code used more than {cpu_limit} s of CPU time and was stopped.")
    if done.get("setup_error"):
        return out("crashed", "The checker could not set up a process for your code; run the check again.")
    if done.get("idle"):
        idle = float(limits.idle_s)
        return out(
            "timeout",
            f"Your code sat idle (almost no CPU for {idle:g} s: sleeping or waiting) and was stopped, "
            "so that others' checks can run.",
        )
    if done.get("shut_down"):
        return out("crashed", "The code checker was shut down while your code ran; run the check again.")
    if done.get("timed_out"):
        return out(
            "timeout", f"Your code ran for more than {limits.wall_s:g} s (wall clock) and was stopped."
        )
    if done.get("result_too_large"):
        return out(
            "output", f"Your function returned more than {_mb(limits.result_bytes)} of data; return less."
        )
    if done.get("printed_too_much"):
        return out(
            "output",
            f"Your code printed more than {_mb(policy.PRINT_KILL_BYTES)} and was stopped; print less.",
        )
    raw = base64.b64decode(done.get("result_b64", ""))
    if not raw:
        if sig is not None:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            hint = " (deep recursion does this)" if sig == signal.SIGSEGV else ""
            return out("crashed", f"Your code crashed the Python process with signal {name}{hint}.")
        if done.get("exit_code") in policy.SETUP_EXIT_CODES:
            return out(
                "crashed", "The checker could not set up the process for your code; run the check again."
            )
        return out("error", "Your code exited (sys.exit or os._exit) before returning a value.")
    try:
        header, value = decode_message(raw)
    except (BadMessage, ValueError, UnicodeDecodeError) as exc:
        return out("error", f"Your function's return value could not be read back ({exc}).")
    kind = header["kind"]
    tb = str(header.get("traceback", ""))[-8000:]
    if kind == "ok":
        return out("ok", value=value)
    if kind == "memory":
        return out(
            "memory",
            f"Your code tried to use more than {limits.memory_mb} MB of memory and was stopped.",
            tb=tb,
        )
    if kind == "exited":
        return out("error", "Your code exited (sys.exit or os._exit) before returning a value.")
    if kind == "no_entry":
        return out("error", f"Your code defines no function named `{entry}`.")
    if kind == "unsupported":
        what = str(header.get("what", "something else"))[:200]
        return out("error", f"Your function returned {what}; return a tensor, a number or a list.")
    if kind == "encode_error":
        return out("error", "Your function's return value could not be converted to plain data.", tb=tb)
    if kind == "fixture_error":
        return out(
            "crashed",
            f"The checker could not prepare your function's inputs: {str(header.get('message'))[:500]}",
        )
    if kind == "exception":
        last = tb.strip().splitlines()[-1] if tb.strip() else "an exception"
        if last.startswith("BlockingIOError"):
            return out(
                "error",
                f"Your code tried to start too many processes or threads (limit {limits.processes}).",
                tb=tb,
            )
        if "File too large" in last:
            return out("output", f"Your code wrote a file larger than {_mb(limits.file_size_bytes)}.", tb=tb)
        if last.startswith("RecursionError"):
            return out("error", "Your code recursed too deeply (RecursionError).", tb=tb)
        return out("error", f"Your code raised {last[:300]}", tb=tb)
    return out("error", "Your code sent back something the checker does not understand.")
