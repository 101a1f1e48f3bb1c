import hashlib
import io
import os
import pickle

import pytest
import torch

from sortlist_core import (
    CheckpointError,
    ModelConfig,
    load_checkpoint,
    model_from_state_dict,
    save_checkpoint,
)
from sortlist_core.checkpoint import checkpoint_bytes, weights_fingerprint
from sortlist_core.config import ConfigError, config_from_architecture
from sortlist_core.model import forward, hooked_shapes, raw_weights, run

REFERENCE_SHA256 = "d981231d29a5102377f0f3e936895980a76bea719f78b4d02ab191b84f0d50e3"


def to_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_reference_loads_with_inferred_config(reference_model):
    assert reference_model.config == ModelConfig(10, 50, 96, 48, 2, 1, "LN")
    assert reference_model.sha256 == REFERENCE_SHA256
    assert reference_model.config.d_vocab == 52 and reference_model.config.n_ctx == 21


def test_path_and_bytes_give_same_model(reference_path, reference_model):
    from_bytes = load_checkpoint(reference_path.read_bytes())
    assert from_bytes.sha256 == reference_model.sha256
    assert from_bytes.weights_sha256 == reference_model.weights_sha256
    assert from_bytes.name == "uploaded model"


def test_processing_preserves_the_function(reference_model, reference_state, eval_toks):
    raw, ln = raw_weights(reference_model.state_dict, reference_model.config)
    with torch.no_grad():
        raw_logprobs = forward(raw, eval_toks, ln=ln).logits.log_softmax(-1)
    processed_logprobs = run(reference_model.weights, eval_toks).logits.log_softmax(-1)
    assert torch.allclose(raw_logprobs, processed_logprobs, atol=1e-4)


def test_processing_matches_transformer_lens(reference_model, eval_toks):
    """Our folding equals TransformerLens 4.x's `enable_compatibility_mode` weights and logits."""
    from sortlist_core.model import to_transformer_lens

    bridge = to_transformer_lens(reference_model.state_dict, reference_model.config)
    w = reference_model.weights
    for name in ("W_E", "W_pos", "W_U", "b_U"):
        assert torch.allclose(getattr(bridge, name), getattr(w, name), atol=1e-6), name
    for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
        assert torch.allclose(getattr(bridge, name)[0], getattr(w, name), atol=1e-6), name
    with torch.no_grad():
        assert torch.allclose(bridge(eval_toks[:50]), run(w, eval_toks[:50]).logits, atol=1e-4)


def test_own_format_round_trip(reference_model, tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = save_checkpoint(
            tmp_path / "m.pt", reference_model.state_dict, reference_model.config, {"seed": 3}
        )
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by a container's non-root app user
    loaded = load_checkpoint(path)
    assert loaded.config == reference_model.config
    assert loaded.weights_sha256 == reference_model.weights_sha256
    assert loaded.metadata == {"seed": 3}
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "m.pt.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_mid_write_keeps_the_previous_checkpoint(reference_model, tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", reference_model.state_dict, reference_model.config, {"run": 1})
    before = path.read_bytes()

    def crash(fd):  # the disk fails (or the process dies) after part of the new file is written
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, reference_model.state_dict, reference_model.config, {"run": 2})
    assert path.read_bytes() == before and load_checkpoint(path).metadata == {"run": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "m.pt.json"]  # no temp file left


def test_other_sizes_load(reference_state):
    """A 3-head model of the same task is a valid checkpoint, not an error."""
    cfg = ModelConfig(n_heads=3, d_model=96, d_head=32)
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=gen) * 0.1 for k, shape in hooked_shapes(cfg).items()}
    model = load_checkpoint(to_bytes(state))
    assert model.config.n_heads == 3 and model.config.d_head == 32
    assert model.config.head_names == ["0.0", "0.1", "0.2"]


def test_fingerprint_is_stable_and_weight_sensitive(reference_model):
    state = reference_model.state_dict
    assert weights_fingerprint(state) == weights_fingerprint(dict(reversed(list(state.items()))))
    changed = dict(state)
    changed["unembed.b_U"] = state["unembed.b_U"] + 1e-3
    assert weights_fingerprint(changed) != weights_fingerprint(state)


def _corrupt(state, key, value):
    out = dict(state)
    if value is None:
        del out[key]
    else:
        out[key] = value
    return out


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda s: b"", "empty"),
        (lambda s: b"hello, not a checkpoint", "not a PyTorch checkpoint"),
        (lambda s: to_bytes(s)[:5000], "truncated or corrupt"),
        (lambda s: to_bytes([1, 2, 3]), "expected a state dict"),
        (lambda s: to_bytes(_corrupt(s, "unembed.W_U", None)), "missing key 'unembed.W_U'"),
        (lambda s: to_bytes(_corrupt(s, "blocks.0.mlp.W_in", torch.zeros(96, 384))), "unexpected key"),
        (lambda s: to_bytes(_corrupt(s, "unembed.W_U", torch.zeros(96, 50))), "'unembed.W_U' has shape"),
        (lambda s: to_bytes(_corrupt(s, "blocks.0.attn.W_O", torch.zeros(2, 40, 96))), "W_O' has shape"),
        (lambda s: to_bytes(_corrupt(s, "pos_embed.W_pos", torch.zeros(20, 96))), "2 * list_len + 1"),
        (lambda s: to_bytes(_corrupt(s, "embed.W_E", torch.zeros(2, 96))), "do not fit the sorting task"),
        (lambda s: to_bytes(_corrupt(s, "blocks.1.attn.W_Q", torch.zeros(2, 96, 48))), "one layer"),
        (
            lambda s: to_bytes(_corrupt(s, "blocks.0.attn.W_V", s["blocks.0.attn.W_V"] * float("nan"))),
            "NaN or infinite",
        ),
        (
            lambda s: to_bytes(_corrupt(s, "ln_final.w", torch.full((96,), float("inf")))),
            "NaN or infinite",
        ),
    ],
)
def test_bad_checkpoints_are_refused_with_named_problem(reference_state, make, fragment):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(make(reference_state))
    assert fragment in str(info.value)


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("as_torch_save", [True, False])
def test_code_running_pickle_is_rejected_and_never_runs(tmp_path, reference_state, as_torch_save):
    sentinel = tmp_path / "pwned"
    payload = dict(reference_state) | {"evil": _Payload(str(sentinel))}
    data = to_bytes(payload) if as_torch_save else pickle.dumps(payload)
    assert not sentinel.exists()
    with pytest.raises(CheckpointError, match="run code|not a PyTorch checkpoint|corrupt"):
        load_checkpoint(data)
    assert not sentinel.exists()


def test_own_format_with_contradicting_config_is_refused(reference_model):
    data = checkpoint_bytes(reference_model.state_dict, ModelConfig(n_heads=4, d_head=24), {})
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(data)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path)


def test_model_from_state_dict(reference_model):
    model = model_from_state_dict(reference_model.state_dict, {"note": "x"}, name="fresh")
    assert model.weights_sha256 == reference_model.weights_sha256 and model.name == "fresh"


@pytest.mark.parametrize(
    "kwargs",
    [{"list_len": 0}, {"n_heads": 1.5}, {"list_len": 60}, {"n_layers": 2}, {"normalization": "RMS"}],
)
def test_config_validation(kwargs):
    with pytest.raises(ConfigError):
        ModelConfig(**kwargs)


def test_config_from_dict_rejects_typos():
    with pytest.raises(ConfigError, match="unknown config key 'n_head'"):
        ModelConfig.from_dict({"n_head": 2})
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()


def test_config_from_architecture_fills_unset_parts():
    assert config_from_architecture() == ModelConfig()
    three = config_from_architecture(n_heads=3, d_model=48, list_len=6, max_value=20, layernorm=False)
    assert (three.d_head, three.list_len, three.max_value, three.normalization) == (16, 6, 20, None)
    assert config_from_architecture(d_model=64, n_heads=4, d_head=8).d_head == 8  # given d_head wins
    assert config_from_architecture(d_model=95, d_head=19).d_model == 95  # no divisibility needed then


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d_model": 95}, "divisible"),
        ({"n_heads": 0}, "n_heads"),
        ({"d_head": 0}, "d_head"),
        ({"list_len": 60}, "distinct values"),
    ],
)
def test_config_from_architecture_names_the_bad_part(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        config_from_architecture(**kwargs)


def test_bundled_model_meets_the_bar(eval_toks):
    from sortlist_core import BUNDLED_MODEL_PATH, load_bundled_model
    from sortlist_core.metrics import evaluate

    assert BUNDLED_MODEL_PATH.exists(), "assets/bundled_model.pt must be committed"
    model = load_bundled_model()
    assert model.config == ModelConfig()
    assert model.metadata["val_accuracy"] >= 0.999
    assert evaluate(model, eval_toks).loss <= 0.04
    assert os.path.getsize(BUNDLED_MODEL_PATH) < 1_000_000
