"""The server-side model cache (sortlist_app.server.model_cache): bounded by entries and bytes, least
recently used out first, keyed by the short fingerprint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sortlist_app.server.model_cache import (
    UPLOAD,
    CachedModel,
    ModelCache,
    max_entries_from_env,
    weights_bytes,
)
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


def _impostor(model, name: str = "impostor"):
    """A model whose weights sha256 shares the first 8 hex digits with `model`'s (an attacker
    can search for such weights: 32 bits are ~65,000 tries to a birthday collision)."""
    other = _variant(model, 99)
    return replace(other, weights_sha256=model.weights_sha256[:8] + other.weights_sha256[8:], name=name)


def test_a_short_id_collision_never_overwrites_or_opens_the_wrong_model(reference_model):
    victim, impostor = reference_model, _impostor(reference_model)
    assert victim.short_id == impostor.short_id and victim.weights_sha256 != impostor.weights_sha256
    cache = ModelCache(max_entries=4)
    cache.put(CachedModel(victim, "victim", UPLOAD))
    cache.put(CachedModel(impostor, "impostor", UPLOAD))  # used to replace the victim's entry
    assert len(cache) == 2
    assert cache.get(victim.weights_sha256).label == "victim"
    assert cache.get(victim.link_id).label == "victim"  # 16 digits: what links carry now
    assert cache.get(impostor.weights_sha256).label == "impostor"
    assert cache.get(victim.short_id) is None and victim.short_id not in cache  # ambiguous: neither
    assert sorted(e.label for e in cache.matching(victim.short_id)) == ["impostor", "victim"]


def test_a_unique_old_short_link_still_resolves_and_short_prefixes_do_not(reference_model):
    cache = ModelCache()
    cache.put(CachedModel(reference_model, "m", UPLOAD))
    assert cache.get(reference_model.short_id).label == "m"
    assert cache.get(reference_model.weights_sha256[:4]) is None and cache.get("") is None
