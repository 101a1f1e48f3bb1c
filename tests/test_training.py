"""Training: learning, best-weight selection, callbacks, determinism, saving, and the CLI glue.

Runs on a tiny config (4-element lists of 0..12, d_model 32) so the whole file takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace

import pytest
import torch

from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.cli import add_train_arguments, config_and_recipe_from_args, run_train_command
from sortlist_core.config import ModelConfig
from sortlist_core.data import EVAL_SEED, SortedListDataset, eval_dataset
from sortlist_core.model import forward, hooked_shapes, raw_weights
from sortlist_core.training import (
    BUNDLED_RECIPE,
    FAST_RECIPE,
    ORIGINAL_RECIPE,
    RECIPES,
    TrainProgress,
    TrainResult,
    evaluate,
    init_state_dict,
    random_tokens,
    sorted_half_logits,
    train,
)

from .tiny import TINY, TINY_RECIPE

TINY_ARGS = ["--list-len", "4", "--max-value", "12", "--d-model", "32", "--n-heads", "2",
             "--n-train", "2560", "--epochs", "1", "--batch-size", "128", "--val-size", "200",
             "--eval-every", "10", "--warmup-steps", "2", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads, and on a busy 2-core machine two OpenMP
    threads per process slow down many-fold; restored afterwards for the other test files."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_run() -> tuple[TrainResult, list[TrainProgress]]:
    reports: list[TrainProgress] = []
    return train(TINY, TINY_RECIPE, progress=reports.append), reports


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_training_learns_and_returns_the_best_validation_weights(tiny_run):
    result, _ = tiny_run
    history = result.metadata.history
    assert history[-1].loss < history[0].loss / 3
    assert result.val_accuracy > 0.95 > history[0].val_accuracy
    assert result.val_accuracy == max(h.val_accuracy for h in history)
    # The returned weights are the ones that scored the reported accuracy, not the last ones.
    val_toks = SortedListDataset(TINY_RECIPE.val_size, 4, 12, seed=TINY_RECIPE.val_seed).toks
    assert evaluate(result.state_dict, TINY, val_toks) == (result.val_accuracy, result.metadata.val_loss)
    assert result.metadata.best_step in [h.step for h in history]
    assert not result.cancelled and result.metadata.stop_reason == "completed"


def test_state_dict_is_hooked_format_float32_and_loads(tiny_run):
    result, _ = tiny_run
    assert {k: tuple(v.shape) for k, v in result.state_dict.items()} == hooked_shapes(TINY)
    assert all(v.dtype == torch.float32 and not v.requires_grad for v in result.state_dict.values())
    assert result.model.config == TINY
    assert result.model.metadata["val_accuracy"] == result.val_accuracy


def test_progress_reports_every_step_and_validation_at_eval_steps(tiny_run):
    result, reports = tiny_run
    assert [r.step for r in reports] == list(range(1, TINY_RECIPE.total_steps + 1))
    assert {r.total_steps for r in reports} == {TINY_RECIPE.total_steps}
    evaluated = [r.step for r in reports if r.val_accuracy is not None]
    assert evaluated == [h.step for h in result.metadata.history]
    assert evaluated == list(range(50, TINY_RECIPE.total_steps + 1, 50))
    assert all(a.elapsed_s <= b.elapsed_s for a, b in zip(reports, reports[1:]))


def test_should_stop_returns_best_so_far_flagged_cancelled():
    reports: list[TrainProgress] = []
    result = train(TINY, TINY_RECIPE, progress=reports.append, should_stop=lambda: len(reports) >= 7)
    assert result.cancelled and result.metadata.stop_reason == "cancelled"
    assert result.metadata.steps == 7 == reports[-1].step
    assert len(result.metadata.history) == 1  # validated once on stopping, so accuracy is real
    assert 0 <= result.val_accuracy <= 1


def test_target_accuracy_stops_early():
    result = train(TINY, TINY_RECIPE, target_accuracy=0.5)
    assert result.metadata.stop_reason == "target_accuracy" and not result.cancelled
    assert result.val_accuracy >= 0.5
    assert result.metadata.steps < TINY_RECIPE.total_steps


def test_same_seed_same_weights_and_the_global_rng_is_untouched():
    recipe = replace(TINY_RECIPE, n_train=128 * 30, eval_every=10)
    rng_before = torch.get_rng_state()
    a, b = train(TINY, recipe), train(TINY, recipe)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert a.model.weights_sha256 == b.model.weights_sha256
    c = train(TINY, replace(recipe, seed=8))
    assert not torch.equal(a.state_dict["embed.W_E"], c.state_dict["embed.W_E"])


def test_fixed_data_recipe_trains_with_adam():
    recipe = replace(TINY_RECIPE, fresh_data=False, optimizer="adam", n_train=1_280, epochs=3, eval_every=10)
    result = train(TINY, recipe)
    assert result.metadata.steps == 30 == recipe.total_steps
    assert result.metadata.history[-1].loss < result.metadata.history[0].loss


def test_training_logits_are_exactly_the_model_forward():
    state = init_state_dict(TINY, None, torch.Generator().manual_seed(0))
    toks = random_tokens(64, TINY, torch.Generator().manual_seed(1))
    weights, ln = raw_weights(state, TINY)
    expected = forward(weights, toks, ln=ln).logits[:, TINY.list_len : -1]
    assert torch.equal(sorted_half_logits(state, TINY, toks), expected)


def test_training_data_never_replays_the_eval_set():
    """Training seeded with the eval set's seed (43) must not reproduce the write-up's eval lists."""
    eval_toks = eval_dataset(ModelConfig()).toks
    from sortlist_core.training import derive_seed

    gen = torch.Generator().manual_seed(derive_seed(EVAL_SEED, "data"))
    train_toks = random_tokens(500, ModelConfig(), gen)
    assert not (train_toks[:, None] == eval_toks[None]).all(-1).any()


def test_metadata_has_every_field_and_the_checkpoint_round_trips(tiny_run, tmp_path):
    result, _ = tiny_run
    path = result.save(tmp_path / "model.pt")
    loaded = load_checkpoint(path)
    assert loaded.weights_sha256 == result.model.weights_sha256
    meta = loaded.metadata
    for key in ("config", "seed", "recipe", "val_accuracy", "eval_loss", "steps", "wall_time_s",
                "cancelled", "history", "versions", "created"):  # fmt: skip
        assert key in meta, key
    assert meta["config"] == TINY.to_dict() and meta["seed"] == 7
    assert meta["recipe"]["name"] == "tiny" and meta["recipe"]["betas"] == [0.9, 0.999]
    assert set(meta["versions"]) >= {"python", "torch", "numpy"}
    assert meta["created"].endswith("+00:00")
    assert set(meta["history"][0]) >= {"step", "loss", "val_accuracy"}
    sidecar = json.loads((tmp_path / "model.pt.json").read_text())
    assert sidecar["val_accuracy"] == result.val_accuracy and sidecar["config"] == TINY.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "model.pt.json"]  # no temp files


def test_metadata_keeps_the_checkpoint_json_format(tiny_run):
    """Typed metadata writes the same JSON keys as the shipped checkpoint's sidecar."""
    from sortlist_core.paths import BUNDLED_MODEL_PATH

    shipped = json.loads(BUNDLED_MODEL_PATH.with_name(BUNDLED_MODEL_PATH.name + ".json").read_text())
    written = tiny_run[0].metadata.to_dict()
    assert set(written) == set(shipped)
    assert set(written["history"][0]) == set(shipped["history"][0])
    assert set(written["recipe"]) == set(shipped["recipe"]) and written["eval_set"] == shipped["eval_set"]


def test_failed_write_keeps_the_previous_checkpoint(tiny_run, tmp_path, monkeypatch):
    result, _ = tiny_run
    path = tmp_path / "model.pt"
    path.write_bytes(b"previous")

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        result.save(path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_run_train_command_trains_and_saves(tmp_path, capsys):
    out = tmp_path / "sub" / "m.pt"
    assert run_train_command(_parse([*TINY_ARGS, "--seed", "3", "--out", str(out)])) == 0
    loaded = load_checkpoint(out)
    assert loaded.config == TINY
    assert loaded.metadata["recipe"]["name"] == "fast" and loaded.metadata["seed"] == 3
    assert loaded.metadata["recipe"]["n_train"] == 2560 and loaded.metadata["steps"] == 20
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(f"saved {out}: val accuracy")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "-1"], "epochs"),
        (["--epochs", "0"], "epochs"),
        (["--batch-size", "0"], "batch_size"),
        (["--lr", "0"], "lr_start"),
        (["--lr", "nan"], "lr_start"),
        (["--weight-decay", "-0.1"], "weight_decay"),
        (["--val-size", "0"], "val_size"),
        (["--eval-every", "0"], "eval_every"),
        (["--val-seed", str(EVAL_SEED)], "val_seed"),
        (["--warmup-steps", "100000"], "warmup_steps"),
        (["--betas", "0.9", "1.0"], "betas"),
        (["--seed", "-1"], "seed"),
        (["--list-len", "60", "--max-value", "50"], "list_len"),
        (["--max-value", "0"], "max_value"),
        (["--d-model", "95"], "divisible"),
        (["--n-heads", "0"], "n_heads"),
        (["--d-head", "0"], "d_head"),
        (["--target-accuracy", "1.5"], "target-accuracy"),
        (["--threads", "0"], "threads"),
    ],
)
def test_run_train_command_rejects_bad_values_before_training(argv, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_train_command(_parse([*argv, "--quiet", "--out", str(tmp_path / "m.pt")]))
    assert not list(tmp_path.iterdir())


def test_run_train_command_rejects_a_directory_as_out(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        run_train_command(_parse(["--quiet", "--out", str(tmp_path)]))


def test_flags_override_the_chosen_recipe():
    config, recipe = config_and_recipe_from_args(
        _parse(["--recipe", "original", "--lr", "0.002", "--data", "fresh"])
    )
    assert config == ModelConfig()
    assert recipe == replace(ORIGINAL_RECIPE, lr_start=0.002, fresh_data=True)
    config, recipe = config_and_recipe_from_args(_parse(["--d-model", "64", "--n-heads", "4"]))
    assert (config.d_model, config.n_heads, config.d_head) == (64, 4, 16)
    assert recipe == FAST_RECIPE


def test_named_recipes():
    assert set(RECIPES) == {"fast", "original", "bundled"} and RECIPES["fast"] is FAST_RECIPE
    o = ORIGINAL_RECIPE
    assert (o.n_train, o.epochs, o.batch_size, o.lr_start, o.lr_end, o.weight_decay, o.seed) == (
        150_000, 25, 512, 1e-3, 1e-4, 0.005, 42,
    )  # fmt: skip
    assert o.optimizer == "adam" and not o.fresh_data and o.warmup_steps == 0
    for recipe in RECIPES.values():
        recipe.validate()
        assert recipe.val_size == 10_000 and recipe.val_seed not in (EVAL_SEED, recipe.seed)
    assert BUNDLED_RECIPE.total_steps >= FAST_RECIPE.total_steps


def test_learning_rate_schedule():
    r = replace(TINY_RECIPE, n_train=128 * 101, warmup_steps=0)
    assert r.lr_at(0) == r.lr_start and r.lr_at(100) == pytest.approx(r.lr_end)
    assert r.lr_at(50) == pytest.approx((r.lr_start + r.lr_end) / 2)
    w = replace(r, warmup_steps=10)
    assert w.lr_at(0) == pytest.approx(r.lr_start / 10) and w.lr_at(9) == w.lr_start
    assert w.lr_at(100) == pytest.approx(r.lr_end)
