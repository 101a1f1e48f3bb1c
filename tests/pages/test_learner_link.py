"""A resume link never silently replaces the learner a browser already has, in AppTest against a real SQLite progress file: the page asks, shows who would be
replaced, and only the learner's own click switches."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sortlist_app.widgets import learner
from sortlist_app.widgets.learner import KEEP_BUTTON, KEY_STATE, PENDING_LINK_STATE, SWITCH_BUTTON
from sortlist_progress import open_store
from sortlist_progress.store import key_hash, new_learner_key

from ..page_helpers import APP, assert_ok, joined


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SORTLIST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SORTLIST_DATABASE_URL", raising=False)
    learner.recorder.clear()
    yield tmp_path
    learner.recorder.clear()


def _session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert_ok(at)
    return at


def _open_link(at: AppTest, key: str) -> None:
    at.query_params["learner"] = key
    at.run()
    assert_ok(at)


def test_a_planted_link_asks_and_keeps_the_learner_until_told(store_dir):
    mine = _session()
    me = mine.session_state[KEY_STATE]
    mine.sidebar.text_input(key=learner.NAME_STATE).set_value("Ada").run()
    attacker = new_learner_key()
    with open_store() as store:
        store.set_display_name(attacker, "Mallory")

    _open_link(mine, attacker)
    question = joined(mine.warning)
    assert "Switch learner?" in question
    assert f"**Ada** (learner {key_hash(me)[:6]})" in question  # who would be replaced
    assert f"**Mallory** (learner {key_hash(attacker)[:6]})" in question
    assert mine.session_state[KEY_STATE] == me  # nothing replaced yet
    assert "learner" not in mine.query_params  # the key left the address all the same

    mine.button(key=KEEP_BUTTON).click().run()
    assert mine.session_state[KEY_STATE] == me and "Switch learner?" not in joined(mine.warning)
    assert PENDING_LINK_STATE not in mine.session_state

    _open_link(mine, attacker)
    mine.button(key=SWITCH_BUTTON).click().run()
    assert_ok(mine)
    assert mine.session_state[KEY_STATE] == attacker and "Switch learner?" not in joined(mine.warning)


def test_the_same_key_or_a_browser_without_a_learner_adopts_at_once(store_dir, monkeypatch):
    mine = _session()
    me = mine.session_state[KEY_STATE]
    _open_link(mine, me)
    assert "Switch learner?" not in joined(mine.warning) and mine.session_state[KEY_STATE] == me

    fresh = AppTest.from_file(APP, default_timeout=60)  # a new browser: no cookie, no session key
    other = new_learner_key()
    fresh.query_params["learner"] = other
    fresh.run()
    assert_ok(fresh)
    assert fresh.session_state[KEY_STATE] == other and "Switch learner?" not in joined(fresh.warning)


def test_a_browser_known_by_its_cookie_is_asked_too(store_dir, monkeypatch):
    """A new session whose browser sends the learner cookie: the cookie's learner is the one
    that would be replaced."""
    cookie = new_learner_key()
    monkeypatch.setattr(learner, "_cookie_key", lambda: cookie)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["learner"] = new_learner_key()
    at.run()
    assert_ok(at)
    assert f"learner **{key_hash(cookie)[:6]}**" in joined(at.warning)
    assert at.session_state[KEY_STATE] == cookie
