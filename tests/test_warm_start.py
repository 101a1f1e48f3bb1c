"""The launcher's pieces that need no server (the real launch is in tests/e2e/test_speed.py):
the malloc arena limit is applied by re-executing the same command once, and only when unset;
without a warm start a session never waits for one."""

from __future__ import annotations

import sys

import pytest

from sortlist_app import serve, warm_start


class Exec(Exception):
    pass


def test_arena_limit_reexecutes_the_same_command_with_the_variable(monkeypatch):
    seen = {}

    def fake_execve(path, argv, env):
        seen.update(path=path, argv=argv, env=env)
        raise Exec

    monkeypatch.setattr(serve.os, "execve", fake_execve)
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-m", "sortlist_app.serve", "--server.port=1"])
    with pytest.raises(Exec):
        serve.limit_malloc_arenas({"PATH": "/usr/bin"})
    assert seen["path"] == sys.executable
    assert seen["argv"] == [sys.executable, "-m", "sortlist_app.serve", "--server.port=1"]
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
