"""The instructor page stays bounded, in AppTest against a real SQLite file: a
rerun reads aggregates and one page of learners, never every attempt, and the CSV is built
only when it is downloaded."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from sortlist_app.widgets import instructor_view, learner
from sortlist_progress import open_store
from sortlist_progress.instructor import STALLED_PAGE_SIZE
from sortlist_progress.sql_store import SqlProgressStore
from sortlist_progress.store import new_learner_key

from ..page_helpers import APP, assert_ok, joined

TOKEN = "instructor-secret-0123456789"
INSTRUCTOR = "sortlist_app/instructor_page.py"
FP = "e" * 64


@pytest.fixture
def class_store(tmp_path, monkeypatch):
    """A class of 60 learners who joined two hours ago, with 300 attempts, none solved."""
    monkeypatch.setenv("SORTLIST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SORTLIST_DATABASE_URL", raising=False)
    monkeypatch.setenv("SORTLIST_INSTRUCTOR_TOKEN", TOKEN)
    learner.recorder.clear()
    two_hours_ago = time.time() - 7200
    store = open_store(clock=lambda: two_hours_ago)
    keys = [new_learner_key() for _ in range(STALLED_PAGE_SIZE + 10)]
    for i, key in enumerate(keys):
        for j in range(5):
            store.record_attempt(key, FP, f"ex{j}", f"wrong {i % 7}", passed=False)
    store.close()
    yield tmp_path
    learner.recorder.clear()


def test_a_rerun_reads_aggregates_and_one_page_only(class_store, monkeypatch):
    reads = []
    real = SqlProgressStore.class_attempts

    def counted(self, *args, **kwargs):
        reads.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqlProgressStore, "class_attempts", counted)
    teacher = AppTest.from_file(APP, default_timeout=60)
    teacher.query_params["instructor"] = TOKEN
    teacher.run()
    teacher.switch_page(INSTRUCTOR).run()
    assert_ok(teacher)
    assert "61 learners · 300 attempts" in joined(teacher.caption)  # the instructor's session is one too
    stalled = teacher.dataframe[-1].value
    assert len(stalled) == STALLED_PAGE_SIZE
    pager = teacher.number_input(key=instructor_view.STALLED_PAGE_STATE)
    assert "of 2; 60 learners" in pager.label
    pager.set_value(2).run()
    assert_ok(teacher)
    assert len(teacher.dataframe[-1].value) == 10
    assert set(teacher.dataframe[-1].value["learner"]).isdisjoint(stalled["learner"])
    assert reads == []  # no rerun loaded the attempts

    csv = instructor_view._csv_download(learner.recorder().store)()  # what the button calls on click
    assert len(reads) == 1 and csv.decode().count("\n") == 300 + 1
