"""Reliability: the app's caches are bounded, so memory levels off however many lists a session
tries.

A fresh Python process (clean RSS) drives 500 distinct lists through every cached analysis
that is keyed by a learner's input (`predict_lists` / `analyses.attention_patterns` for one list
and for a 10-list editor batch, `mystery.dla_yz`), then reports, at
100, 200, ... 500 lists, its RSS (psutil) and the bytes Streamlit holds in each cache. Without `max_entries` the caches hold all 500 inputs and the process keeps growing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.harness import MODEL_PATH_ENV, REPO_ROOT, default_model_env

N_LISTS = 500
CHECKPOINTS = (100, 200, 300, 400, 500)
MAX_RSS_GROWTH_MB = 8.0  # between 300 and 500 lists (bounded: ~1 MB; unbounded caches: ~20 MB)

SCRIPT = r"""
import gc, json, os, random, sys
import psutil
from streamlit.runtime.caching import cache_data_api, cache_resource_api
from sortlist_app.widgets import analyses, cache
from sortlist_app.widgets.session_model import default_model
from sortlist_core import mystery
from sortlist_core.list_text import suggest_xyz
from sortlist_core.metrics import predict_lists

model = default_model().model
assert model is not None, default_model().problem
cfg = model.config
n, checkpoints = int(sys.argv[1]), set(json.loads(sys.argv[2]))
proc = psutil.Process()


def rand_list(seed):
    return tuple(random.Random(seed).sample(range(cfg.max_value + 1), cfg.list_len))


out = []
for i in range(1, n + 1):
    one = (rand_list(i),)
    batch = tuple(rand_list(100_000 + 10 * i + k) for k in range(10))  # the Adversarial editor
    cache.computed(predict_lists, model, one)
    analyses.attention_patterns(model, one)
    cache.computed(predict_lists, model, batch)
    analyses.attention_patterns(model, batch)
    cache.computed(mystery.dla_yz, model, one[0], *suggest_xyz(one[0]), head=None)
    if i in checkpoints:
        gc.collect()
        providers = (cache_data_api.get_data_cache_stats_provider(), cache_resource_api.get_resource_cache_stats_provider())
        stats = [s for p in providers for family in p.get_stats().values() for s in family]
        caches = {}
        for s in stats:
            caches[s.cache_name] = caches.get(s.cache_name, 0) + s.byte_length
        out.append({"lists": i, "rss_mb": proc.memory_info().rss / 2**20, "caches": caches})
print(json.dumps(out))
"""


def test_caches_are_bounded(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.pop(MODEL_PATH_ENV, None)
    env.update(default_model_env(), OMP_NUM_THREADS="1")  # tiny forwards: threads only cost time
    # Large blocks straight from/to the OS: RSS then tracks what the process keeps, not how
    # glibc's heap happens to fragment (which alone made RSS drift by 10-30 MB per 200 lists).
    env.update(MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="65536")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(N_LISTS), json.dumps(CHECKPOINTS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    samples = {s["lists"]: s for s in json.loads(done.stdout.strip().splitlines()[-1])}
    rss = {k: round(s["rss_mb"], 1) for k, s in samples.items()}
    report = f"RSS (MB) by lists tried: {rss}; cached bytes: { {k: s['caches'] for k, s in samples.items()} }"

    before, after = samples[300]["caches"], samples[500]["caches"]
    assert after, "no cache entries were recorded: are the analyses still cached?"
    for name, size in after.items():
        # bounded caches are full long before 300 lists: their size no longer grows
        assert size <= 1.2 * before.get(name, 0) + 64 * 1024, (
            f"cache {name} grew from {before.get(name, 0):,} to {size:,} bytes between 300 and 500 lists. {report}"
        )
    growth = rss[500] - rss[300]
    assert growth < MAX_RSS_GROWTH_MB, f"RSS grew {growth:.1f} MB between 300 and 500 lists. {report}"
    print(report)
