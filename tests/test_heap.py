"""sortlist_app/server/heap.py: the warmed-up heap is frozen once per process, after a full collection,
so the collection Streamlit runs after every script run stops walking it."""

from __future__ import annotations

import gc

import pytest

from sortlist_app.server import heap


@pytest.fixture
def fresh_heap_state(monkeypatch):
    gc.unfreeze()
    monkeypatch.setattr(heap, "_frozen", False)
    yield
    gc.unfreeze()  # leave the test process as it was: nothing permanently frozen by this test


def test_the_first_call_collects_then_freezes_and_later_calls_do_nothing(fresh_heap_state):
    class Cycle:
        pass

    garbage = Cycle()
    garbage.me = garbage  # a reference cycle: only the cyclic collector frees it
    survivor = [object()]
    del garbage
    assert gc.get_freeze_count() == 0
    assert heap.freeze_warm_heap() is True
    frozen = gc.get_freeze_count()
    assert frozen > 1000, "the warmed-up heap (modules, caches) was not frozen"
    assert not any(type(o) is Cycle for o in gc.get_objects()), "garbage was frozen instead of collected"
    assert heap.freeze_warm_heap() is False
    assert gc.get_freeze_count() == frozen
    assert survivor  # still alive and usable after the freeze


def test_a_full_collection_after_the_freeze_walks_only_new_objects(fresh_heap_state):
    heap.freeze_warm_heap()
    new = [[i] for i in range(100)]
    tracked = gc.get_objects()  # generations 0-2: the frozen objects are not listed
    assert len(tracked) < gc.get_freeze_count()
    assert any(o is new[0] for o in tracked)


def test_the_freeze_after_a_run_happens_once_in_the_background(fresh_heap_state, monkeypatch):
    monkeypatch.setattr(heap, "_timer", None)
    first = heap.freeze_warm_heap_soon(delay_s=0.05)
    assert heap.freeze_warm_heap_soon(delay_s=0.05) is first  # later runs start no other timer
    first.join(timeout=30)
    assert heap._frozen and gc.get_freeze_count() > 0
