"""sortlist_core.explain: splicing a hypothesis into the model and scoring it causally.

Trusted in-process hypotheses test the splice and the scores; hostile code goes through the real
runner (`run_hypothesis`, the same sandbox as the code exercises)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from sortlist_core import load_checkpoint
from sortlist_core.circuits import head_responsibility
from sortlist_core.explain import (
    Hypothesis,
    HypothesisError,
    explain,
    hypothesis_in_process,
    pair_checks,
    prepare,
)
from sortlist_core.explain.hypothesis import check_patterns, decode_hypothesis
from sortlist_core.explain.references import reference_hypothesis, reference_results
from sortlist_core.explain.run import hypothesis_from_outcome, hypothesis_job
from sortlist_core.model import run
from sortlist_core.paths import PROJECT_ROOT
from sortlist_core.runner import Limits, Runner, RunnerMode
from sortlist_core.runner import sandbox as sandbox_mod
from sortlist_core.runner.mode import ModeDecision

from .conftest import REPO_ROOT
from .test_runner import SECRET, assert_nothing_survives, probe, server_secret  # noqa: F401 - fixtures

LESSON = PROJECT_ROOT / "assets" / "lesson_model.pt"
# the runner tests' limits, with room for building the TransformerLens model the harness offers
HOSTILE_LIMITS = Limits(cpu_s=4, wall_s=10, memory_mb=1024, processes=32, open_files=64)


@pytest.fixture(scope="module")
def lesson():
    return load_checkpoint(LESSON)


@pytest.fixture(scope="module")
def lesson_prep(lesson):
    return prepare(lesson)


def _own_patterns(prep) -> np.ndarray:
    return run(prep.model.weights, prep.ctx.toks).pattern.transpose(0, 1).numpy()


@pytest.mark.parametrize("which", ["lesson", "reference"])
def test_splicing_the_models_own_patterns_recovers_all_of_the_loss(which, lesson_prep, reference_model):
    prep = lesson_prep if which == "lesson" else prepare(reference_model)
    result = explain(prep, Hypothesis(patterns=_own_patterns(prep)))
    assert result.card.recovered == pytest.approx(1.0, abs=1e-4)
    assert result.card.hypothesis.loss == pytest.approx(result.card.model.loss, rel=1e-4)
    # the no-splice path reproduces the model's own forward pass
    logits = run(prep.model.weights, prep.ctx.toks).logits[:, prep.ctx.positions]
    assert torch.allclose(prep.base.model.logprobs, logits.log_softmax(-1), atol=1e-4)


def test_handles_covering_every_value_change_nothing_and_empty_handles_equal_mean_ablation(
    lesson, lesson_prep
):
    n, V = lesson.config.n_heads, lesson.config.max_value + 1
    everything = explain(lesson_prep, Hypothesis(handles=tuple(frozenset(range(V)) for _ in range(n))))
    assert everything.card.recovered == pytest.approx(1.0, abs=1e-5)
    nothing = explain(lesson_prep, Hypothesis(handles=tuple(frozenset() for _ in range(n))))
    assert nothing.card.hypothesis.loss == pytest.approx(nothing.card.ablated.loss, rel=1e-5)
    assert nothing.card.recovered == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("which", ["lesson", "reference"])
def test_uniform_attention_recovers_less_than_the_writeups_algorithm(which, lesson_prep, reference_model):
    prep = lesson_prep if which == "lesson" else prepare(reference_model)
    results = {ref.key: res for ref, res in reference_results(prep)}
    assert results["uniform"].card.recovered < results["writeup"].card.recovered - 0.5
    assert results["uniform"].card.recovered == pytest.approx(
        results["uniform"].card.uniform_recovered, abs=1e-5
    )
    assert results["writeup"].card.recovered > 0.9


def test_swapping_the_heads_swaps_the_reference_routing(reference_model, swapped_model):
    original = reference_hypothesis(reference_model, "writeup", prepare(reference_model).ctx.toks)
    swapped = reference_hypothesis(swapped_model, "writeup", prepare(swapped_model).ctx.toks)
    assert original.handles[0] != original.handles[1]
    assert swapped.handles == original.handles[::-1]
    # the write-up's minor head (28-36 on the original) is head 0.0 there and head 0.1 once swapped
    assert set(range(28, 37)) <= original.handles[0] and set(range(28, 37)) <= swapped.handles[1]
    a = explain(prepare(reference_model), original).card.recovered
    b = explain(prepare(swapped_model), swapped).card.recovered
    assert a == pytest.approx(b, abs=1e-3)


def _patterns(batch=3, seq=21, heads=2) -> np.ndarray:
    rows = np.tril(np.ones((seq, seq), dtype=np.float32))
    return np.broadcast_to(rows / rows.sum(-1, keepdims=True), (heads, batch, seq, seq)).copy()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda p: p[:, :, :, :20], "key_pos has length 20"),
        (lambda p: p[:, 0], "no batch axis"),
        (lambda p: np.where(np.arange(21) == 3, np.nan, p), "NaN"),
        (lambda p: p * 2, "sums to 2"),
        (lambda p: np.ones_like(p) / 21, "keys after the query"),
        (lambda p: p - 0.5, "negative"),
    ],
)
def test_malformed_patterns_get_a_teaching_assistants_message(edit, words):
    p = edit(_patterns())  # (p[:, 0]: each head returned [q, k], no batch axis)
    with pytest.raises(HypothesisError, match=words):
        check_patterns(p, 2, 3, 21)


def test_decode_trusts_nothing():
    kw = {"n_heads": 2, "seq": 21, "d_vocab": 52, "max_value": 50}
    for bad in (None, "x", (np.zeros(6),), {"meta": 1}):
        with pytest.raises(HypothesisError):
            decode_hypothesis(bad, **kw)
    meta = np.array([0, 1, 0, -1, -1, 500])
    handled = np.array([[1, 2, 60], [3, -1, -1]])
    with pytest.raises(HypothesisError, match="contains 60"):
        decode_hypothesis((meta, np.zeros(0), handled, np.zeros(0), np.zeros(0, dtype=np.int64)), **kw)


def test_in_process_hypothesis_wrong_shape_names_the_axis(lesson):
    code = "import torch\ndef attention(tokens, head):\n    return torch.ones(21, 21) / 21\n"
    with pytest.raises(HypothesisError, match="no batch axis"):
        hypothesis_in_process(lesson, code)


def test_pair_checks_cover_every_pair_and_follow_the_routing(reference_model, swapped_model):
    checks = {c.key: c for c in pair_checks(reference_model)}
    n = reference_model.config.max_value + 1
    assert checks["ov_copies"].holds.shape == (n, n)
    applicable = ~np.isnan(checks["next_value_qk"].holds)
    assert applicable.sum() == (n - 1) * (n - 1)  # every query below the top, every key but d+1
    assert 0 < checks["next_value_qk"].fraction < 1
    swapped = {c.key: c for c in pair_checks(swapped_model)}
    for key in checks:  # the same claims hold on the same pairs once the heads are swapped
        np.testing.assert_array_equal(
            np.nan_to_num(checks[key].holds, nan=-1), np.nan_to_num(swapped[key].holds, nan=-1)
        )
    owner = head_responsibility(reference_model).owner
    assert owner != head_responsibility(swapped_model).owner


# --- hostile code meets the runner's sandbox -------------------------------------------------
# The runner's own hostile-code helpers (tests/test_runner.py), in process and sandbox mode.


@pytest.fixture(scope="module", params=["process", "sandbox"])
def hostile_runner(request, server_secret):  # noqa: F811 - the runner tests' fixture
    mode = RunnerMode(request.param)
    if mode is RunnerMode.SANDBOX:
        works, why = sandbox_mod.probe()
        if not works:
            if os.environ.get("CI") == "true":
                pytest.fail(f"bubblewrap cannot run under CI: {why}")
            pytest.skip(f"bubblewrap cannot run here: {why}")
    r = Runner(ModeDecision(mode, "test"), HOSTILE_LIMITS, max_running=2, max_queued=4)
    r.warm_up()
    yield r
    r.close()
    assert_nothing_survives(r)


def _run(runner, model, source: str):
    return hypothesis_from_outcome(model, runner.run(hypothesis_job(model, source)))


def test_a_hypothesis_cannot_read_the_servers_secrets_or_run_as_root(hostile_runner, lesson):
    spy = (
        "import os, glob\n"
        "def attention(tokens, head):\n"
        "    seen = [str(dict(os.environ)), str(os.getuid())]\n"
        "    for p in glob.glob('/proc/*/environ'):\n"
        "        try:\n"
        "            seen.append(open(p, 'rb').read().decode('latin-1'))\n"
        "        except OSError:\n"
        "            pass\n"
        "    print(' | '.join(seen))\n"
        "    raise RuntimeError(seen[0])\n"
    )
    ran = _run(hostile_runner, lesson, spy)
    assert ran.hypothesis is None and ran.status == "error", ran
    assert SECRET not in ran.stdout + ran.traceback + ran.message
    assert ran.stdout.split(" | ")[1] != "0"  # never root


def test_runaway_and_forking_hypotheses_are_stopped_and_leave_nothing(hostile_runner, lesson, probe):  # noqa: F811
    loop = "def attention(tokens, head):\n    while True:\n        pass\n"
    ran = _run(hostile_runner, lesson, loop)
    assert ran.hypothesis is None and ran.status == "timeout", ran
    forks = (
        "import os, time\n"
        "def attention(tokens, head):\n"
        "    for _ in range(300):\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                time.sleep(100)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return tokens\n"
    )
    ran = _run(hostile_runner, lesson, forks)
    assert ran.hypothesis is None and "axes" in ran.message, ran  # tokens are no pattern: a TA message
    assert_nothing_survives(hostile_runner)


def test_a_hostile_return_value_is_never_unpickled(hostile_runner, lesson):
    evil = (
        "import numpy as np\n"
        "class Evil:\n"
        "    def __reduce__(self):\n"
        "        return (print, ('pwned',))\n"
        "def attention(tokens, head):\n"
        "    return np.array([Evil()], dtype=object)\n"
    )
    ran = _run(hostile_runner, lesson, evil)
    assert ran.hypothesis is None and "pwned" not in ran.stdout, ran
    assert "numbers" in ran.traceback + ran.message


# --- CLI --------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sortlist_core", "explain", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip


def test_cli_explains_the_writeup_reference_and_refuses_bad_input(tmp_path, lesson):
    from sortlist_core.explain import reference

    path = tmp_path / "hyp.py"
    path.write_text(reference(lesson, "writeup").source)
    out = _cli(str(path), "--checkpoint", str(LESSON), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["recovered"] > 0.9 and len(data["worst_lists"]) == 5
    assert data["mean_ablated"]["loss"] > data["model"]["loss"]
    assert set(data["pieces"]) == {"attention", "handles"}
    bad = tmp_path / "bad.py"
    bad.write_text("def attention(tokens, head):\n    return [[1.0]]\n")
    for args in ([str(bad), "--checkpoint", str(LESSON)], [str(tmp_path / "missing.py")]):
        out = _cli(*args)
        assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out


def test_a_zero_ov_removes_exactly_the_heads_direct_contribution(lesson, lesson_prep):
    """`ov`: the head's logit contribution becomes sum_k pattern * ov[token_k] (here 0), with the
    final LayerNorm's scale of the pass; checked against the model's own forward pass."""
    from sortlist_core.explain.splice import spliced_logits

    ctx = lesson_prep.ctx
    n, V = lesson.config.n_heads, lesson.config.d_vocab
    fwd = run(lesson.weights, ctx.toks)
    P = ctx.positions
    own = torch.einsum("bphd,dv->bphv", fwd.head_out[:, P] / fwd.final_scale[:, P, None], lesson.weights.W_U)
    for h in range(n):
        ov = np.zeros((n, V, V), dtype=np.float32)
        got = spliced_logits(ctx, ov=ov, heads=(h,))
        assert torch.allclose(got, fwd.logits[:, P] - own[:, :, h], atol=1e-4)
    # a constant table adds that constant to every logit: the prediction is the zero table's
    shifted = spliced_logits(ctx, ov=np.full((n, V, V), 3.0, dtype=np.float32))
    zero = spliced_logits(ctx, ov=np.zeros((n, V, V), dtype=np.float32))
    assert torch.allclose(shifted.log_softmax(-1), zero.log_softmax(-1), atol=1e-4)


def test_ov_and_handles_come_back_through_the_harness_checked(lesson):
    V = lesson.config.d_vocab
    code = f"import torch\ndef ov(head):\n    return torch.eye({V}) * (head + 1)\ndef handles(head):\n    return {{head, 10}}\n"
    hyp = hypothesis_in_process(lesson, code)
    assert hyp.pieces == ("handles", "ov")
    assert hyp.ov.shape == (lesson.config.n_heads, V, V) and hyp.ov[1, 3, 3] == 2
    assert hyp.handles == (frozenset({0, 10}), frozenset({1, 10}))
    with pytest.raises(HypothesisError, match=r"expected \[d_vocab, d_vocab\]"):
        hypothesis_in_process(lesson, "import torch\ndef ov(head):\n    return torch.eye(5)\n")
    with pytest.raises(HypothesisError, match="defines none"):
        hypothesis_in_process(lesson, "x = 1\n")
