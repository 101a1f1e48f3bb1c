"""The session's model: which model every page analyses, and the sidebar switcher's choices.

- `require_model()` -> the session's `LoadedModel`, or shows why there is none (with a link to
  the Model page) and stops the page. `current_model()` is the non-stopping variant.
- `set_session_model(model, kind)` (the Model page) switches this session to an uploaded,
  trained or fetched model, which also joins the switcher and the server-side cache
  (`server_models`); `set_session_model(None)` goes back to the default model.
  `model_choices()`, `current_choice()` and `select_model(id)` drive the sidebar's switcher.
- `default_model()` / `bundled_model(key)`: this server's model files, loaded once per file
  version and shared by every session (`ServerModelFile`: a model, or why there is none).

The default model is the lesson model (`assets/lesson_model.pt`) when its file exists, else the
strong model (`assets/bundled_model.pt`), or the checkpoint named by the environment variable
`SORTLIST_MODEL_PATH` (used by tests, and by instructors who deploy another model). The URL's
model parameters (links, reloads) are `model_links`' part.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from sortlist_app.server import model_cache
from sortlist_core import fetch, paths, settings
from sortlist_core.checkpoint import CheckpointError, LoadedModel, load_checkpoint
from sortlist_core.paths import BUNDLED_MODEL_PATH, BundledModel

MODEL_PATH_ENV = settings.MODEL_PATH
MODEL_PAGE = "pages/6_model.py"
SESSION_MODEL_KEY = "sortlist.model"  # an uploaded / trained / fetched LoadedModel in use
BUNDLED_CHOICE_KEY = "sortlist.model.bundled"  # registry key of a bundled model chosen in the switcher
SESSION_MODELS_KEY = "sortlist.model.session"  # {fingerprint: CachedModel} this session's models
NOTICE_KEY = "sortlist.model.notice"  # a `model_links.LinkNotice`: a switch of model retires it
ORIGINAL_LABEL = "original (ARENA)"

# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ServerModelFile:
    """The outcome of loading a model file on this server (the default model or a bundled one):
    a model, or a sentence saying what is wrong."""

    model: LoadedModel | None
    problem: str | None
    path: Path


def default_model_path() -> Path:
    """`$SORTLIST_MODEL_PATH` if set, else the lesson model when its file exists, else the
    strong bundled model."""
    override = settings.text(MODEL_PATH_ENV)
    return Path(override) if override else paths.bundled_model_by_key(paths.default_bundled_key()).path


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load_server_file(path: str, mtime_ns: int, size: int, name: str) -> ServerModelFile:
    # Keyed by mtime and size as well, so a retrained bundled model is picked up without a restart.
    try:
        model = load_checkpoint(path, name=name)
    except CheckpointError as exc:
        return ServerModelFile(None, f"`{_display_path(Path(path))}` could not be loaded: {exc}.", Path(path))
    return ServerModelFile(recognised(model), None, Path(path))


def recognised(model: LoadedModel) -> LoadedModel:
    """`model` under the name `ORIGINAL_LABEL` when it is ARENA's original file (by its sha256),
    however it arrived (upload, fetch, `$SORTLIST_MODEL_PATH`); else unchanged."""
    return dataclasses.replace(model, name=ORIGINAL_LABEL) if fetch.is_original(model) else model


def original_in_session() -> bool:
    """Whether the original challenge model is already in this session's switcher (fetched,
    uploaded, or this server's default): then "Get the original challenge model" is not offered."""
    default = default_model().model if settings.text(MODEL_PATH_ENV) else None
    models = [e.model for e in session_models().values()] + ([default] if default is not None else [])
    return any(fetch.is_original(m) for m in models)


def bundled_of_path(path: Path) -> BundledModel | None:
    """The bundled model whose file `path` is, if any."""
    try:
        resolved = path.resolve()
    except OSError:
        return None
    return next((b for b in paths.BUNDLED_MODELS if b.path.resolve() == resolved), None)


def _default_name(path: Path) -> str:
    bundled = bundled_of_path(path)
    return bundled.name if bundled is not None else path.name


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(BUNDLED_MODEL_PATH.parent.parent))
    except ValueError:
        return str(path)


def _load_path(path: Path) -> ServerModelFile:
    try:
        stat = path.stat()
    except OSError:
        problem = f"The model file `{_display_path(path)}` is missing."
        if settings.text(MODEL_PATH_ENV) and bundled_of_path(path) is None:
            problem += f" (It was named by the environment variable `{MODEL_PATH_ENV}`.)"
        return ServerModelFile(None, problem, path)
    return _load_server_file(str(path), stat.st_mtime_ns, stat.st_size, _default_name(path))


def default_model() -> ServerModelFile:
    """The default model (shared by all sessions), loaded once per file version."""
    return _load_path(default_model_path())


def bundled_model(key: str) -> ServerModelFile:
    """A bundled model by registry key (`lesson`, `strong`), loaded once per file version."""
    return _load_path(paths.bundled_model_by_key(key).path)


def chosen_model() -> LoadedModel | None:
    """The uploaded, trained or fetched model this session chose, if any."""
    model = st.session_state.get(SESSION_MODEL_KEY)
    return model if isinstance(model, LoadedModel) else None


def bundled_choice() -> str | None:
    """The key of the bundled model chosen in the switcher (None: not chosen, the default)."""
    key = st.session_state.get(BUNDLED_CHOICE_KEY)
    return key if isinstance(key, str) else None


def _chosen_bundled() -> LoadedModel | None:
    key = st.session_state.get(BUNDLED_CHOICE_KEY)
    return bundled_model(key).model if isinstance(key, str) else None


def set_session_model(model: LoadedModel | None, kind: str = model_cache.UPLOAD) -> None:
    """Use `model` for this session from now on (None: back to the default model). It joins the
    session's models in the switcher and the server's cache (so a reload gets it back)."""
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state.pop(BUNDLED_CHOICE_KEY, None)
    if model is None:
        st.session_state.pop(SESSION_MODEL_KEY, None)
        return
    model = recognised(model)
    if fetch.is_original(model):
        kind = model_cache.ORIGINAL
    entry = model_cache.CachedModel(model, model.name, kind)
    session_models()[entry.fingerprint] = entry
    server_models().put(entry)
    st.session_state[SESSION_MODEL_KEY] = model


def current_model(explain: bool = True) -> LoadedModel | None:
    """The session's model, else the default model; None (and, with `explain`, a message with a
    link to the Model page) when there is neither."""
    model = chosen_model() or _chosen_bundled()
    if model is not None:
        return model
    default = default_model()
    if default.model is None and explain:
        st.error(
            f"**No model to analyse.** {default.problem} Every page of this app needs a model: "
            "open the **Model** page to upload a checkpoint (for example the original challenge's "
            "`arena_sorted_list_model.pt`) or to train one.",
            icon="🚫",
        )
        st.page_link(MODEL_PAGE, label="Open the Model page", icon="📦")
    return default.model


def require_model() -> LoadedModel:
    """`current_model()`, stopping the page (after the explanation) when there is none."""
    model = current_model(explain=True)
    if model is None:
        st.stop()
    return model


# --------------------------------------------------------------------------- the switcher


@st.cache_resource(show_spinner=False)
def server_models() -> model_cache.ModelCache:
    """The server-wide cache of uploaded, trained and fetched models, by fingerprint."""
    return model_cache.ModelCache(model_cache.max_entries_from_env())


def session_models() -> dict[str, model_cache.CachedModel]:
    """This session's uploaded, trained and fetched models by fingerprint (the switcher lists them)."""
    return st.session_state.setdefault(SESSION_MODELS_KEY, {})


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model switcher. `id`: `default`, `bundled:<key>` or `fp:<fingerprint>`."""

    id: str
    label: str
    description: str


_KIND_TEXT = {
    model_cache.UPLOAD: "Uploaded in this session.",
    model_cache.TRAINED: "Trained in this session.",
    model_cache.ORIGINAL: 'ARENA\'s model for its October 2023 monthly algorithmic problem "Sorted List" (recognised by its sha256).',
}


def model_choices() -> list[ModelChoice]:
    """The switcher's entries: this server's default model when `$SORTLIST_MODEL_PATH` names one,
    the bundled models whose files exist (lesson model first), then this session's uploads,
    trained models and the original challenge model."""
    out: list[ModelChoice] = []
    if settings.text(MODEL_PATH_ENV):
        path = default_model_path()
        loaded = default_model().model
        name = loaded.name if loaded is not None else _default_name(path)
        out.append(ModelChoice("default", f"{name} (this server's default)", f"`{path.name}`"))
    out += [
        ModelChoice(f"bundled:{b.key}", b.name, b.description) for b in paths.BUNDLED_MODELS if b.exists()
    ]
    mine = session_models()
    labels = [e.label for e in mine.values()]
    out += [  # the fingerprint only tells apart two models of the same name (the sidebar shows it anyway)
        ModelChoice(
            f"fp:{fp}",
            f"{e.label} ({e.model.short_id})" if labels.count(e.label) > 1 else e.label,
            _KIND_TEXT.get(e.kind, ""),
        )
        for fp, e in mine.items()
    ]
    return out


def current_choice() -> str:
    """The switcher id of the model in use."""
    chosen = chosen_model()
    if chosen is not None:
        return f"fp:{chosen.weights_sha256}"
    key = st.session_state.get(BUNDLED_CHOICE_KEY)
    if isinstance(key, str):
        return f"bundled:{key}"
    if settings.text(MODEL_PATH_ENV):
        return "default"
    return f"bundled:{paths.default_bundled_key()}"


def select_model(choice_id: str) -> None:
    """Switch this session to a switcher entry (unknown ids are ignored)."""
    if choice_id == "default":
        set_session_model(None)
    elif choice_id.startswith("bundled:"):
        key = choice_id.removeprefix("bundled:")
        if key in {b.key for b in paths.BUNDLED_MODELS} and bundled_model(key).model is not None:
            set_session_model(None)
            st.session_state[BUNDLED_CHOICE_KEY] = key
    elif choice_id.startswith("fp:"):
        entry = session_models().get(choice_id.removeprefix("fp:")) or server_models().get(
            choice_id.removeprefix("fp:")
        )
        if entry is not None:
            set_session_model(entry.model, entry.kind)
