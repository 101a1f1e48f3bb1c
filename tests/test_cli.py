import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sortlist_core", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_report_json_on_reference(reference_path):
    out = cli("report", "--checkpoint", str(reference_path), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["checkpoint"]["sha256"].startswith("d981231d")
    m = report["metrics"]
    assert [round(m[k], 3) for k in ("loss", "mean_prob", "median_prob", "min_prob")] == [
        0.039,
        0.966,
        0.981,
        0.001,
    ]
    assert 0.99 < m["accuracy"] <= 1
    assert [round(x, 3) for x in report["ablation"]["mean"]] == [0.920, 4.963]
    assert len(report["ablation"]["zero"]) == 2
    assert report["heads"][0] == {
        "head": 0,
        "name": "0.0",
        "copies": list(range(28, 37)),
        "ranges": [[28, 36]],
    }
    assert report["claims"]["sep_attends_min"]["any_head"] > 0.95
    assert 0 < report["claims"]["attends_next_larger"]["any_head"] <= 1
    assert len(report["mystery"]) == 4
    assert [c["name"] for c in report["criteria"] if c["passed"]] == [c["name"] for c in report["criteria"]]
    assert len(report["criteria"]) == 7


def test_report_markdown_on_swapped_names_the_other_head(swapped_path):
    out = cli("report", "--checkpoint", str(swapped_path))
    assert out.returncode == 0, out.stderr
    assert "head 0.1: 9 tokens — 28–36" in out.stdout
    assert "Head 0.0 matters most" in out.stdout


def test_report_defaults_to_the_lesson_model_like_the_app():
    """One default everywhere: without --model/--checkpoint the CLI reports the app's model."""
    from sortlist_core.paths import LESSON_MODEL, default_bundled_key

    assert default_bundled_key() == "lesson"
    out = cli("report", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["checkpoint"]["name"] == LESSON_MODEL.name
    assert report["criteria"], "the lesson model's criteria (assets/TRAINING.md) are reported"
    assert {"name", "passed", "value", "threshold", "text"} <= set(report["criteria"][0])


def test_report_on_the_strong_model():
    out = cli("report", "--model", "strong", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["metrics"]["loss"] <= 0.04 and report["checkpoint"]["name"] == "strong model"


def test_model_and_checkpoint_are_exclusive(reference_path):
    out = cli("report", "--model", "strong", "--checkpoint", str(reference_path))
    assert out.returncode == 2 and "not allowed with" in out.stderr


def test_advex_json(reference_path):
    out = cli("advex", "--checkpoint", str(reference_path), "--budget", "2000", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    examples = json.loads(out.stdout)["examples"]
    assert examples and all(e["predicted"] != e["target"] for e in examples)
    assert all(sorted(e["unsorted"]) == e["target"] for e in examples)


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--checkpoint", "/definitely/missing.pt"),
        ("advex", "--budget", "-5"),
        ("advex", "--budget", "many"),
        ("frobnicate",),
        ("report", "--bogus"),
        ("train", "--epochs", "-1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args):
    out = cli(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_bad_checkpoint_file_exit_2(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    out = cli("report", "--checkpoint", str(bad))
    assert out.returncode == 2 and "not a PyTorch checkpoint" in out.stderr and "Traceback" not in out.stderr


def test_import_leaves_streamlit_out():
    code = "import sys, sortlist_core; print('streamlit' in sys.modules, 'transformer_lens' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"]
