"""Every page works on a model of another size: 3 heads, lists of 6 values in 0..20, no
LayerNorm, untrained (random weights, so it gets most things wrong). Checkpoints of any
consistent shape load, and no page may assume 2 heads, 10 values or a model that works."""

from __future__ import annotations

import pytest
import torch

from sortlist_app.navigation import PAGES
from sortlist_core.checkpoint import load_checkpoint, save_checkpoint
from sortlist_core.config import ModelConfig
from sortlist_core.training import init_state_dict

from ..page_helpers import joined, open_page

OTHER = ModelConfig(list_len=6, max_value=20, d_model=48, d_head=16, n_heads=3, normalization=None)


@pytest.fixture(scope="module")
def other_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("other") / "three_heads.pt"
    state = init_state_dict(OTHER, None, torch.Generator().manual_seed(0))
    save_checkpoint(path, state, OTHER, {"note": "untrained, for tests"})
    assert load_checkpoint(path).config == OTHER
    return path


@pytest.mark.parametrize("page", [p.path for p in PAGES], ids=[p.key for p in PAGES])
def test_every_page_renders_for_three_heads_and_short_lists(monkeypatch, other_path, page):
    at = open_page(monkeypatch, page, other_path)  # asserts no exception
    text = joined(at.markdown) + joined(at.caption)
    if page.endswith(("2_attention.py", "3_circuits.py", "5_mystery.py")):  # pages that discuss heads
        assert "head 0.2" in text  # ... discuss the third head too
    assert "0..50" not in text and "0 to 50" not in text  # nothing assumes the original value range
    if page.endswith("1_problem.py"):
        assert "6 distinct values from 0 to 20" in text.replace("*", "")
