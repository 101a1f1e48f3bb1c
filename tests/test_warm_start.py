"""The launcher's pieces that need no server (the real launch is in tests/e2e/test_speed.py):
the malloc arena limit is applied in-process and exported to children, only when unset; without
a warm start a session never waits for one; a session that arrives during the warm-up leaves
the heap freeze to the end of its run."""

from __future__ import annotations

import subprocess
import sys

from sortlist_app.server import serve, warm_start


class FakeLibc:
    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = result

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


def test_arena_limit_is_set_in_process_and_exported_for_children(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(serve.ctypes, "CDLL", lambda name: libc)
    environ = {"PATH": "/usr/bin"}
    assert serve.limit_malloc_arenas(environ) is True
    assert libc.calls == [(-8, 2)]  # M_ARENA_MAX
    assert environ == {"PATH": "/usr/bin", "MALLOC_ARENA_MAX": "2"}


def test_a_limit_already_chosen_is_kept(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(serve.ctypes, "CDLL", lambda name: libc)
    environ = {"MALLOC_ARENA_MAX": "8"}
    assert serve.limit_malloc_arenas(environ) is False
    assert libc.calls == [] and environ == {"MALLOC_ARENA_MAX": "8"}


def test_a_refused_limit_is_not_advertised_to_children(monkeypatch):
    monkeypatch.setattr(serve.ctypes, "CDLL", lambda name: FakeLibc(result=0))
    environ: dict[str, str] = {}
    assert serve.limit_malloc_arenas(environ) is False
    assert environ == {}


def test_the_real_libc_accepts_the_limit_and_a_child_inherits_it():
    code = (
        "import os, subprocess, sys\n"
        "from sortlist_app.server import serve\n"
        "env = {k: v for k, v in os.environ.items() if k != 'MALLOC_ARENA_MAX'}\n"
        "os.environ.clear(); os.environ.update(env)\n"
        "print(serve.limit_malloc_arenas())\n"
        "print(subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get(\"MALLOC_ARENA_MAX\"))'],"
        " capture_output=True, text=True, check=True).stdout.strip())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "2"]


def test_without_a_warm_start_sessions_do_not_wait(monkeypatch):
    monkeypatch.setattr(warm_start, "_thread", None)
    assert warm_start.wait_for_imports(timeout_s=0) is True
    assert warm_start.wait_until_done(timeout_s=0) is True


def test_freed_buffer_settings_leave_a_chosen_environment_alone(monkeypatch):
    from sortlist_app.server import heap

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(heap.ctypes, "CDLL", lambda name: FakeLibc())
    assert heap.return_freed_buffers({"MALLOC_TRIM_THRESHOLD_": "0"}) is False and calls == []
    assert heap.return_freed_buffers({}) is True
    assert sorted(calls) == [(-3, 1 << 20), (-1, 1 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD: 1 MB


def test_a_session_arriving_during_the_warm_up_leaves_the_freeze_to_its_run(monkeypatch):
    """The warm-up freezes the heap (a full collection holding the GIL) only while no session
    has arrived; once one has waited for the imports, `app.py` freezes after that run instead."""
    from sortlist_app.server import heap

    frozen: list[int] = []
    monkeypatch.setattr(heap, "freeze_warm_heap", lambda: frozen.append(1) or True)
    monkeypatch.setattr(warm_start, "_session_arrived", warm_start.threading.Event())
    monkeypatch.setattr(warm_start, "_thread", None)
    assert warm_start.freeze_unless_a_session_runs() is True and frozen == [1]
    warm_start.wait_for_imports(timeout_s=0)  # what app.py does first in every run
    assert warm_start.freeze_unless_a_session_runs() is False and frozen == [1]


def test_the_warm_start_makes_streamlits_once_per_process_check_for_the_first_session(monkeypatch):
    """Streamlit checks once per process, at the first element drawn, whether it runs in a REPL
    (a walk over every loaded module); the warm start does it, so the first session does not."""
    import streamlit.delta_generator as dg
    from streamlit import env_util

    checks: list[int] = []
    monkeypatch.setattr(dg, "_use_warning_has_been_displayed", False)
    monkeypatch.setattr(env_util, "is_repl", lambda: checks.append(1) or False)
    warm_start._streamlit_once_per_process()
    assert checks == [1]
    dg._maybe_print_use_warning()  # what the first session's first element calls
    assert checks == [1]
