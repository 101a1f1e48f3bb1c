"""The sidebar's model switcher and the model in the URL, in AppTest: the bundled models (lesson
first and default when its file exists), progress kept per model, deep links to a bundled model,
a reload restoring an uploaded model by its fingerprint, a link made on another model, and
"Get the original challenge model" against a local HTTP server (success, offline, wrong hash)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from sortlist_app.widgets.session_model import MODEL_PATH_ENV
from sortlist_core import fetch, paths
from sortlist_core.ablation import head_ablation
from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.data import eval_dataset
from sortlist_core.paths import STRONG_MODEL, BundledModel
from tests.page_helpers import APP, assert_ok, check_exercise, joined
from tests.test_fetch import PROXY_VARS, _Handler, _Server, original_bytes  # noqa: F401 (fixture)

SWITCH = "sortlist.sidebar.model"


@pytest.fixture
def two_bundled(monkeypatch, swapped_path) -> BundledModel:
    """A registry whose lesson model is the heads-swapped reference checkpoint, so the tests do
    not depend on whether assets/lesson_model.pt has been trained yet (and the original model,
    fetched below, is a third model)."""
    lesson = BundledModel("lesson", "lesson model", swapped_path, "the test's lesson model")
    monkeypatch.setattr(paths, "LESSON_MODEL", lesson)
    monkeypatch.setattr(paths, "BUNDLED_MODELS", (lesson, STRONG_MODEL))
    monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    return lesson


def _open(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if query:
        at.query_params.update(query)
    at.run()
    assert_ok(at)
    if page:
        at.switch_page(page)
        at.run()
        assert_ok(at)
    return at


def _model_line(at: AppTest) -> str:
    return joined(at.sidebar.markdown)


def _short_id(path) -> str:
    return load_checkpoint(path).short_id


def _link_id(path) -> str:
    return load_checkpoint(path).link_id


def test_lesson_model_is_listed_first_and_is_the_default(two_bundled, swapped_path):
    at = _open()
    box = at.sidebar.selectbox(key=SWITCH)
    assert box.options == ["lesson model", "strong model"]
    assert box.value == "bundled:lesson"
    assert "**lesson model**" in _model_line(at)
    assert dict(at.query_params) == {"model": "lesson", "fp": _link_id(swapped_path)}
    captions = joined(at.sidebar.caption)
    assert "Progress is kept per model" in captions and "the test's lesson model" in captions


def test_without_the_lesson_file_the_strong_model_is_default(monkeypatch, tmp_path):
    missing = BundledModel("lesson", "lesson model", tmp_path / "lesson_model.pt", "not trained yet")
    monkeypatch.setattr(paths, "LESSON_MODEL", missing)
    monkeypatch.setattr(paths, "BUNDLED_MODELS", (missing, STRONG_MODEL))
    monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    at = _open()
    assert at.sidebar.selectbox(key=SWITCH).options == ["strong model"]
    assert "**strong model**" in _model_line(at)
    assert at.query_params["model"] == "strong"


def test_switching_models_keeps_progress_per_model(two_bundled, swapped_model):
    at = _open(page="pages/2_attention.py")
    toks = eval_dataset(swapped_model.config).toks
    right = head_ablation(swapped_model, toks).most_important_head
    assert check_exercise(at, "attention.important_head", right, "select")[0]
    assert "Attention: 1 of 4" in _model_line(at)

    at.sidebar.selectbox(key=SWITCH).select("bundled:strong").run()
    assert_ok(at)
    assert "**strong model**" in _model_line(at)
    assert at.query_params["model"] == "strong" and at.query_params["fp"] == _link_id(STRONG_MODEL.path)
    assert "Attention: 0 of 4" in _model_line(at)

    at.sidebar.selectbox(key=SWITCH).select("bundled:lesson").run()
    assert "**lesson model**" in _model_line(at) and "Attention: 1 of 4" in _model_line(at)


def test_a_deep_link_to_a_bundled_model_opens_it(two_bundled):
    at = _open(query={"model": "strong"})
    assert "**strong model**" in _model_line(at)
    assert at.sidebar.selectbox(key=SWITCH).value == "bundled:strong"
    assert not at.warning


def _upload(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader(key="model.upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert_ok(at)


def test_a_reload_restores_an_uploaded_model_by_fingerprint(two_bundled, reference_path):
    at = _open(page="pages/6_model.py")
    _upload(at, "uploaded.pt", reference_path.read_bytes())
    fp = _link_id(reference_path)
    full = load_checkpoint(reference_path).weights_sha256
    assert at.query_params["fp"] == fp and "model" not in at.query_params
    assert at.sidebar.selectbox(key=SWITCH).value == f"fp:{full}"

    # F5: a new session with the same URL
    again = _open(query=dict(at.query_params))
    assert "**original (ARENA)**" in _model_line(again)  # the ARENA file, recognised by its sha256
    assert again.sidebar.selectbox(key=SWITCH).value == f"fp:{full}"
    assert again.query_params["fp"] == fp
    assert not again.warning


def test_a_model_the_server_no_longer_has_is_named_plainly(two_bundled, swapped_path):
    at = _open(query={"fp": "0badf00d"})
    text = joined(at.warning)
    assert "fingerprint `0badf00d`" in text and "no longer has" in text
    assert f"**lesson model** (fingerprint `{_short_id(swapped_path)}`)" in text
    at.button(key="sortlist.notice.dismiss").click().run()
    assert not at.warning


def test_a_bundled_link_of_another_version_says_the_numbers_may_differ(two_bundled, swapped_path):
    at = _open(query={"model": "lesson", "fp": "0badf00d"})
    assert "**lesson model**" in _model_line(at)
    text = joined(at.warning)
    assert "fingerprint `0badf00d`" in text and _short_id(swapped_path) in text and "may differ" in text


def test_a_link_made_on_another_model_offers_to_switch(two_bundled, swapped_path):
    at = _open()
    strong_fp = _link_id(STRONG_MODEL.path)
    at.query_params.update({"model": "strong", "fp": strong_fp})  # another model's link, mid-session
    at.run()
    assert_ok(at)
    text = joined(at.warning)
    assert f"made on model **strong model** (fingerprint `{strong_fp}`)" in text
    assert f"you are looking at **lesson model** (fingerprint `{_short_id(swapped_path)}`)" in text
    at.button(key="sortlist.notice.switch").click().run()
    assert "**strong model**" in _model_line(at) and not at.warning
    assert at.query_params["fp"] == strong_fp


# --------------------------------------------------------------------------- get the original


@pytest.fixture
def original_server(original_bytes, tmp_path, monkeypatch) -> Iterator[str]:  # noqa: F811
    """A local HTTP server with the original file (and a corrupted copy); a private cache."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.body = original_bytes
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _fetch(at: AppTest, where: str = "page") -> None:
    at.button(key=f"model.fetch.{where}").click().run()
    assert_ok(at)


def test_get_the_original_model_downloads_and_switches(two_bundled, original_server, monkeypatch):
    monkeypatch.setenv(fetch.URL_ENV, f"{original_server}/ok")
    at = _open(page="pages/6_model.py")
    _fetch(at)
    assert "**original (ARENA)**" in _model_line(at)
    box = at.sidebar.selectbox(key=SWITCH)
    assert box.options[-1] == "original (ARENA)"
    assert "Every page now analyses **original (ARENA)**" in joined(at.success)
    assert fetch.cached_original_path().is_file()
    # a reload (or, after a restart, the download cache) brings it back
    again = _open(query=dict(at.query_params))
    assert "**original (ARENA)**" in _model_line(again)


def test_get_the_original_model_offline_gives_the_manual_route(two_bundled, original_server, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(fetch.URL_ENV, f"http://127.0.0.1:{port}/sorted_list_model.pt")
    at = _open()
    _fetch(at, "sidebar")
    text = joined(at.sidebar.error)
    assert "could not be downloaded" in text and "offline or behind a firewall" in text
    assert "upload it on the Model page" in text
    assert "**lesson model**" in _model_line(at)


def test_get_the_original_model_refuses_a_wrong_hash(two_bundled, original_server, monkeypatch):
    monkeypatch.setenv(fetch.URL_ENV, f"{original_server}/wrong")
    at = _open(page="pages/6_model.py")
    _fetch(at)
    text = joined(at.error)
    assert "not the original model" in text and "upload it on the Model page" in text
    assert "**lesson model**" in _model_line(at)
    assert not fetch.cached_original_path().exists()


@pytest.mark.parametrize(
    "query, why",
    [
        ({"fp": "<b>x</b>"}, "not 8 to 64 hexadecimal digits"),
        ({"model": "nonsense"}, "not one of the bundled models (lesson, strong)"),
    ],
)
def test_bad_model_values_in_a_link_are_ignored_with_a_warning(two_bundled, query, why):
    at = _open(query=query)
    text = joined(at.warning)
    assert why in text and "**lesson model**" in text and "ignored" in text
    assert "**lesson model**" in _model_line(at)
    assert at.query_params["model"] == "lesson"


def test_a_link_to_the_lesson_model_on_a_server_without_it(monkeypatch, tmp_path):
    missing = BundledModel("lesson", "lesson model", tmp_path / "lesson_model.pt", "not trained yet")
    monkeypatch.setattr(paths, "LESSON_MODEL", missing)
    monkeypatch.setattr(paths, "BUNDLED_MODELS", (missing, STRONG_MODEL))
    monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    at = _open(query={"model": "lesson"})
    assert "asks for the lesson model, which this server does not have" in joined(at.warning)
    assert "**strong model**" in _model_line(at)


def test_an_old_short_link_shared_by_two_models_opens_neither(two_bundled, reference_model):
    """Two models on the server whose 8-digit fingerprints collide: an old link carrying only
    those 8 digits must not open either (it could be the attacker's); the 16-digit link of
    each opens that one."""
    from dataclasses import replace

    from sortlist_app.server import model_cache
    from sortlist_app.widgets import session_model

    # forged hashes: neither copy is then recognised as the ARENA original by its sha256
    victim = replace(reference_model, name="victim.pt", sha256="cd" * 32, weights_sha256="ab" * 32)
    forged_sha = victim.weights_sha256[:8] + "0" * 56
    impostor = replace(reference_model, name="impostor.pt", sha256="ef" * 32, weights_sha256=forged_sha)
    cache = session_model.server_models()  # the server-wide cache the app's sessions share
    cache.put(model_cache.CachedModel(victim, victim.name, model_cache.UPLOAD))
    cache.put(model_cache.CachedModel(impostor, impostor.name, model_cache.UPLOAD))

    at = _open(query={"fp": victim.short_id})
    text = joined(at.warning)
    assert f"fingerprint `{victim.short_id}` is shared by 2 models" in text and "none" in text
    assert "**lesson model**" in _model_line(at)

    for model in (victim, impostor):
        at = _open(query={"fp": model.link_id})
        assert f"**{model.name}**" in _model_line(at) and not at.warning
