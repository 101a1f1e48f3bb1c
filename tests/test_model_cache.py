"""The server-side model cache (sortlist_app.model_cache): bounded by entries and bytes, least
recently used out first, keyed by the short fingerprint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sortlist_app.model_cache import UPLOAD, CachedModel, ModelCache, max_entries_from_env, weights_bytes
from sortlist_core.checkpoint import weights_fingerprint


def _variant(model, i: int):
    """A copy of `model` with slightly different weights (so another fingerprint)."""
    state = {k: v.clone() for k, v in model.state_dict.items()}
    first = next(iter(state))
    state[first] = state[first] + (i + 1) * 1e-3
    return replace(model, state_dict=state, weights_sha256=weights_fingerprint(state), name=f"m{i}")


def test_lru_evicts_the_least_recently_used(reference_model):
    cache = ModelCache(max_entries=2)
    a, b, c = (_variant(reference_model, i) for i in range(3))
    cache.put(CachedModel(a, "a", UPLOAD))
    cache.put(CachedModel(b, "b", UPLOAD))
    assert cache.get(a.short_id).label == "a"  # a is now the most recently used
    cache.put(CachedModel(c, "c", UPLOAD))
    assert b.short_id not in cache and a.short_id in cache and c.short_id in cache
    assert len(cache) == 2 and cache.get("nothere") is None


def test_byte_bound_and_refresh(reference_model):
    size = weights_bytes(reference_model)
    assert size == sum(t.numel() * t.element_size() for t in reference_model.state_dict.values()) > 0
    cache = ModelCache(max_entries=10, max_bytes=2 * size)
    models = [_variant(reference_model, i) for i in range(3)]
    for m in models:
        cache.put(CachedModel(m, m.name, UPLOAD))
    assert len(cache) == 2 and models[0].short_id not in cache
    cache.put(CachedModel(models[1], "renamed", UPLOAD))  # same fingerprint: replaced, not duplicated
    assert len(cache) == 2 and cache.get(models[1].short_id).label == "renamed"
    tiny = ModelCache(max_entries=10, max_bytes=size - 1)
    tiny.put(CachedModel(models[0], "too big", UPLOAD))
    assert len(tiny) == 0


def test_bounds_and_env(monkeypatch):
    with pytest.raises(ValueError):
        ModelCache(max_entries=0)
    monkeypatch.setenv("SORTLIST_MODEL_CACHE_ENTRIES", "3")
    assert max_entries_from_env() == 3
    monkeypatch.setenv("SORTLIST_MODEL_CACHE_ENTRIES", "lots")
    assert max_entries_from_env() == 32
