"""Shared fixtures: the reference checkpoint (read from ../shared, never copied), a copy with
its two heads swapped, and the bundled model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
# SORTLIST_SHARED: the shared/ folder when the checkout is not next to it (e.g. a git worktree)
SHARED_DIR = Path(os.environ.get("SORTLIST_SHARED") or REPO_ROOT.parent / "shared")
REFERENCE_PATH = SHARED_DIR / "reference" / "arena_sorted_list_model.pt"
# Fixtures for real components: PostgreSQL cluster, databases, nginx.
pytest_plugins = ["tests.infra.fixtures"]

HEAD_KEYS = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")


def require_reference() -> Path:
    """The reference file; missing is a failure under CI and a skip elsewhere."""
    if not REFERENCE_PATH.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference checkpoint missing under CI: {REFERENCE_PATH}")
        pytest.skip("reference checkpoint not available")
    return REFERENCE_PATH


def swap_heads(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same model with heads 0 and 1 exchanged: every per-head figure must swap."""
    out = dict(state)
    for name in HEAD_KEYS:
        key = f"blocks.0.attn.{name}"
        out[key] = state[key][[1, 0]].clone()
    return out


@pytest.fixture(scope="session")
def reference_path() -> Path:
    return require_reference()


@pytest.fixture(scope="session")
def reference_state(reference_path) -> dict[str, torch.Tensor]:
    return torch.load(reference_path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="session")
def reference_model(reference_path):
    from sortlist_core import load_checkpoint

    return load_checkpoint(reference_path)


@pytest.fixture(scope="session")
def swapped_path(reference_state, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("swapped") / "swapped_heads.pt"
    torch.save(swap_heads(reference_state), path)
    return path


@pytest.fixture(scope="session")
def swapped_model(swapped_path):
    from sortlist_core import load_checkpoint

    return load_checkpoint(swapped_path)


@pytest.fixture(scope="session")
def eval_toks():
    from sortlist_core.config import ModelConfig
    from sortlist_core.data import eval_dataset

    return eval_dataset(ModelConfig()).toks


@pytest.fixture(scope="session", autouse=True)
def progress_in_a_temp_dir(tmp_path_factory):
    """Learner progress of every test (AppTest and the servers tests start) goes to a SQLite file
    in a temp dir, never to the developer's own `~/.local/share/sortlist`."""
    saved = {k: os.environ.get(k) for k in ("SORTLIST_DATA_DIR", "SORTLIST_DATABASE_URL")}
    os.environ["SORTLIST_DATA_DIR"] = str(tmp_path_factory.mktemp("progress"))
    os.environ.pop("SORTLIST_DATABASE_URL", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def pages_run_inside_app_py(monkeypatch):
    """Run each AppTest page inside `app.py`'s `st.navigation`, as the server does after its
    first run (see `sortlist_app/server/entrypoint.py`): AppTest re-detects the `pages/` folder on
    every run, so each run of a switched-to page would start alone and be rerouted by a rerun,
    which drops one-run widget values such as button clicks."""
    from streamlit.runtime.pages_manager import PagesManager

    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def fresh_unposable_registry():
    """What a model cannot pose is learnt server-wide as pages draw (`widgets.progress_session`); one
    test's refusal (a monkeypatched checker) must not change another test's counts."""
    yield
    from sortlist_app.widgets.progress_session import _unposable_registry

    _unposable_registry.clear()
