"""Checkpoint bombs: files that are small on disk but would cost gigabytes or
minutes to load. Each is built here, cheaply, and must be refused before `torch.load` runs,
fast, with a message naming the bound, through every door: the loader, the app's upload
check, `SORTLIST_MODEL_PATH`, and the CLIs (exit code 2, one line)."""

from __future__ import annotations

import io
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import pytest
import torch

from sortlist_core import checkpoint_archive
from sortlist_core.checkpoint import (
    ARCHITECTURE_BOUNDS,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_ENTRIES,
    CheckpointError,
    load_checkpoint,
)
from sortlist_core.config import ModelConfig
from sortlist_core.model import hooked_shapes
from tests.conftest import REPO_ROOT

BOMB_INFLATED_BYTES = 4_000 * 1024 * 1024  # 4.2 GB; under 4 GiB so no zip64 fields are needed


def _torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _zip_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _write_zip(entries: list[tuple[str, bytes, int, int, int]], declared_count: int | None = None) -> bytes:
    """A zip written by hand: (name, payload, method, crc, uncompressed size) per entry, so an
    entry can carry a pre-built deflate stream that never existed uncompressed."""
    out = bytearray()
    central = bytearray()
    for name, payload, method, crc, size in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(payload), size, len(raw), 0
        )
        out += raw + payload
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(payload), size, len(raw), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += raw
    start = len(out)
    count = len(entries) if declared_count is None else declared_count
    out += central
    out += struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count & 0xFFFF, count & 0xFFFF, len(central), start, 0
    )
    return bytes(out)


def _stored(name: str, payload: bytes) -> tuple[str, bytes, int, int, int]:
    return name, payload, zipfile.ZIP_STORED, zlib.crc32(payload), len(payload)


def _zeros_deflated(n_bytes: int) -> bytes:
    """A raw deflate stream of `n_bytes` zeros, built from one compressed 1 MiB block repeated:
    after a full flush the compressor's state is reset, so every block compresses the same."""
    block = 1024 * 1024
    assert n_bytes % block == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == chunk  # the repetition trick holds
    return chunk * (n_bytes // block) + compressor.flush()


def deflate_bomb(reference_state) -> bytes:
    """A real torch checkpoint whose first storage is replaced by a deflated entry that inflates
    to 4.2 GB (torch.load would inflate all of it before noticing the size is wrong)."""
    entries = _zip_entries(_torch_bytes(reference_state))
    storage = next(name for name, _ in entries if name.endswith("/data/0"))
    stream = _zeros_deflated(BOMB_INFLATED_BYTES)
    built = [
        (name, stream, zipfile.ZIP_DEFLATED, 0, BOMB_INFLATED_BYTES)
        if name == storage
        else _stored(name, payload)
        for name, payload in entries
    ]
    return _write_zip(built)


def huge_architecture(**overrides) -> bytes:
    """A valid-looking state dict of a huge architecture that is a few kB on disk: every tensor
    is a stride-0 view of one element, so torch.save writes one float per tensor."""
    cfg = ModelConfig(
        **({"list_len": 10, "max_value": 50, "d_model": 96, "d_head": 48, "n_heads": 2} | overrides)
    )
    return _torch_bytes({key: torch.zeros(1).expand(shape) for key, shape in hooked_shapes(cfg).items()})


def too_many_entries(reference_state, extra: int) -> bytes:
    entries = [_stored(n, p) for n, p in _zip_entries(_torch_bytes(reference_state))]
    entries += [_stored(f"archive/padding/{i}", b"") for i in range(extra)]
    return _write_zip(entries)


def _huge_float64(reference_state) -> bytes:
    state = dict(reference_state)
    state["unembed.W_U"] = torch.full(state["unembed.W_U"].shape, 1e300, dtype=torch.float64)
    return _torch_bytes(state)


BOMBS = {
    "deflated entry inflating to 4.2 GB": (deflate_bomb, "is compressed"),
    "huge architecture (list 50, values 3000, d_model 2048)": (
        lambda s: huge_architecture(list_len=50, max_value=3000, d_model=2048, d_head=256, n_heads=8),
        f"list length 50 is over this loader's limit of {ARCHITECTURE_BOUNDS.max_list_len}",
    ),
    "float64 1e300 (finite, inf as float32)": (
        _huge_float64,
        "'unembed.W_U' contains NaN or infinite values",
    ),
    "too many zip entries": (
        lambda s: too_many_entries(s, MAX_ZIP_ENTRIES),
        f"entries, over the limit of {MAX_ZIP_ENTRIES}",
    ),
}


@pytest.fixture
def torch_load_never_runs(monkeypatch):
    """Fails the test if `torch.load` is reached: the refusal must come from the directory or
    the shapes, before anything is decompressed or materialised."""
    calls = []
    real = torch.load

    def guarded(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint_archive.torch, "load", guarded)
    return calls


def test_the_deflate_bomb_is_real(reference_state):
    """The test's bomb does inflate far beyond its size (so refusing it means something)."""
    data = deflate_bomb(reference_state)
    assert len(data) < 5 * 1024 * 1024  # fits the app's 5 MB upload limit
    info = next(
        i for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if i.compress_type == zipfile.ZIP_DEFLATED
    )
    assert info.file_size == BOMB_INFLATED_BYTES
    with zipfile.ZipFile(io.BytesIO(data)).open(info) as entry:  # inflate only the first 64 MB
        assert entry.read(64 * 1024 * 1024) == bytes(64 * 1024 * 1024)


@pytest.mark.parametrize("label", list(BOMBS))
def test_bombs_are_refused_fast_and_before_they_cost(reference_state, torch_load_never_runs, label):
    build, fragment = BOMBS[label]
    data = build(reference_state)
    assert len(data) < 5 * 1024 * 1024
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(data)
    elapsed = time.perf_counter() - started
    peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert fragment in str(info.value)
    # a bound sanity check, not a benchmark: the bombs cost seconds and gigabytes unguarded
    assert elapsed < 2.0 and peak_growth_mb < 200
    # zip bombs are refused from the directory alone; the others are well-formed archives (a few
    # kB of stride-0 views, or real float64 weights), refused before any tensor is materialised
    assert (torch_load_never_runs == []) == ("zip" in label or "deflated" in label)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"list_len": 21, "max_value": 50}, "list length 21 is over this loader's limit of 20"),
        ({"max_value": 101, "list_len": 10}, "largest value 101 is over this loader's limit of 100"),
        ({"d_model": 2048, "d_head": 48}, "d_model 2048 is over this loader's limit of 256"),
        ({"n_heads": 9, "d_head": 8}, "number of heads 9 is over this loader's limit of 8"),
        ({"d_head": 1024}, "d_head 1024 is over this loader's limit of 256"),
        ({"n_heads": 4, "d_head": 256}, "n_heads x d_head 1024 is over this loader's limit of 512"),
    ],
)
def test_each_architecture_bound_is_named(overrides, fragment):
    with pytest.raises(CheckpointError, match=fragment):
        load_checkpoint(huge_architecture(**overrides))


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(),  # the original's architecture (d_model 96, 2 heads)
        ModelConfig(n_heads=3, d_model=96, d_head=32),
        ModelConfig(list_len=20, max_value=100, d_model=256, d_head=32, n_heads=8),  # the form's largest
        ModelConfig(list_len=20, max_value=100, d_model=256, d_head=256, n_heads=1),
        ModelConfig(list_len=20, max_value=100, d_model=256, d_head=64, n_heads=8),  # every bound at once
        ModelConfig(list_len=3, max_value=8, d_model=32, d_head=16, n_heads=2),  # the form's smallest
    ],
)
def test_every_model_the_app_can_make_still_loads(cfg):
    generator = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=generator) * 0.1 for k, shape in hooked_shapes(cfg).items()}
    assert load_checkpoint(_torch_bytes(state)).config == cfg


def test_shipped_and_original_checkpoints_load(reference_path):
    from sortlist_core.paths import BUNDLED_MODELS

    assert load_checkpoint(reference_path).config.d_model == 96
    for bundled in BUNDLED_MODELS:
        if bundled.exists():
            assert load_checkpoint(bundled.path).config.n_heads >= 2


# --------------------------------------------------------------------------- an attacker who read the code


def test_a_directory_declaring_a_million_entries_is_refused_unparsed(reference_state, torch_load_never_runs):
    entries = [_stored(n, p) for n, p in _zip_entries(_torch_bytes(reference_state))]
    with pytest.raises(CheckpointError, match="declares 65,535 entries, over the limit of 256"):
        load_checkpoint(_write_zip(entries, declared_count=65_535))


def test_a_stored_entry_that_lies_about_its_size_is_refused(reference_state, torch_load_never_runs):
    entries = [_stored(n, p) for n, p in _zip_entries(_torch_bytes(reference_state))]
    name, payload, method, crc, _ = entries[4]
    entries[4] = (name, payload, method, crc, 3_000_000_000)
    with pytest.raises(CheckpointError, match="declares a size its bytes do not have"):
        load_checkpoint(_write_zip(entries))


def test_stored_entries_over_the_total_are_refused(reference_state, torch_load_never_runs, monkeypatch):
    """Stored padding cannot pass the total either (the bound is lowered so the file stays small)."""
    monkeypatch.setattr(checkpoint_archive, "MAX_UNCOMPRESSED_BYTES", 300_000)
    entries = [_stored(n, p) for n, p in _zip_entries(_torch_bytes(reference_state))]
    entries.append(_stored("archive/padding", bytes(200_000)))
    with pytest.raises(CheckpointError, match="unpacks to more than 0.3 MB, over the limit"):
        load_checkpoint(_write_zip(entries))
    assert MAX_UNCOMPRESSED_BYTES >= 4 * 5 * 1024 * 1024  # a few times the 5 MB upload limit


def test_a_bare_pickle_is_refused_before_torch_load(reference_state, torch_load_never_runs):
    """The pre-1.6 format declares its storage sizes inside the pickle: not readable beforehand."""
    import pickle

    with pytest.raises(CheckpointError, match="bare pickles and the pre-1.6 torch format are not accepted"):
        load_checkpoint(b"\x80" + pickle.dumps({"embed.W_E": [0.0]})[1:])


def test_a_huge_stride0_buffer_is_never_materialised(reference_state):
    """The attention-mask buffers are ignored, so a 10^12-element view there costs nothing."""
    state = dict(reference_state) | {
        "blocks.0.attn.mask": torch.ones(1, dtype=torch.bool).expand(10**6, 10**6)
    }
    data = _torch_bytes(state)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = load_checkpoint(data)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024 < 200
    assert model.config == ModelConfig()


def test_float64_weights_that_stay_finite_in_float32_load(reference_state):
    state = {k: v.to(torch.float64) for k, v in reference_state.items() if v.is_floating_point()}
    assert load_checkpoint(_torch_bytes(state)).config == ModelConfig()


# --------------------------------------------------------------------------- every door


@pytest.mark.parametrize("label", list(BOMBS))
def test_the_app_upload_refuses_each_bomb_with_a_sentence(reference_state, label):
    from sortlist_app import model_io

    build, fragment = BOMBS[label]
    outcome = model_io.check_upload("bomb.pt", build(reference_state), model_io.upload_limit_bytes(16))
    assert (
        not outcome.ok and "**bomb.pt** could not be used" in outcome.message and fragment in outcome.message
    )


def test_the_model_path_variable_refuses_a_bomb(reference_state, tmp_path, monkeypatch):
    """`SORTLIST_MODEL_PATH` naming a bomb: the app says why, it does not load it."""
    from sortlist_app.widgets import session_model

    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(deflate_bomb(reference_state))
    monkeypatch.setenv("SORTLIST_MODEL_PATH", str(bomb))
    path = session_model.default_model_path()
    assert path == bomb
    outcome = session_model._load_server_file.__wrapped__(str(path), 0, 0, "bomb.pt")
    assert outcome.model is None and "is compressed" in outcome.problem


def test_the_notebooks_loader_refuses_a_bomb(reference_state, tmp_path, torch_load_never_runs):
    """The generated notebooks' first cell calls `notebook_support.load(path)`."""
    from sortlist_core.exercises import notebook_support

    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(deflate_bomb(reference_state))
    with pytest.raises(CheckpointError, match="is compressed"):
        notebook_support.load(bomb)
    assert torch_load_never_runs == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sortlist_core", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("command", "bomb"),
    [
        (("report", "--checkpoint"), "deflate"),
        (("advex", "--budget", "100", "--checkpoint"), "arch"),
        (("exercises", "check", "circuits.full_ov", "SOURCE", "--checkpoint"), "deflate"),
    ],
)
def test_the_clis_refuse_bombs_with_exit_2_and_one_line(reference_state, tmp_path, command, bomb):
    path = tmp_path / "bomb.pt"
    if bomb == "deflate":
        path.write_bytes(deflate_bomb(reference_state))
        fragment = "is compressed"
    else:
        path.write_bytes(huge_architecture(list_len=50, max_value=3000, d_model=2048, d_head=256, n_heads=8))
        fragment = "list length 50 is over this loader's limit of 20"
    source = tmp_path / "answer.py"
    source.write_text("def full_ov(model):\n    return None\n")
    args = [str(source) if part == "SOURCE" else part for part in command]
    out = _cli(*args, str(path))
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in out.stderr


def test_training_a_model_the_loader_would_refuse_is_refused_first(tmp_path):
    out = _cli("train", "--list-len", "30", "--max-value", "60", "--out", str(tmp_path / "m.pt"))
    assert out.returncode == 2 and "list length 30 is over this loader's limit of 20" in out.stderr
    assert not (tmp_path / "m.pt").exists()
