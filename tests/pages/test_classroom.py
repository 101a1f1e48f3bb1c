"""Classroom features in AppTest, against a real SQLite file (or an unreachable PostgreSQL):
progress saved and read back by learner key, the resume link, the display name, the instructor
page and its token, and the messages when the store fails."""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from harness.ports import free_port
from sortlist_app.widgets import learner
from sortlist_app.widgets.learner import KEY_STATE
from sortlist_core import SortedListDataset, positions
from sortlist_core.data import EVAL_SIZE
from sortlist_core.metrics import evaluate
from sortlist_progress import open_store

from ..page_helpers import APP, assert_ok, check_exercise, joined, open_page
from ..test_progress_failures import tiny_disk  # noqa: F401 - the 1 MB tmpfs fixture

PROBLEM = "pages/1_problem.py"
EXERCISE = "problem.least_accurate_position"
TOKEN = "instructor-secret-0123456789"
INSTRUCTOR = "sortlist_app/instructor_page.py"


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    """A fresh SQLite progress file for this test (the process's recorder is rebuilt)."""
    monkeypatch.setenv("SORTLIST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SORTLIST_DATABASE_URL", raising=False)
    monkeypatch.delenv("SORTLIST_INSTRUCTOR_TOKEN", raising=False)
    learner.recorder.clear()
    yield tmp_path
    learner.recorder.clear()


@pytest.fixture(scope="module")
def answers(reference_model):
    acc = evaluate(reference_model, SortedListDataset(EVAL_SIZE).toks).per_position_accuracy
    at = lambda i: positions.prediction_position(int(i), reference_model.config.list_len)  # noqa: E731
    return at(np.argmin(acc)), at(np.argmax(acc))  # (right, wrong): the options are sequence positions


def sidebar(at) -> str:
    return joined(at.sidebar.markdown)


def save_notes(at) -> str:
    return joined(at.caption) + "\n" + joined(at.warning)


def test_answers_are_saved_and_follow_the_resume_link(monkeypatch, store_dir, reference_path, answers):
    right, wrong = answers
    at = open_page(monkeypatch, PROBLEM, reference_path)
    key = at.session_state[KEY_STATE]
    assert check_exercise(at, EXERCISE, wrong, "select")[0] is False
    assert "Saved" in joined(at.caption)
    assert check_exercise(at, EXERCISE, right, "select")[0] is True
    assert "Saved" in joined(at.caption) and "Problem: 1 of 4" in sidebar(at)
    # the resume link shown in the sidebar carries the key
    assert any(f"learner={key}" in str(c.value) for c in at.sidebar.code)

    with open_store() as store:  # committed to the file, by key
        model_fp = next(iter({a.model_fp for a in store.class_attempts()}))
        assert [(a.answer, a.passed) for a in store.attempts(key, model_fp)] == [
            (str(wrong), False),
            (str(right), True),
        ]

    # another device: a new session opened with the resume link has the progress
    other = open_page(monkeypatch, PROBLEM, reference_path, query=None)
    assert "Problem: 0 of 4" in sidebar(other)  # a new browser is a new learner
    resumed = AppTest.from_file(APP, default_timeout=60)
    resumed.query_params["learner"] = key
    resumed.run()
    assert_ok(resumed)
    assert resumed.session_state[KEY_STATE] == key
    assert "learner" not in resumed.query_params  # the key leaves the address bar
    assert "Problem: 1 of 4" in sidebar(resumed)


def test_no_learner_can_reach_another_by_editing_the_link(monkeypatch, store_dir, reference_path, answers):
    right, _ = answers
    at = open_page(monkeypatch, PROBLEM, reference_path)
    key = at.session_state[KEY_STATE]
    check_exercise(at, EXERCISE, right, "select")
    digest = hashlib.sha256(key.encode()).hexdigest()
    # what the instructor sees (a hash prefix), the full hash, a shortened or altered key: none
    # of them is the learner, and a malformed one is refused with a message
    for guess in (digest[:10], digest, key[:-1], key[:-1] + ("A" if key[-1] != "A" else "B")):
        probe = AppTest.from_file(APP, default_timeout=60)
        probe.query_params["learner"] = guess
        probe.run()
        assert_ok(probe)
        assert probe.session_state[KEY_STATE] != key
        assert "Problem: 0 of 4" in sidebar(probe), guess
    bad = AppTest.from_file(APP, default_timeout=60)
    bad.query_params["learner"] = "abc"
    bad.run()
    assert "resume link is not valid" in joined(bad.sidebar.warning)


def test_display_name_is_stored(monkeypatch, store_dir, reference_path):
    at = open_page(monkeypatch, PROBLEM, reference_path)
    key = at.session_state[KEY_STATE]
    at.sidebar.text_input(key=learner.NAME_STATE).input("Ada\x07 L.").run()
    assert_ok(at)
    with open_store() as store:
        assert store.learner(key).display_name == "Ada L."


def test_instructor_page_needs_the_token(monkeypatch, store_dir, reference_path, answers):
    right, wrong = answers
    at = open_page(monkeypatch, PROBLEM, reference_path)
    check_exercise(at, EXERCISE, wrong, "select")
    check_exercise(at, EXERCISE, right, "select")

    # no token configured: no page, even with a guessed token
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["instructor"] = "anything"
    at.run()
    assert_ok(at)
    assert "Instructor" not in joined(at.title)
    assert "instructor" not in _nav(at)
    with pytest.raises(ValueError, match="registered"):  # no page to switch to
        at.switch_page(INSTRUCTOR)

    monkeypatch.setenv("SORTLIST_INSTRUCTOR_TOKEN", TOKEN)
    wrong_token = AppTest.from_file(APP, default_timeout=60)
    wrong_token.query_params["instructor"] = TOKEN[:-1]
    wrong_token.run()
    assert_ok(wrong_token)
    assert "Instructor" not in joined(wrong_token.title)
    assert "instructor" not in _nav(wrong_token)

    teacher = AppTest.from_file(APP, default_timeout=60)
    teacher.query_params["instructor"] = TOKEN
    teacher.run()
    assert_ok(teacher)
    assert "instructor" not in teacher.query_params  # the token leaves the address bar
    assert "instructor" in _nav(teacher)
    teacher.switch_page(INSTRUCTOR).run()
    assert_ok(teacher)
    text = joined(teacher.markdown) + joined(teacher.caption)
    assert "2 attempts" in text
    frame = teacher.dataframe[0].value
    row = frame[frame["exercise"] == EXERCISE].iloc[0]
    assert (row["learners tried"], row["learners solved"], row["attempts"]) == (1, 1, 2)
    wrong_frame = teacher.dataframe[1].value
    assert list(wrong_frame["answer"]) == [str(wrong)]
    assert any(b.label == "Download every attempt (CSV)" for b in teacher.get("download_button"))


def _nav(at) -> list[str]:
    """URL paths of the pages `app.py` registered in st.navigation on the last run."""
    return [info.get("url_pathname", "") for info in at._registered_pages.values()]


def test_db_unreachable_keeps_working_and_says_so(monkeypatch, store_dir, reference_path, answers):
    right, _ = answers
    monkeypatch.setenv(
        "SORTLIST_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1"
    )
    learner.recorder.clear()
    at = open_page(monkeypatch, PROBLEM, reference_path)
    ok, _ = check_exercise(at, EXERCISE, right, "select")
    assert ok is True and "Problem: 1 of 4" in sidebar(at)  # the session still counts it
    notes = save_notes(at)
    assert "not being saved" in notes and "cannot be reached" in notes and "Saved" not in joined(at.caption)
    retry = next(b for b in at.button if b.label == "Retry saving")
    retry.click().run()
    assert_ok(at)
    assert "not being saved" in save_notes(at)


@pytest.mark.parametrize("damage", ["corrupt", "locked", "full"])
def test_bad_sqlite_file_gets_a_clear_message(
    monkeypatch, store_dir, reference_path, answers, damage, request
):
    right, _ = answers
    path = store_dir / "progress.sqlite3"
    holder = None
    if damage == "full":  # a real full disk: a 1 MB tmpfs holding the store, then filled up
        disk = request.getfixturevalue("tiny_disk")
        monkeypatch.setenv("SORTLIST_DATA_DIR", str(disk))
        open_store().check()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: the disk is full
            pass
        finally:
            os.close(fd)
    elif damage == "corrupt":
        path.write_bytes(b"this is not a database\x00" * 200)
    else:
        open_store().check()  # a real database file, held by another connection's write lock
        holder = sqlite3.connect(path, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
        # wait 0.2 s for the lock instead of 5 s, so the test stays short
        monkeypatch.setattr(learner, "open_store", functools.partial(open_store, busy_timeout=0.2))
    learner.recorder.clear()
    try:
        at = open_page(monkeypatch, PROBLEM, reference_path)
        ok, _ = check_exercise(at, EXERCISE, right, "select")
        assert ok is True
        notes = save_notes(at)
        expected = {"corrupt": "damaged", "locked": "busy", "full": "full"}[damage]
        assert "not being saved" in notes and expected in notes, notes
        assert any(b.label == "Retry saving" for b in at.button)
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
