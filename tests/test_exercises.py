"""Every code exercise: the reference solution passes and each typical mistake is rejected with
the right message, on the bundled model, the reference checkpoint and a heads-swapped copy.

Learner code runs in-process here through `local.check_in_process` (trusted test code); the
real runner path is covered in test_exercises_cli.py.
"""

from __future__ import annotations

import pytest
import torch

from sortlist_core.checkpoint import load_checkpoint, save_checkpoint
from sortlist_core.config import ModelConfig
from sortlist_core.exercises import all_exercises, get_exercise, pages
from sortlist_core.exercises.common import source
from sortlist_core.exercises.local import check_in_process
from sortlist_core.training import init_state_dict

MODELS = ("bundled", "reference", "swapped")
# An untrained 3-head model of another size without LayerNorm: no exercise may assume 2 heads,
# lists of 10 values in 0..50, LayerNorm, or a model that sorts well.
OTHER = ModelConfig(list_len=6, max_value=20, d_model=48, d_head=16, n_heads=3, normalization=None)


@pytest.fixture(scope="module")
def models(request, tmp_path_factory):
    from sortlist_core.paths import load_bundled_model

    path = tmp_path_factory.mktemp("other") / "three_heads.pt"
    save_checkpoint(path, init_state_dict(OTHER, None, torch.Generator().manual_seed(0)), OTHER, {})
    return {
        "bundled": load_bundled_model(),
        "reference": request.getfixturevalue("reference_model"),
        "swapped": request.getfixturevalue("swapped_model"),
        "three_heads": load_checkpoint(path),
    }


def test_registry_covers_every_page():
    exercises = all_exercises()
    assert len(exercises) >= 10
    assert len({ex.id for ex in exercises}) == len(exercises)
    assert len(pages()) >= 6
    for page in pages():
        assert sum(ex.page == page for ex in exercises) >= 2, page
    for ex in exercises:
        # a harnessed exercise's entry is in its harness, which calls the learner's functions
        assert (
            f"def {ex.entry}(" in ex.starter + ex.harness and f"def {ex.entry}(" in ex.solution + ex.harness
        )
        assert "raise NotImplementedError" in ex.starter and "NotImplementedError" not in ex.solution
        assert ex.hints and ex.statement


def test_full_ov_has_the_contract_signature():
    ex = get_exercise("circuits.full_ov")
    assert 'def full_ov(model) -> Float[Tensor, "n_heads d_vocab d_vocab"]:' in ex.starter
    assert ex.inputs == ("model",)


@pytest.mark.parametrize("model_name", MODELS + ("three_heads",))
@pytest.mark.parametrize("exercise_id", [ex.id for ex in all_exercises()])
def test_solution_passes_and_starter_fails(models, model_name, exercise_id):
    ex = get_exercise(exercise_id)
    model = models[model_name]
    params = ex.params(model)
    statement = ex.render_statement(params)
    assert "{" not in statement.replace("{k}", "")  # every placeholder filled
    verdict = check_in_process(ex, model, ex.solution, params)
    assert verdict.passed, verdict.message
    starter = check_in_process(ex, model, ex.starter, params)
    assert not starter.passed and "Not implemented yet" in starter.message


def test_core_weights_match_transformer_lens_without_layernorm(models):
    """The references come from sortlist_core's processed weights; the learner's from
    TransformerLens. Without LayerNorm, centring the residual writers would change the model."""
    from sortlist_core.data import SortedListDataset
    from sortlist_core.model import run, to_transformer_lens

    model = models["three_heads"]
    toks = SortedListDataset(20, OTHER.list_len, OTHER.max_value, seed=1).toks
    ours = run(model.weights, toks).logits
    with torch.no_grad():
        theirs = to_transformer_lens(model.state_dict, model.config)(toks)
    centred = lambda x: x - x.mean(-1, keepdim=True)  # noqa: E731
    assert torch.allclose(centred(ours), centred(theirs), atol=1e-5)


def test_params_follow_the_heads(models):
    """Per-head parameters come from the model: swapping the heads swaps them."""
    for exercise_id in ("attention.sep_attends_min", "attention.mean_ablation"):
        ex = get_exercise(exercise_id)
        assert ex.params(models["swapped"])["head"] == 1 - ex.params(models["reference"])["head"]
    dla = get_exercise("mystery.dla_yz")
    ref_heads = dla.params(models["reference"])["head_list"]
    assert dla.params(models["swapped"])["head_list"] == [1 - h for h in ref_heads]


# (exercise id, learner function, words the verdict must contain)
MISTAKES = [
    (
        "problem.correct_probs",
        """
def correct_probs(model, dataset):
    L = dataset.list_len
    logprobs = model(dataset.toks)[:, L:-1].log_softmax(-1)
    return eindex(logprobs, dataset.toks[:, L + 1 :], "batch seq [batch seq]")
""",
        "log-probabilities",
    ),
    (
        "problem.correct_probs",
        """
def correct_probs(model, dataset):
    L = dataset.list_len
    probs = model(dataset.toks)[:, L:-1].softmax(1)
    return eindex(probs, dataset.toks[:, L + 1 :], "batch seq [batch seq]")
""",
        "normalised over the sequence axis",
    ),
    (
        "problem.correct_probs",
        """
def correct_probs(model, dataset):
    L = dataset.list_len
    logprobs = model(dataset.toks)[:, L - 1 : -1].log_softmax(-1)
    return eindex(logprobs, dataset.toks[:, L:], "batch seq [batch seq]").exp()
""",
        "along the prediction position axis (off by one",
    ),
    (
        "problem.summary",
        """
def summary(model, dataset):
    L = dataset.list_len
    lp = eindex(model(dataset.toks)[:, L:-1].log_softmax(-1), dataset.toks[:, L + 1 :], "batch seq [batch seq]")
    p = lp.exp()
    return torch.stack([lp.mean(), p.mean(), p.median(), p.min()])
""",
        "loss has the wrong sign",
    ),
    (
        "attention.sep_attends_min",
        """
def sep_attends_min(cache, dataset, head):
    L = dataset.list_len
    top = cache["pattern", 0][:, 1 - head, L, :].argmax(-1)
    return (dataset.toks.gather(1, top[:, None])[:, 0] == dataset.toks[:, :L].min(-1).values).float().mean().item()
""",
        "the exercise asks for head 0.",
    ),
    (
        "attention.sep_attends_min",
        """
def sep_attends_min(cache, dataset, head):
    L = dataset.list_len
    top = cache["pattern", 0][:, head, :, L].argmax(-1)
    return (dataset.toks.gather(1, top[:, None])[:, 0] == dataset.toks[:, :L].min(-1).values).float().mean().item()
""",
        "column",
    ),
    (
        "attention.sep_attends_min",
        """
def sep_attends_min(cache, dataset, head):
    L = dataset.list_len
    top = cache["pattern", 0][:, head, L, :].argmax(-1)
    return 100 * (dataset.toks.gather(1, top[:, None])[:, 0] == dataset.toks[:, :L].min(-1).values).float().mean().item()
""",
        "Off by a factor of 100: you returned a percentage",
    ),
    ("attention.mean_ablation", "ZERO", "zero-ablation"),
    ("attention.mean_ablation", "OTHER_HEAD", "from ablating head 0."),
    ("attention.mean_ablation", "SIGN", "Wrong sign"),
    (
        "circuits.full_ov",
        "def full_ov(model):\n    return model.W_E @ model.W_V @ model.W_O @ model.W_U",
        "layer axis",
    ),
    (
        "circuits.full_ov",
        "def full_ov(model):\n    return (model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U).transpose(-1, -2)",
        "Transposed: your axes are (head, prediction, source token)",
    ),
    (
        "circuits.full_ov",
        "def full_ov(model):\n    return (model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U).flip(0)",
        "heads are in the wrong order",
    ),
    (
        "circuits.full_ov",
        "def full_ov(model):\n    return (model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U).sum(0)",
        "summed over the head axis",
    ),
    (
        "circuits.full_ov",
        "def full_ov(model):\n    return model.W_E @ model.W_V[0, 1] @ model.W_O[0, 1] @ model.W_U",
        "reference for head 1 alone",
    ),
    (
        "circuits.full_qk",
        "def full_qk(model):\n    return model.W_E @ model.W_Q[0] @ model.W_K[0].transpose(-1, -2) @ model.W_E.T / model.cfg.d_head ** 0.5",
        "that is 1/sqrt(d_head) = 0.1443",
    ),
    (
        "circuits.full_qk",
        "def full_qk(model):\n    return model.W_E @ model.W_K[0] @ model.W_Q[0].transpose(-1, -2) @ model.W_E.T",
        "Transposed: your axes are (head, source token, destination token)",
    ),
    (
        "circuits.full_qk",
        "def full_qk(model):\n    return model.W_E @ model.W_Q[0] @ model.W_K[0] @ model.W_E.T",
        "Your code raised RuntimeError",
    ),
    (
        "circuits.positional_qk",
        "def positional_qk(model):\n    return model.W_E @ model.W_Q[0] @ model.W_K[0].transpose(-1, -2) @ model.W_E.T",
        "52 instead of 21 along the query position axis",
    ),
    (
        "circuits.positional_qk",
        "def positional_qk(model):\n    return (model.W_pos @ model.W_Q[0] @ model.W_K[0].transpose(-1, -2) @ model.W_E.T).transpose(-1, -2)",
        "Transposed",
    ),
    (
        "circuits.copying_head",
        "def copying_head(model):\n    ov = model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U\n    return ov.diagonal(dim1=-2, dim2=-1).argmax(0)",
        "drop SEP",
    ),
    (
        "circuits.copying_head",
        "def copying_head(model):\n    ov = model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U\n    return ov.diagonal(dim1=-2, dim2=-1)[:, :-1].argmin(0)",
        "least",
    ),
    (
        "adversarial.fool_model",
        "def find_adversarial(model, n, list_len, max_value):\n    return [list(range(i, i + 2 * list_len, 2)) for i in range(n)]",
        "Not yet: 0 of your 10 valid lists",
    ),
    (
        "adversarial.fool_model",
        "def find_adversarial(model, n, list_len, max_value):\n    return [[1] * list_len, list(range(list_len))]",
        "list 0 is invalid: 1 appears more than once",
    ),
    (
        "adversarial.sep_fails",
        "def sep_failures(model, n, low, list_len, max_value):\n    return [list(range(list_len))]",
        "below",
    ),
    ("mystery.dla_yz", "TRANSPOSED", "Transposed: your axes are (list, source, prediction)"),
    ("mystery.dla_yz", "NO_SCALE", "did not divide by the final LayerNorm scale"),
    ("mystery.dla_yz", "SUM_HEADS", "summed the value vectors over heads"),
    ("mystery.dla_yz", "OTHER_HEAD", "another head's numbers"),
    (
        "mystery.direct_path_accuracy",
        """
def direct_path_accuracy(model, dataset):
    L = dataset.list_len
    logits = model(dataset.toks)[:, L:-1]
    t = dataset.toks[:, L + 1 :]
    return torch.stack([(logits.argmax(-1) == t).float().mean(), -eindex(logits.log_softmax(-1), t, "b s [b s]").mean()])
""",
        "with the direct path still in",
    ),
    (
        "mystery.direct_path_accuracy",
        """
def direct_path_accuracy(model, dataset):
    L = dataset.list_len
    logits = (model(dataset.toks) - model.W_E[dataset.toks] @ model.W_U)[:, L:-1]
    t = dataset.toks[:, L + 1 :]
    return torch.stack([(logits.argmax(-1) == t).float().mean(), -eindex(logits.log_softmax(-1), t, "b s [b s]").mean()])
""",
        "without dividing by the final LayerNorm scale",
    ),
]


def _edit_solution(exercise_id: str, kind: str) -> str:
    """A mistake written as a small edit of the reference solution."""
    sol = get_exercise(exercise_id).solution
    edits = {
        ("attention.mean_ablation", "ZERO"): ("z[:, :, head] = z_mean", "z[:, :, head] = 0.0"),
        ("attention.mean_ablation", "OTHER_HEAD"): ("[:, :, head]", "[:, :, 1 - head]"),
        ("attention.mean_ablation", "SIGN"): ("(orig - ablated)", "(ablated - orig)"),
        ("mystery.dla_yz", "TRANSPOSED"): (
            "src_posns[:, None, :], src_tokens[:, :, None]",
            "src_posns[:, :, None], src_tokens[:, None, :]",
        ),
        ("mystery.dla_yz", "NO_SCALE"): ("(result_pre_sum / scale)", "result_pre_sum"),
        ("mystery.dla_yz", "SUM_HEADS"): ("out = out[torch.arange(B), :, heads]", "out = out.sum(2)"),
        ("mystery.dla_yz", "OTHER_HEAD"): (
            "heads = torch.tensor(head_list)",
            "heads = 1 - torch.tensor(head_list)",
        ),
    }
    old, new = edits[(exercise_id, kind)]
    assert old in sol, (exercise_id, old)
    return sol.replace(old, new)


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize(
    ("exercise_id", "code", "words"), MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)]
)
def test_typical_mistake_gets_the_right_message(models, model_name, exercise_id, code, words):
    ex = get_exercise(exercise_id)
    model = models[model_name]
    learner = _edit_solution(exercise_id, code) if code.isupper() else source(code)
    verdict = check_in_process(ex, model, learner)
    assert not verdict.passed
    assert words in verdict.message, verdict.message


def test_exception_shows_the_learners_traceback(models):
    ex = get_exercise("circuits.full_ov")
    code = source("def helper(x):\n    return x / 0\n\n\ndef full_ov(model):\n    return helper(1)")
    verdict = check_in_process(ex, models["bundled"], code)
    assert "Your code raised ZeroDivisionError" in verdict.message
    assert 'File "<your code>", line ' in verdict.message and "in helper" in verdict.message
    assert "sortlist_core" not in verdict.message  # trimmed to the learner's frames


def test_missing_function_is_reported(models):
    verdict = check_in_process(
        get_exercise("circuits.full_ov"), models["bundled"], source("def fullov(model):\n    pass")
    )
    assert "does not define a function called 'full_ov'" in verdict.message


def test_repeated_lists_count_once(models):
    ex = get_exercise("adversarial.fool_model")
    model = models["reference"]
    params = ex.params(model)
    found = check_in_process(ex, model, ex.solution, params)
    assert found.passed
    one_wrong = source(ex.solution).replace(
        "return unsorted[margin.argsort()[:n]].tolist()", "return [unsorted[margin.argmin()].tolist()] * n"
    )
    verdict = check_in_process(ex, model, one_wrong, params)
    assert not verdict.passed
    assert (
        "1 of your 1 valid lists are sorted wrongly" in verdict.message
        and "list 1 repeats list 0" in verdict.message
    )


@pytest.mark.slow
def test_trained_three_head_model_with_layernorm():
    """A freshly trained 3-head model (tiny, seconds to train) that sorts perfectly: the
    adversarial exercises switch to their reachable low-margin variant and say so."""
    from dataclasses import replace

    from sortlist_core.training import train
    from tests.tiny import TINY, TINY_RECIPE

    model = train(replace(TINY, n_heads=3), TINY_RECIPE).model
    for ex in all_exercises():
        params = ex.params(model)
        verdict = check_in_process(ex, model, ex.solution, params)
        assert verdict.passed, (ex.id, verdict.message)
        if ex.page == "adversarial" and params["mode"] == "margin":
            assert "margin" in ex.render_statement(params)
