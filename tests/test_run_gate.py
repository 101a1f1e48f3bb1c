"""The run gate (sortlist_app/server/run_gate.py): script runs take turns in arrival order, wait at
most `max_wait_s`, and free their turn on exit, on an exception and when they step aside."""

from __future__ import annotations

import threading
import time

import pytest

from sortlist_app.server.run_gate import RunGate, gate_from_env


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _waiters(gate: RunGate) -> int:
    return len(gate._semaphore._cond._waiters)  # noqa: SLF001 - how many runs queue now


def test_runs_are_admitted_in_arrival_order():
    gate = RunGate(max_wait_s=10)
    order: list[int] = []
    release_first = threading.Event()

    def first() -> None:
        with gate.admitted():
            order.append(0)
            release_first.wait(5)

    def later(i: int) -> None:
        with gate.admitted() as got:
            assert got
            order.append(i)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    _wait_for(lambda: order == [0])
    for i in range(1, 6):  # queue one at a time, so arrival order is known
        t = threading.Thread(target=later, args=(i,))
        t.start()
        threads.append(t)
        _wait_for(lambda i=i: _waiters(gate) == i)
    release_first.set()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_run_waits_at_most_max_wait_then_runs_ungated():
    gate = RunGate(max_wait_s=0.05)
    holding, done = threading.Event(), threading.Event()

    def hog() -> None:
        with gate.admitted():
            holding.set()
            done.wait(5)

    t = threading.Thread(target=hog)
    t.start()
    holding.wait(5)
    t0 = time.monotonic()
    with gate.admitted() as got:
        waited = time.monotonic() - t0
        assert got is False and not gate.holds()
    assert 0.04 <= waited < 2
    assert gate.timed_out == 1
    done.set()
    t.join(5)
    with gate.admitted() as got:  # the hog's slot came back; the ungated run took none
        assert got is True


def test_stepping_aside_lets_the_next_run_in_and_is_not_undone_on_exit():
    gate = RunGate(max_wait_s=10)
    admitted_second = threading.Event()
    stepped = threading.Event()
    finish_first = threading.Event()

    def first() -> None:
        with gate.admitted():
            gate.step_aside()  # e.g. a code check waiting on the runner
            assert not gate.holds()
            stepped.set()
            finish_first.wait(5)

    def second() -> None:
        with gate.admitted() as got:
            assert got
            admitted_second.set()

    a = threading.Thread(target=first)
    a.start()
    stepped.wait(5)
    b = threading.Thread(target=second)
    b.start()
    assert admitted_second.wait(5), "the second run was not admitted while the first waited"
    finish_first.set()
    a.join(5)
    b.join(5)
    assert gate._semaphore.acquire(blocking=False)  # noqa: SLF001 - exactly one slot, free again
    assert not gate._semaphore.acquire(blocking=False)  # noqa: SLF001


def test_an_exception_frees_the_slot():
    gate = RunGate(max_wait_s=0.05)
    with pytest.raises(RuntimeError):
        with gate.admitted():
            raise RuntimeError("st.stop / st.rerun raise through the run")
    with gate.admitted() as got:
        assert got is True


def test_nested_admission_passes_through():
    gate = RunGate(max_wait_s=0.05)
    with gate.admitted() as outer:
        with gate.admitted() as inner:
            assert outer and inner and gate.holds()
        assert gate.holds()
    assert not gate.holds()
    assert gate.timed_out == 0


def test_the_gate_can_be_switched_off():
    assert gate_from_env({}).enabled
    for off in ("0", "off", "false", " No "):
        gate = gate_from_env({"SORTLIST_RUN_GATE": off})
        assert not gate.enabled
        with gate.admitted() as got, gate.admitted():
            assert got is False


def test_at_least_one_slot():
    with pytest.raises(ValueError, match="at least 1"):
        RunGate(slots=0)
