"""The launcher's pieces that need no server (the real launch is in tests/e2e/test_speed.py):
the malloc arena limit is applied by re-executing the same command once, and only when unset;
without a warm start a session never waits for one."""

from __future__ import annotations

import sys

import pytest

from sortlist_app.server import serve, warm_start


class Exec(Exception):
    pass


def test_arena_limit_reexecutes_the_same_command_with_the_variable(monkeypatch):
    seen = {}

    def fake_execve(path, argv, env):
        seen.update(path=path, argv=argv, env=env)
        raise Exec

    monkeypatch.setattr(serve.os, "execve", fake_execve)
    monkeypatch.setattr(
        sys, "orig_argv", [sys.executable, "-m", "sortlist_app.server.serve", "--server.port=1"]
    )
    with pytest.raises(Exec):
        serve.limit_malloc_arenas({"PATH": "/usr/bin"})
    assert seen["path"] == sys.executable
    assert seen["argv"] == [sys.executable, "-m", "sortlist_app.server.serve", "--server.port=1"]
    assert seen["env"] == {"PATH": "/usr/bin", "MALLOC_ARENA_MAX": "2"}


def test_a_limit_already_chosen_is_kept(monkeypatch):
    def refuse(*args):
        raise AssertionError("re-executed although MALLOC_ARENA_MAX was set")

    monkeypatch.setattr(serve.os, "execve", refuse)
    serve.limit_malloc_arenas({"MALLOC_ARENA_MAX": "8"})  # returns: nothing to do


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
