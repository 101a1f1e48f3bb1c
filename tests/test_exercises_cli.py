"""`python -m sortlist_core exercises ...` and the generated notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from sortlist_core.exercises import all_exercises, get_exercise, pages
from sortlist_core.paths import LESSON_MODEL_PATH, STRONG_MODEL_PATH
from tests.conftest import REPO_ROOT


def cli(*args: str, timeout: int = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sortlist_core", "exercises", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_list_json_names_every_exercise():
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows == [{"id": ex.id, "page": ex.page, "title": ex.title} for ex in all_exercises()]


def test_list_plain():
    out = cli("list")
    assert out.returncode == 0
    assert "circuits.full_ov" in out.stdout and "Full OV circuit per head" in out.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("check", "circuits.nope", "FILE"), "unknown exercise 'circuits.nope'"),
        (("check", "circuits.full_ov", "/nonexistent/learner.py"), "no such file"),
        (("check", "circuits.full_ov", "FILE", "--checkpoint", "FILE"), "not a PyTorch checkpoint"),
    ],
)
def test_check_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    learner = tmp_path / "learner.py"
    learner.write_text(get_exercise("circuits.full_ov").solution)
    out = cli(*[str(learner) if a == "FILE" else a for a in args])
    assert out.returncode == 2
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_check_runs_through_the_real_runner(tmp_path):
    pytest.importorskip("sortlist_core.runner", reason="runner branch not merged")
    import os

    env = dict(os.environ, SORTLIST_CODE_EXERCISES="process")
    good = tmp_path / "good.py"
    good.write_text(get_exercise("circuits.full_ov").solution)
    out = cli("check", "circuits.full_ov", str(good), "--json", env=env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["id"] == "circuits.full_ov" and result["passed"] is True
    assert result["seconds"] > 0
    bad = tmp_path / "bad.py"
    bad.write_text(get_exercise("circuits.full_ov").solution.replace("model.W_V[0]", "model.W_V"))
    out = cli("check", "circuits.full_ov", str(bad), "--json", env=env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["passed"] is False and "layer axis" in result["message"]


def test_notebook_files_are_valid(tmp_path):
    import nbformat

    from sortlist_core.exercises.notebooks import _submitted

    out = cli("notebook", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    for page in pages():
        nb = nbformat.read(tmp_path / f"{page}.ipynb", as_version=4)
        nbformat.validate(nb)
        text = "\n".join(c.source for c in nb.cells)
        for ex in all_exercises():
            if ex.page == page:
                submitted = _submitted(ex)  # the entry, or the learner's function a harness calls
                assert ex.starter.strip() in text and f"check_{ex.name}({submitted})" in text
                assert ex.solution.strip() not in text
        # the app's default model, unless --model/--checkpoint choose another
        assert f"CHECKPOINT = {str(LESSON_MODEL_PATH)!r}" in text


def test_notebooks_and_check_take_the_model_flag(tmp_path):
    import nbformat

    out = cli("notebook", "--out", str(tmp_path), "--model", "strong")
    assert out.returncode == 0, out.stderr
    text = "\n".join(c.source for c in nbformat.read(tmp_path / "problem.ipynb", as_version=4).cells)
    assert f"CHECKPOINT = {str(STRONG_MODEL_PATH)!r}" in text
    out = cli("check", "circuits.full_ov", str(tmp_path / "missing.py"), "--model", "nonesuch")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def _run_notebook(path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    verdicts, errors = [], []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(output.get("ename"))
            if output.get("output_type") == "stream" and output.get("text", "").startswith(
                ("PASSED", "FAILED")
            ):
                verdicts.append(output["text"])
    return verdicts, errors


@pytest.mark.slow
@pytest.mark.parametrize("solutions", [True, False], ids=["solutions", "starters"])
def test_every_notebook_runs_and_checks(tmp_path, solutions):
    """With --solutions every check passes; with the starters every check fails with its
    message and the notebook still runs to the end."""
    args = ["notebook", "--out", str(tmp_path)] + (["--solutions"] if solutions else [])
    assert cli(*args).returncode == 0
    # Two kernels at a time: each notebook is a kernel and a runner worker that mostly import
    # torch on one core, so two at once nearly halve this test's time on 2 cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(pages(), pool.map(lambda page: _run_notebook(tmp_path / f"{page}.ipynb"), pages()))
        )
    for page, (verdicts, errors) in results.items():
        assert errors == [], (page, errors)
        n = sum(ex.page == page for ex in all_exercises())
        assert len(verdicts) == n, (page, verdicts)
        for text in verdicts:
            if solutions:
                assert text.startswith("PASSED: Correct"), text
            else:
                assert text.startswith("FAILED: Not implemented yet"), text


def test_build_inputs_from_a_checkpoint_file(reference_path):
    """What the runner's child calls: fixtures by name from the checkpoint file and params."""
    import torch

    from sortlist_core.exercises.fixtures import build_inputs

    inputs = build_inputs(
        ("model", "dataset", "cache", "head"), {"head": 1, "dataset_size": 7}, reference_path
    )
    assert inputs["head"] == 1
    assert inputs["dataset"].toks.shape == (7, 21)
    assert inputs["model"].W_Q.shape == (1, 2, 96, 48)
    assert inputs["cache"]["pattern", 0].shape == (7, 2, 21, 21)
    with torch.no_grad():
        assert torch.allclose(
            inputs["cache"]["pattern", 0],
            inputs["model"].run_with_cache(inputs["dataset"].toks)[1]["pattern", 0],
        )
    with pytest.raises(KeyError, match="unknown fixture 'nope'"):
        build_inputs(("nope",), {}, reference_path)
