"""Checks per learner are rate-limited: the limiter itself, and the Check button
refusing with a clear message, running nothing and keeping the learner's code."""

from __future__ import annotations

import pytest

from sortlist_app.server import check_rate
from sortlist_app.server.check_rate import CheckRateLimit
from sortlist_core.exercises import get_exercise
from sortlist_progress.store import new_learner_key

from .page_helpers import open_page
from .pages.test_code_exercises import submit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_passes_then_the_learner_waits_for_the_oldest_check():
    clock, ada, bob = Clock(), new_learner_key(), new_learner_key()
    limit = CheckRateLimit(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert limit.try_check(ada).allowed
        clock.now += 5
    refused = limit.try_check(ada)
    assert not refused.allowed and refused.wait_s == pytest.approx(45)
    assert "3 times in the last 60 seconds" in refused.message and "check it again in 45 s" in refused.message
    assert limit.try_check(bob).allowed  # one learner's limit is theirs alone
    clock.now += 45.01
    assert limit.try_check(ada).allowed  # the oldest check left the window
    assert not limit.try_check(ada).allowed


def test_refused_checks_do_not_count_so_hammering_does_not_extend_the_wait():
    clock, ada = Clock(), new_learner_key()
    limit = CheckRateLimit(limit=2, window_s=10, clock=clock)
    limit.try_check(ada), limit.try_check(ada)
    for _ in range(100):
        assert not limit.try_check(ada).allowed
    clock.now += 10.01
    assert limit.try_check(ada).allowed


def test_many_learners_are_forgotten_once_idle(monkeypatch):
    """An attacker making up keys cannot grow the limiter's memory without bound."""
    monkeypatch.setattr(check_rate, "MAX_TRACKED_LEARNERS", 50)
    clock = Clock()
    limit = CheckRateLimit(limit=1, window_s=1, clock=clock)
    for _ in range(200):
        limit.try_check(new_learner_key())
        clock.now += 0.1
    assert len(limit) <= 61
    assert all(len(w) == 64 for w in limit._log)  # sha256 hashes, never the keys


def test_the_check_button_refuses_over_the_limit_and_keeps_the_code(monkeypatch):
    from sortlist_app.widgets.learner import KEY_STATE
    from sortlist_core.runner import server

    ran = []
    monkeypatch.setattr(server.Runner, "run", lambda self, job, **kw: ran.append(job))
    monkeypatch.setattr(check_rate, "CHECK_RATE", CheckRateLimit(limit=2, window_s=3600))
    monkeypatch.setattr("sortlist_app.widgets.code_attempts.CHECK_RATE", check_rate.CHECK_RATE)
    at = open_page(monkeypatch, "pages/1_problem.py")
    for _ in range(2):  # this learner's two checks of the hour (made from another tab, say)
        assert check_rate.CHECK_RATE.try_check(at.session_state[KEY_STATE]).allowed
    ex = get_exercise("problem.summary")
    good, bad = submit(at, ex.id, ex.solution)
    assert not good and bad and "the most this server allows one learner" in bad[0]
    assert "Your code is still in the editor" in bad[0]
    assert at.session_state[f"code.{ex.id}.text"] == ex.solution
    assert ran == []  # nothing reached the runner
