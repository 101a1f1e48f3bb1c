"""The Model page (pages/6_model.py) in AppTest: the model in use, uploads (good and hostile),
training with the server-wide job manager, per-session choice, and the report downloads."""

from __future__ import annotations

import io
import json
import pickle

import pytest
import torch
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from sortlist_app import model_io
from sortlist_app.server import training_jobs as jobs
from sortlist_app.widgets.downloads import json_bytes
from sortlist_app.widgets.session_model import SESSION_MODEL_KEY
from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.report import build_report, report_markdown

from ..page_helpers import APP, _walk, assert_ok, default_model_usable, joined, open_page, show_solutions

PAGE = "pages/6_model.py"
SUBMIT = "FormSubmitter:model.train_form-▶ Start training"


class _WritesSentinel:
    """Unpickling this would create `path` (open(path, "w")) if the loader ran code."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _session_model(at):
    return at.session_state[SESSION_MODEL_KEY] if SESSION_MODEL_KEY in at.session_state else None


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="model.upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert_ok(at)
    return at


@pytest.fixture
def fresh_manager():
    manager = jobs.JobManager(max_jobs=1)
    previous = jobs.set_manager(manager)
    yield manager
    manager.cancel_all(wait=30)
    jobs.set_manager(previous)


def test_renders_on_the_default_model(monkeypatch):
    at = open_page(monkeypatch, PAGE)
    assert at.title[0].value.startswith("📦")
    assert at.get("file_uploader")
    if not default_model_usable():
        assert "The default model is unavailable" in joined(at.warning)


def test_reference_model_metadata_and_report_buttons(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, PAGE, reference_path)
    md = joined(at.markdown)
    # recognised by its sha256 although the server names it by path (SORTLIST_MODEL_PATH)
    assert "**original (ARENA)** (the default model)" in md and reference_model.short_id in md
    assert "loss is **0.039**" in md
    keys = {b.key for b in at.get("download_button")}
    assert {"model.report_json", "model.report_md"} <= keys


def test_report_downloads_are_complete(reference_model):
    report = build_report(reference_model)
    data = json.loads(json_bytes(report))
    assert data["checkpoint"]["weights_sha256"] == reference_model.weights_sha256
    assert round(data["metrics"]["loss"], 3) == 0.039
    text = report_markdown(report)
    assert "Head 0.1 matters most" in text and "(x, y, z) = (14, 15, 17)" in text


def test_missing_default_model_still_allows_upload(monkeypatch, tmp_path, reference_path):
    at = open_page(monkeypatch, PAGE, tmp_path / "nope.pt")
    assert "The default model is unavailable" in joined(at.warning) and "nope.pt" in joined(at.warning)
    _upload(at, "arena_sorted_list_model.pt", reference_path.read_bytes())
    assert _session_model(at).name == "original (ARENA)"
    assert "Loaded **arena_sorted_list_model.pt**" in joined(at.success)
    # every page follows the session's model
    at.switch_page("pages/5_mystery.py").run()
    assert_ok(at)
    show_solutions(at, "mystery.cross_sign", "mystery.larger_total")  # predict, then see
    assert "List #0" in joined(at.markdown)


def test_bad_uploads_are_rejected_and_the_previous_model_kept(
    monkeypatch, tmp_path, reference_path, reference_state, swapped_path
):
    at = open_page(monkeypatch, PAGE, reference_path)
    _upload(at, "swapped.pt", swapped_path.read_bytes())
    swapped = _session_model(at)
    assert swapped is not None and swapped.name == "swapped.pt"

    sentinel = tmp_path / "pwned"
    wrong_shape = dict(reference_state) | {"unembed.W_U": torch.zeros(96, 40)}
    nan = {k: v.clone() for k, v in reference_state.items()}
    nan["unembed.W_U"][0, 0] = float("nan")
    full = reference_path.read_bytes()
    cases = [
        ("evil.pt", _bytes({"embed.W_E": _WritesSentinel(str(sentinel))}), "would run code"),
        (
            "evil_plain.pt",
            pickle.dumps(_WritesSentinel(str(sentinel))),
            "bare pickles and the pre-1.6 torch format are not accepted",
        ),
        ("truncated.pt", full[: len(full) // 2], "truncated or corrupt"),
        ("shapes.pt", _bytes(wrong_shape), "'unembed.W_U' has shape (96, 40)"),
        ("nan.pt", _bytes(nan), "NaN"),
        ("empty.pt", b"", "empty"),
    ]
    for name, data, problem in cases:
        _upload(at, name, data)
        errors = joined(at.error)
        assert name in errors and problem in errors, (name, errors)
        assert "keeps **swapped.pt**" in errors
        assert _session_model(at).weights_sha256 == swapped.weights_sha256
        assert not sentinel.exists()
    assert not sentinel.exists()


def test_upload_over_the_size_limit_is_rejected(monkeypatch, reference_path):
    previous = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)  # before the page draws the uploader
    try:
        at = open_page(monkeypatch, PAGE, reference_path)
        assert "up to **1 MB**" in joined(at.markdown)
        _upload(at, "big.pt", b"\0" * (2 * 1024 * 1024))
        assert "over this server's upload limit of 1.0 MB" in joined(at.error)
        assert _session_model(at) is None
    finally:
        st_config.set_option("server.maxUploadSize", previous)


def test_a_6_mb_file_reaches_the_server_and_gets_a_sentence(monkeypatch, reference_path, swapped_path):
    """With the production settings a 6 MB file was refused by the browser alone (a
    red icon on the chip, text on hover), and the alert still named the previously failed file."""
    import tomllib

    from ..conftest import REPO_ROOT

    production = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())["server"]
    previous = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", production["maxUploadSize"])
    try:
        at = open_page(monkeypatch, PAGE, reference_path)
        assert "up to **5 MB**" in joined(at.markdown)
        assert (
            at.file_uploader(key="model.upload").proto.max_upload_size_mb >= 6
        )  # the browser lets it through
        _upload(at, "empty.pt", b"")
        assert "empty.pt" in joined(at.error)
        _upload(at, "six_mb.pt", b"\0" * (6 * 1024 * 1024))
        errors = joined(at.error)
        assert "six_mb.pt" in errors and "over this server's upload limit of 5.0 MB" in errors
        assert "empty.pt" not in errors  # the alert names the file now in the uploader
        assert _session_model(at) is None
    finally:
        st_config.set_option("server.maxUploadSize", previous)


def test_uploader_takes_one_file_and_names_it_after_a_truncated_checkpoint_then_a_txt(
    monkeypatch, reference_path
):
    """No browser-side type filter (its refusals stack chips, reason on hover):
    each file replaces the last, and the alert names the file now in the box, reason in view."""
    at = open_page(monkeypatch, PAGE, reference_path)
    assert not at.file_uploader(key="model.upload").proto.type  # every file reaches the server
    assert not at.file_uploader(key="model.upload").proto.multiple_files
    full = reference_path.read_bytes()
    _upload(at, "truncated.pt", full[: len(full) // 2])
    assert "truncated.pt" in joined(at.error)
    _upload(at, "notes.txt", b"just some text")
    errors = joined(at.error)
    assert "**notes.txt** is not a checkpoint file" in errors and ".pt, .pth, .bin, .ckpt" in errors
    assert "truncated.pt" not in errors
    assert len(at.error) == 1


def test_the_original_is_recognised_by_its_sha256_when_uploaded(monkeypatch, reference_path):
    """The exact ARENA file, under any name, is "original (ARENA)", and the
    download is no longer offered (sidebar and page)."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    at = open_page(monkeypatch, PAGE)
    assert any(b.key == "model.fetch.page" for b in at.button)
    _upload(at, "my_copy.pt", reference_path.read_bytes())
    assert _session_model(at).name == "original (ARENA)"
    assert "listed as **original (ARENA)**" in joined(at.success)
    assert "original (ARENA)" in at.sidebar.selectbox(key="sortlist.sidebar.model").options
    keys = {b.key for b in at.button} | {b.key for b in at.sidebar.button}
    assert "model.fetch.page" not in keys and "model.fetch.sidebar" not in keys
    assert "Every page now analyses **original (ARENA)**" in joined(at.success)


def test_the_original_as_the_servers_default_is_recognised(monkeypatch, reference_path):
    at = open_page(monkeypatch, PAGE, reference_path)
    box = at.sidebar.selectbox(key="sortlist.sidebar.model")
    assert box.options[0] == "original (ARENA) (this server's default)"
    keys = {b.key for b in at.button} | {b.key for b in at.sidebar.button}
    assert "model.fetch.page" not in keys and "model.fetch.sidebar" not in keys


def test_enter_in_a_training_field_does_not_submit(monkeypatch, reference_path):
    """Enter in the seed field started a 500-step run; only the button may."""
    at = open_page(monkeypatch, PAGE, reference_path)
    forms = [n.proto.form for n in _walk(at._tree) if getattr(getattr(n, "proto", None), "form", None)]
    forms = [f for f in forms if f.form_id == "model.train_form"]
    assert len(forms) == 1 and forms[0].enter_to_submit is False


def _fill_tiny_form(at, steps: int, target: float = 0.0):
    """`steps` batches of 64: one epoch of `64 * steps` lists."""
    at.number_input(key="model.train.seed").set_value(3)
    at.number_input(key="model.train.epochs").set_value(1)
    at.number_input(key="model.train.lists_per_epoch").set_value(64 * steps)
    at.selectbox(key="model.train.batch").select(64)
    at.selectbox(key="model.train.heads").select(2)
    at.selectbox(key="model.train.d_model").select(32)
    at.number_input(key="model.train.list_len").set_value(4)
    at.number_input(key="model.train.max_value").set_value(12)
    at.selectbox(key="model.train.lr").select(1e-2)
    at.checkbox(key="model.train.ln").uncheck().check()
    at.slider(key="model.train.target").set_value(target)
    at.button(key=SUBMIT).click()
    at.run()
    assert_ok(at)


def test_training_runs_one_at_a_time_is_cancellable_and_usable(monkeypatch, reference_path, fresh_manager):
    at = open_page(monkeypatch, PAGE, reference_path)
    owner = at.session_state["model.owner"]
    # no early stop: a tiny task can reach any target accuracy before the second session asks
    _fill_tiny_form(at, steps=3000)
    job = fresh_manager.job_of(owner)
    assert job is not None and job.status == jobs.RUNNING
    assert job.config.list_len == 4 and job.config.d_model == 32 and job.recipe.seed == 3
    assert job.target_accuracy is None and job.config.normalization == "LN"
    assert any(p.proto.value >= 0 for p in at.get("progress"))

    other = open_page(monkeypatch, PAGE, reference_path)  # another browser session
    _fill_tiny_form(other, steps=20)
    assert "Training did not start" in joined(other.warning) and "training slot" in joined(other.warning)
    assert fresh_manager.job_of(other.session_state["model.owner"]) is None

    at.button(key="model.cancel").click()
    at.run()
    assert job.join(30)
    assert job.status == jobs.CANCELLED
    at.run()
    assert "Training was cancelled" in joined(at.success)

    # now the other session may train; a short run completes and can be used
    _fill_tiny_form(other, steps=20, target=0.999)
    done = fresh_manager.job_of(other.session_state["model.owner"])
    assert done.target_accuracy == 0.999  # the form's early-stop setting reaches the job
    assert done.join(60) and done.status == jobs.DONE
    other.run()
    assert "Training finished." in joined(other.success)
    assert "model.download_trained" in {b.key for b in other.get("download_button")}
    other.button(key="model.use_trained").click().run()
    trained = _session_model(other)
    assert trained is not None and trained.config.list_len == 4
    assert trained.weights_sha256 == done.snapshot().result.model.weights_sha256
    assert _session_model(at) is None  # the first session keeps the default model
    blob = model_io.trained_checkpoint(trained)
    assert load_checkpoint(blob).weights_sha256 == trained.weights_sha256
    for page in ("pages/4_adversarial.py", "pages/5_mystery.py"):  # every page follows the new model
        other.switch_page(page).run()
        assert_ok(other)
    # the trained model is in the switcher and in the URL; a reload (new session, same URL) keeps it
    assert other.sidebar.selectbox(key="sortlist.sidebar.model").value == f"fp:{trained.weights_sha256}"
    assert other.query_params["fp"] == trained.link_id
    reloaded = AppTest.from_file(APP, default_timeout=60)
    reloaded.query_params.update(dict(other.query_params))
    reloaded.run()
    assert_ok(reloaded)
    assert f"fingerprint `{trained.short_id}`" in joined(reloaded.sidebar.markdown) and not reloaded.warning
    other.switch_page(PAGE).run()
    other.button(key="model.use_default").click().run()
    assert _session_model(other) is None
    other.button(key="model.discard").click().run()
    assert_ok(other)
    assert fresh_manager.job_of(other.session_state["model.owner"]) is None
    assert not any(b.key == "model.use_trained" for b in other.button)


def test_training_can_be_turned_off(monkeypatch, reference_path):
    previous = jobs.set_manager(jobs.JobManager(max_jobs=0))
    try:
        at = open_page(monkeypatch, PAGE, reference_path)
        assert "Training is turned off" in joined(at.info)
        assert at.button(key=SUBMIT).disabled
    finally:
        jobs.set_manager(previous)


def test_corrupt_default_model_is_reported(monkeypatch, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    at = open_page(monkeypatch, PAGE, corrupt)
    assert "The default model is unavailable" in joined(at.warning) and "could not be loaded" in joined(
        at.warning
    )
    assert at.get("file_uploader")


def test_build_run_checks_limits_and_shapes():
    limits = jobs.TrainingLimits(max_steps=100, max_d_model=64, max_heads=2, max_batch_size=128, hosted=True)
    config, recipe = model_io.build_run(
        model_io.TrainingForm(epochs=2, lists_per_epoch=1600, batch_size=64, d_model=64, n_heads=2, seed=5),
        limits,
    )
    assert config.d_head == 32 and recipe.total_steps == 50 and recipe.seed == 5
    assert (recipe.epochs, recipe.n_train) == (2, 1600)
    # a short last batch still counts as a step
    assert model_io.TrainingForm(epochs=3, lists_per_epoch=100, batch_size=64).steps == 6
    small = dict(batch_size=64, d_model=64)
    for form, message in (
        (model_io.TrainingForm(epochs=10, lists_per_epoch=3200, **small), "at most 100 steps"),
        (model_io.TrainingForm(epochs=0, lists_per_epoch=3200, **small), "at least 1 epoch"),
        (model_io.TrainingForm(epochs=1, lists_per_epoch=10, **small), "at least 1 epoch"),
        (
            model_io.TrainingForm(epochs=1, lists_per_epoch=3200, batch_size=64, d_model=96),
            "d_model at most 64",
        ),
        (
            model_io.TrainingForm(epochs=1, lists_per_epoch=3200, batch_size=64, d_model=63, n_heads=2),
            "divisible",
        ),
        (model_io.TrainingForm(epochs=1, lists_per_epoch=3200, list_len=60, **small), "distinct values"),
    ):
        with pytest.raises(ValueError, match=message):
            model_io.build_run(form, limits)
