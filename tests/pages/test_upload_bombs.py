"""Checkpoint bombs through the Model page's real uploader, in AppTest: each is
refused with a sentence naming the bound, `torch.load` is never reached for the zip bombs, and
the session keeps the model it had."""

from __future__ import annotations

import pytest
import torch

from sortlist_app.widgets.session_model import SESSION_MODEL_KEY
from sortlist_core import checkpoint as checkpoint_module

from ..page_helpers import assert_ok, joined, open_page
from ..test_checkpoint_bombs import deflate_bomb, huge_architecture, too_many_entries

PAGE = "pages/6_model.py"


@pytest.mark.parametrize(
    ("name", "build", "fragment", "zip_bomb"),
    [
        ("inflates.pt", deflate_bomb, "is compressed", True),
        ("entries.pt", lambda s: too_many_entries(s, 300), "over the limit of 256", True),
        (
            "huge.pt",
            lambda s: huge_architecture(list_len=50, max_value=3000, d_model=2048, d_head=256, n_heads=8),
            "list length 50 is over this loader's limit of 20",
            False,
        ),
    ],
)
def test_the_uploader_refuses_bombs_and_keeps_the_model(
    monkeypatch, reference_path, reference_state, name, build, fragment, zip_bomb
):
    at = open_page(monkeypatch, PAGE, reference_path)
    before = at.session_state[SESSION_MODEL_KEY] if SESSION_MODEL_KEY in at.session_state else None
    loads = []
    real = torch.load
    monkeypatch.setattr(checkpoint_module.torch, "load", lambda *a, **k: loads.append(a) or real(*a, **k))
    at.file_uploader(key="model.upload").set_value((name, build(reference_state), "application/octet-stream"))
    at.run()
    assert_ok(at)
    errors = joined(at.error)
    assert f"**{name}** could not be used" in errors and fragment in errors, errors
    after = at.session_state[SESSION_MODEL_KEY] if SESSION_MODEL_KEY in at.session_state else None
    assert after is before
    assert (loads == []) == zip_bomb
