"""Every `SORTLIST_*` reader outside the runner goes through `sortlist_core.settings`:
the same spelling means the same thing to each of them, and no module keeps a parser of its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sortlist_app.server import model_cache, run_gate, training_jobs
from sortlist_core import fetch, settings
from sortlist_progress import instructor, store

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"SORTLIST_[A-Z0-9_]+")


def _modules() -> list[Path]:
    files = [
        p
        for package in ("sortlist_app", "sortlist_core", "sortlist_progress")
        for p in ROOT.joinpath(package).rglob("*.py")
    ]
    return [p for p in files if p.name != "settings.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_names_a_variable_of_its_own(path: Path) -> None:
    """A variable name spelled as a bare string outside settings.py is a reader settings.py does not know."""
    names = [
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value)
    ]
    assert names == []


@pytest.mark.parametrize("word", ["true", "YES", "on", "1"])
def test_every_reader_takes_every_true_word(monkeypatch, word: str) -> None:
    monkeypatch.setenv(settings.HOSTED, word)
    assert training_jobs.training_limits().hosted
    assert run_gate.gate_from_env({settings.RUN_GATE: word}).enabled


@pytest.mark.parametrize("word", ["false", "No", "off", "0"])
def test_every_reader_takes_every_false_word(monkeypatch, word: str) -> None:
    monkeypatch.setenv(settings.HOSTED, word)
    assert not training_jobs.training_limits().hosted
    assert not run_gate.gate_from_env({settings.RUN_GATE: word}).enabled


def test_numbers_and_texts_come_from_settings(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(settings.MODEL_CACHE_ENTRIES, " 3 ")
    monkeypatch.setenv(settings.MAX_TRAINING_JOBS, "0")
    monkeypatch.setenv(settings.ORIGINAL_URL, "  http://example.invalid/m.pt ")
    assert model_cache.max_entries_from_env() == 3
    assert training_jobs.max_jobs_from_env() == 0
    assert fetch.original_urls() == ("http://example.invalid/m.pt",)
    env = {settings.DATA_DIR: f" {tmp_path} ", settings.INSTRUCTOR_TOKEN: "  s3cret "}
    assert store.default_data_dir(env) == tmp_path
    assert instructor.instructor_token(env) == "s3cret"
    assert instructor.instructor_token({settings.INSTRUCTOR_TOKEN: "   "}) is None
