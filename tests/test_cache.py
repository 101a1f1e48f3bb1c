"""The shared cache keys itself: by the function that makes a result (module + qualname) and by
the arguments' values (arrays by content), so two builders, two inputs or two models never share
an entry, and equal inputs from another session hit the same one."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from sortlist_app.widgets import cache
from sortlist_core import circuits, metrics

built: list[tuple] = []


def first_builder(*args):
    built.append(("first", args))
    return {"built by": "first", "args": args}


def second_builder(*args):
    built.append(("second", args))
    return {"built by": "second", "args": args}


def copy_strength(model, scale):
    built.append(("copy_strength", scale))
    return np.arange(4, dtype=np.float32) * scale


@cache.model_cached(max_entries=2)
def two_kept(model, value):
    built.append(("two_kept", value))
    return value


@dataclasses.dataclass(frozen=True)
class Pair:
    a: int
    b: int


@dataclasses.dataclass(frozen=True)
class OtherPair:
    a: int
    b: int


@pytest.fixture(autouse=True)
def fresh():
    built.clear()
    cache.clear_figures()
    for fn in (copy_strength, two_kept):
        cache.clear(fn)
    yield
    cache.clear_figures()


def test_two_builders_with_equal_arguments_do_not_share_a_figure():
    one = cache.figure(first_builder, 5, "x")
    two = cache.figure(second_builder, 5, "x")
    assert one["built by"] == "first" and two["built by"] == "second"
    assert cache.figure(first_builder, 5, "x") is one  # another session: the same object
    assert [b[0] for b in built] == ["first", "second"]


def test_arrays_are_keyed_by_content():
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = cache.figure(first_builder, values)
    assert cache.figure(first_builder, values.copy()) is first  # equal content, another object
    changed = values.copy()
    changed[1, 2] += 1e-6
    assert cache.figure(first_builder, changed) is not first
    # the same bytes in another shape or dtype is another input
    assert cache.figure(first_builder, values.reshape(3, 2)) is not first
    assert cache.figure(first_builder, values.view(np.int32)) is not first
    assert len(built) == 4
    # a strided view is keyed by the values it shows, not by its buffer
    wide = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert cache.figure(first_builder, wide[:, ::2]) is cache.figure(first_builder, wide[:, ::2].copy())


def test_values_of_another_type_order_or_class_are_other_inputs():
    keys = [
        cache.fingerprint(1),
        cache.fingerprint(1.0),
        cache.fingerprint(True),
        cache.fingerprint("1"),
        cache.fingerprint((1, 2)),
        cache.fingerprint([1, 2]),
        cache.fingerprint((2, 1)),
        cache.fingerprint(("ab",)),
        cache.fingerprint(("a", "b")),
        cache.fingerprint({"a": 1, "b": 2}),
        cache.fingerprint({"b": 2, "a": 1}),  # a figure may draw a dict's items in order
        cache.fingerprint(Pair(1, 2)),
        cache.fingerprint(OtherPair(1, 2)),
        cache.fingerprint(Pair(2, 1)),
        cache.fingerprint(None),
    ]
    assert len(set(keys)) == len(keys)
    assert cache.fingerprint(Pair(1, 2), [np.zeros(3)]) == cache.fingerprint(Pair(1, 2), [np.zeros(3)])


def test_what_cannot_be_keyed_by_value_is_refused():
    with pytest.raises(TypeError):
        cache.fingerprint(object())
    with pytest.raises(TypeError):
        cache.fingerprint(np.array([object()]))
    with pytest.raises(ValueError, match="module-level function"):
        cache.figure(lambda: 1)

    def nested():
        return 1

    with pytest.raises(ValueError, match="module-level function"):
        cache.figure(nested)
    assert not built


def test_results_are_per_model_and_read_only(reference_model, swapped_model):
    ov = cache.computed(circuits.full_ov, reference_model)
    assert cache.computed(circuits.full_ov, reference_model) is ov
    assert not ov.flags.writeable
    with pytest.raises(ValueError):
        ov[0, 0, 0] = 1.0
    swapped = cache.computed(circuits.full_ov, swapped_model)
    assert swapped is not ov and np.allclose(swapped, ov[::-1])  # its heads are the reference's, swapped
    preds = cache.computed(metrics.predict_lists, reference_model, ((5, 1, 4, 2, 3, 9, 8, 7, 6, 0),))
    assert not preds[0].probs.flags.writeable


def test_two_functions_of_one_model_with_equal_arguments_do_not_collide(reference_model):
    scaled = cache.computed(copy_strength, reference_model, 2)
    assert cache.computed(copy_strength, reference_model, 2) is scaled
    assert list(cache.computed(copy_strength, reference_model, 3)) == [0, 3, 6, 9]
    assert cache.computed(two_kept, reference_model, 2) == 2  # same argument, another function
    assert built == [("copy_strength", 2), ("copy_strength", 3), ("two_kept", 2)]


def test_each_function_keeps_its_own_bound(reference_model):
    for value in (1, 2, 3):
        two_kept(reference_model, value)
    two_kept(reference_model, 3)  # kept
    two_kept(reference_model, 1)  # the oldest of three: evicted, so computed again
    assert built == [("two_kept", 1), ("two_kept", 2), ("two_kept", 3), ("two_kept", 1)]
    assert cache.max_entries_of(two_kept) == 2
    assert cache.max_entries_of(circuits.full_ov) == cache.PER_MODEL
    assert cache.max_entries_of(metrics.predict_lists) == cache.PER_INPUT


def test_every_smaller_bound_names_a_real_function():
    """A renamed core function would otherwise silently lose its bound."""
    for fn_id, bound in cache.SMALLER_BOUNDS.items():
        module, name = fn_id.rsplit(".", 1)
        fn = getattr(importlib.import_module(module), name)
        assert cache.function_id(fn) == fn_id and cache.max_entries_of(fn) == bound < cache.PER_MODEL
