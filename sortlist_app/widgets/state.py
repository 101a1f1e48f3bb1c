"""The one module that owns cached resources and the session's model.

Pages never load models or run analyses themselves; they call the functions here:

- `require_model()` -> the session's `LoadedModel`, or shows why there is none (with a link to
  the Model page) and stops the page. `current_model()` is the non-stopping variant.
- `set_session_model(model, kind)` (the Model page) switches this session to an uploaded,
  trained or fetched model, which also joins the switcher and the server-side cache;
  `set_session_model(None)` goes back to the default model. `model_choices()`,
  `current_choice()` and `select_model(id)` drive the sidebar's model switcher.
- `sync_model_with_url()` (every run, from the sidebar): the URL carries the model (`fp`, and
  `model` for a bundled one); a reload or a link gets it back from the server-side cache, or a
  `link_notice()` says plainly which model is shown instead.
- cached analyses, e.g. `eval_metrics(model)`, `predictions(model, lists)`, `full_ov(model)`,
  `accuracy_maps(model)`, `mystery_case(...)`, `report(model)`:
  each is keyed by `model.weights_sha256` plus its (hashable) inputs and bounded.
  Add more with the `model_cached` decorator (see its docstring).

The default model is the lesson model (`assets/lesson_model.pt`) when its file exists, else the
strong model (`assets/bundled_model.pt`), or the checkpoint named by the environment variable
`SORTLIST_MODEL_PATH` (used by tests, and by instructors who deploy another model).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import streamlit as st

from sortlist_app.server import model_cache
from sortlist_core import ablation as _ablation
from sortlist_core import adversarial as _adversarial
from sortlist_core import attention as _attention
from sortlist_core import circuits as _circuits
from sortlist_core import fetch, paths, settings
from sortlist_core import metrics as _metrics
from sortlist_core import mystery as _mystery
from sortlist_core import report as _report
from sortlist_core.checkpoint import CheckpointError, LoadedModel, load_checkpoint
from sortlist_core.data import EVAL_SEED, EVAL_SIZE, CustomSortedListDataset, SortedListDataset
from sortlist_core.paths import BUNDLED_MODEL_PATH, BundledModel

MODEL_PATH_ENV = settings.MODEL_PATH
MODEL_PAGE = "pages/6_model.py"
SESSION_MODEL_KEY = "sortlist.model"  # an uploaded / trained / fetched LoadedModel in use
BUNDLED_CHOICE_KEY = "sortlist.model.bundled"  # registry key of a bundled model chosen in the switcher
SESSION_MODELS_KEY = "sortlist.model.session"  # {fingerprint: CachedModel} this session's models
LINK_KEY = "sortlist.model.link"  # (model, fp) last followed from or written to the URL
NOTICE_KEY = "sortlist.model.notice"  # a LinkNotice
MODEL_PARAM, FP_PARAM = "model", "fp"  # URL parameters: bundled model key, model fingerprint
ORIGINAL_LABEL = "original (ARENA)"

Lists = tuple[tuple[int, ...], ...]  # unsorted lists, hashable so they can key caches
P = ParamSpec("P")
R = TypeVar("R")


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
    models = [e.model for e in _session_models().values()] + ([default] if default is not None else [])
    return any(fetch.is_original(m) for m in models)


def _bundled_of_path(path: Path) -> BundledModel | None:
    try:
        resolved = path.resolve()
    except OSError:
        return None
    return next((b for b in paths.BUNDLED_MODELS if b.path.resolve() == resolved), None)


def _default_name(path: Path) -> str:
    bundled = _bundled_of_path(path)
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
        if settings.text(MODEL_PATH_ENV) and _bundled_of_path(path) is None:
            problem += f" (It was named by the environment variable `{MODEL_PATH_ENV}`.)"
        return ServerModelFile(None, problem, path)
    return _load_server_file(str(path), stat.st_mtime_ns, stat.st_size, _default_name(path))


def default_model() -> ServerModelFile:
    """The default model (shared by all sessions), loaded once per file version."""
    return _load_path(default_model_path())


def bundled_model(key: str) -> ServerModelFile:
    """A bundled model by registry key (`lesson`, `strong`), loaded once per file version."""
    return _load_path(paths.bundled_model_by_key(key).path)


def session_model() -> LoadedModel | None:
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
    _session_models()[entry.fingerprint] = entry
    server_models().put(entry)
    st.session_state[SESSION_MODEL_KEY] = model


def current_model(explain: bool = True) -> LoadedModel | None:
    """The session's model, else the default model; None (and, with `explain`, a message with a
    link to the Model page) when there is neither."""
    model = session_model() or _chosen_bundled()
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


def _session_models() -> dict[str, model_cache.CachedModel]:
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
    mine = _session_models()
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
    chosen = session_model()
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
        entry = _session_models().get(choice_id.removeprefix("fp:")) or server_models().get(
            choice_id.removeprefix("fp:")
        )
        if entry is not None:
            set_session_model(entry.model, entry.kind)


def model_query(model: LoadedModel | None) -> dict[str, str]:
    """The URL parameters that say which model a page shows: `fp` (the fingerprint) always, and
    `model` (the registry key) when it is a bundled model, so a deep link can switch to it."""
    if model is None:
        return {}
    choice = current_choice()
    key = choice.removeprefix("bundled:") if choice.startswith("bundled:") else None
    if choice == "default":
        bundled = _bundled_of_path(default_model_path())
        key = bundled.key if bundled is not None else None
    return {MODEL_PARAM: key, FP_PARAM: model.link_id} if key else {FP_PARAM: model.link_id}


# --------------------------------------------------------------------------- links and reloads


@dataclass(frozen=True)
class LinkNotice:
    """Shown at the top of every page until dismissed or the model changes."""

    text: str
    switch_to: str | None = None  # a switcher id that gives the link's model back
    switch_label: str = ""


AMBIGUOUS = "ambiguous"  # `_find_fingerprint`'s switcher id when several models share the link's prefix


def _find_fingerprint(fp: str) -> tuple[str, str] | None:
    """(switcher id, name) of the one model this server has whose weights sha256 starts with
    `fp`: this session's or the server cache's models (an upload keeps its name), the default, a
    bundled model, or the original challenge model in the download cache. When several different
    models match (an old 8-digit link can), `(AMBIGUOUS, how many)`: none is opened."""
    found: dict[str, tuple[str, str, model_cache.CachedModel | None]] = {}
    for entry in [*_session_models().values(), *server_models().matching(fp)]:
        if entry.fingerprint.startswith(fp):
            found.setdefault(entry.fingerprint, (f"fp:{entry.fingerprint}", entry.label, entry))
    default = default_model().model
    if default is not None and default.weights_sha256.startswith(fp) and settings.text(MODEL_PATH_ENV):
        found.setdefault(default.weights_sha256, ("default", default.name, None))
    for b in paths.BUNDLED_MODELS:
        loaded = bundled_model(b.key).model if b.exists() else None
        if loaded is not None and loaded.weights_sha256.startswith(fp):
            found.setdefault(loaded.weights_sha256, (f"bundled:{b.key}", b.name, None))
    if not found:
        entry = _original_from_disk(fp)
        if entry is not None:
            found[entry.fingerprint] = (f"fp:{entry.fingerprint}", entry.label, entry)
    if len(found) > 1:
        return AMBIGUOUS, str(len(found))
    if not found:
        return None
    choice, name, entry = next(iter(found.values()))
    if entry is not None:
        _session_models()[entry.fingerprint] = entry
    return choice, name


def _original_from_disk(fp: str) -> model_cache.CachedModel | None:
    """The original challenge model, if it was downloaded earlier and has this fingerprint."""
    path = fetch.cached_original_path()
    if not path.is_file() or fetch.sha256_of(path) != fetch.EXPECTED_SHA256:
        return None
    try:
        model = load_checkpoint(path, name=ORIGINAL_LABEL)
    except CheckpointError:
        return None
    if not model.weights_sha256.startswith(fp):
        return None
    entry = model_cache.CachedModel(model, ORIGINAL_LABEL, model_cache.ORIGINAL)
    server_models().put(entry)
    return entry


def _follow_link(key: str | None, fp: str | None, first_run: bool) -> None:
    """A link (or a reload) names a model: use it when this server has it; otherwise say plainly
    which model is shown instead. Mid-session, a link to another model only offers the switch."""
    bundled = next((b for b in paths.BUNDLED_MODELS if b.key == key and b.exists()), None)
    found = _find_fingerprint(fp) if fp else None
    if found is not None and found[0] == AMBIGUOUS:
        shown = current_model(explain=False)
        shown_text = f"**{shown.name}** (fingerprint `{shown.short_id}`)" if shown is not None else "no model"
        st.session_state[NOTICE_KEY] = LinkNotice(
            f"This link's model fingerprint `{fp}` is shared by {found[1]} models on this server, so none "
            f"of them was opened (links made now carry a longer fingerprint). You are looking at {shown_text}."
        )
        return
    if found is None and fp is None and bundled is not None:
        found = (f"bundled:{bundled.key}", bundled.name)
    if first_run and found is not None:
        select_model(found[0])
        return
    if first_run and bundled is not None and fp:
        # the link's bundled model, but another version of it: its numbers may differ
        select_model(f"bundled:{bundled.key}")
        shown = current_model(explain=False)
        st.session_state[NOTICE_KEY] = LinkNotice(
            f"This link was made on the **{bundled.name}** with fingerprint `{fp}`; this server's "
            f"{bundled.name} has fingerprint `{shown.short_id if shown else '?'}`, so its numbers may differ "
            "from the link's."
        )
        return
    shown = current_model(explain=False)
    shown_text = f"**{shown.name}** (fingerprint `{shown.short_id}`)" if shown is not None else "no model"
    if found is not None:
        if shown is not None and found[0] == current_choice():
            return
        st.session_state[NOTICE_KEY] = LinkNotice(
            f"This link was made on model **{found[1]}** (fingerprint `{fp or '?'}`); you are looking at {shown_text}.",
            found[0],
            f"Switch to {found[1]}",
        )
        return
    name = f"the **{bundled.name}**" if bundled is not None else "a model"
    st.session_state[NOTICE_KEY] = LinkNotice(
        f"This link was made on {name} with fingerprint `{fp}`, which this server no longer has (uploaded "
        "and trained models are kept for a while only, and not across a server restart). You are looking "
        f"at {shown_text} instead. To use the link's model, upload its checkpoint again on the Model page."
    )


def _bad_link_values(key: str | None, fp: str | None) -> str | None:
    """Why the link's model parameters are ignored (a bad value, or a bundled model this server
    does not ship), or None when they can be followed."""
    shown = current_model(explain=False)
    instead = f" You are looking at **{shown.name}** (fingerprint `{shown.short_id}`)." if shown else ""
    if fp is not None and not re.fullmatch(r"[0-9a-f]{8,64}", fp):
        return f"The link's model fingerprint (`fp`) is not 8 to 64 hexadecimal digits, so it was ignored.{instead}"
    known = {b.key: b for b in paths.BUNDLED_MODELS}
    if key is not None and key not in known:
        return (
            f"The link asks for a model named `{key[:40]}`, which is not one of the bundled models "
            f"({', '.join(known)}), so it was ignored.{instead}"
        )
    if key is not None and fp is None and not known[key].exists():
        return f"The link asks for the {known[key].name}, which this server does not have.{instead}"
    return None


def sync_model_with_url() -> None:
    """Call once per run, before the page: follow a link's (or a reload's) `model`/`fp`
    parameters when they are new to this session, then write the model in use into the URL."""
    params = st.query_params
    link = (params.get(MODEL_PARAM) or None, params.get(FP_PARAM) or None)
    first_run = LINK_KEY not in st.session_state
    if link != st.session_state.get(LINK_KEY) and (link[0] or link[1]):
        bad = _bad_link_values(*link)
        if bad:
            st.session_state[NOTICE_KEY] = LinkNotice(bad)
            link = (None, None)
    if link != st.session_state.get(LINK_KEY) and (link[0] or link[1]):
        model = current_model(explain=False)
        if first_run or model is None or not (link[1] and model.weights_sha256.startswith(link[1])):
            _follow_link(*link, first_run=first_run)
    model = current_model(explain=False)
    wanted = model_query(model)
    for name in (MODEL_PARAM, FP_PARAM):
        if name in wanted and params.get(name) != wanted[name]:
            params[name] = wanted[name]
        elif name not in wanted and name in params:
            del params[name]
    st.session_state[LINK_KEY] = (wanted.get(MODEL_PARAM), wanted.get(FP_PARAM))


def link_notice() -> LinkNotice | None:
    notice = st.session_state.get(NOTICE_KEY)
    return notice if isinstance(notice, LinkNotice) else None


def dismiss_link_notice() -> None:
    st.session_state.pop(NOTICE_KEY, None)


# --------------------------------------------------------------------------- caching


def read_only(value: R) -> R:
    """`value` with every numpy array inside it (dataclass fields, lists, tuples, dict values)
    made read-only in place, so a result shared by all sessions cannot be changed by one."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, list | tuple):
        for item in value:
            read_only(item)
    elif isinstance(value, dict):
        for item in value.values():
            read_only(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            read_only(getattr(value, field.name))
    return value


def model_cached(max_entries: int = 32) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: cache `fn(model, *args, **kwargs)` by `(model.weights_sha256, args, kwargs)`,
    as one result shared by every session of the process (`st.cache_resource`).

    A class opening the same page on the same model then computes each result once, and no
    session pays for copying it (`st.cache_data` would pickle and unpickle it on every call).
    Shared means read-only: numpy arrays come back with `writeable=False` (see `read_only`),
    result types are frozen dataclasses, and callers must copy a list or dict before changing
    it. `LoadedModel` is not hashable, so the model travels as an unhashed `_model` argument
    next to its fingerprint. The other arguments must be hashable (ints, strings, tuples);
    keyword arguments whose name starts with `_` are not hashed (e.g. a progress callback).
    The core functions are pure (no TransformerLens hooks), so sessions may call them from
    their threads at once.

        @model_cached(max_entries=16)
        def my_analysis(model: LoadedModel, lists: Lists) -> np.ndarray: ...
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        def cached(model_key: str, _model: LoadedModel, *args: Any, **kwargs: Any) -> Any:
            return read_only(fn(_model, *args, **kwargs))

        # Streamlit identifies a cached function by module + qualname: make each wrapper distinct.
        cached.__module__ = fn.__module__
        cached.__qualname__ = f"{fn.__qualname__}.<model_cached>"
        cached_fn = st.cache_resource(max_entries=max_entries, show_spinner=False)(cached)

        @functools.wraps(fn)
        def call(model: LoadedModel, *args: Any, **kwargs: Any) -> Any:
            return cached_fn(model.weights_sha256, model, *args, **kwargs)

        call.clear = cached_fn.clear  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate


# ~30-110 KB a figure: every page's figures of a few models, plus the lists learners try
@st.cache_resource(max_entries=256, show_spinner=False)
def _shared_figure(model_key: str, name: str, key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


def shared_figure(model: LoadedModel, name: str, build: Callable[[], R], *key: Any) -> R:
    """`build()` (a plotly figure of `model`'s cached results) made once per model, `name` and
    hashable `key` values, and shared by every session: a class opening a page builds each
    figure once. The figure is shared, so pages draw it and never change it (a title or
    layout change goes inside `build`).

    `name` is one per kind of figure (one builder: pages that draw the same figure share it);
    `key` holds every value `build` depends on besides the model: widget values (a destination
    token, a head), head names and labels as tuples, a learner's lists as tuples of ints. A value
    left out of `key` would show one session's figure for another's input.

        fig = state.shared_figure(model, "qk_bar", lambda: figures.qk_bar(s, str(d), names, vocab), d, tuple(names))
    """
    return _shared_figure(model.weights_sha256, name, key, build)


@st.cache_resource(max_entries=16, show_spinner=False)
def dataset(
    seed: int = EVAL_SEED, size: int = EVAL_SIZE, list_len: int = 10, max_value: int = 50
) -> SortedListDataset:
    """A shared, read-only `SortedListDataset` (never mutate its tensors)."""
    return SortedListDataset(size=size, list_len=list_len, max_value=max_value, seed=seed)


def eval_dataset(model: LoadedModel, seed: int = EVAL_SEED, size: int = EVAL_SIZE) -> SortedListDataset:
    """The write-up's evaluation set (500 lists, seed 43) shaped for `model`."""
    return dataset(seed, size, model.config.list_len, model.config.max_value)


def dataset_lists(model: LoadedModel, seed: int, indices: tuple[int, ...]) -> Lists:
    """The unsorted lists at `indices` of the dataset with `seed` (for `predictions` etc.)."""
    rows = eval_dataset(model, seed).unsorted[list(indices)].tolist() if indices else []
    return tuple(tuple(row) for row in rows)


def eval_lists(model: LoadedModel) -> Lists:
    """Every unsorted list of the evaluation set."""
    return dataset_lists(model, EVAL_SEED, tuple(range(EVAL_SIZE)))


def _toks(model: LoadedModel, lists: Lists):
    return CustomSortedListDataset([list(x) for x in lists], model.config.max_value).toks


@model_cached(max_entries=16)
def eval_metrics(model: LoadedModel, seed: int = EVAL_SEED, size: int = EVAL_SIZE) -> _metrics.Metrics:
    """Loss, probabilities on the correct label and accuracies on the evaluation set."""
    return _metrics.evaluate(model, eval_dataset(model, seed, size).toks)


@model_cached(max_entries=64)
def predictions(model: LoadedModel, lists: Lists) -> list[_metrics.SequencePrediction]:
    """Per-list probability matrices, targets and wrong positions (`show` / `show_multiple`)."""
    return _metrics.predict_lists(model, lists)


@model_cached(max_entries=64)
def attention(model: LoadedModel, lists: Lists) -> np.ndarray:
    """float32 [list head dest src] attention patterns."""
    return _attention.attention_patterns(model, _toks(model, lists))


@model_cached(max_entries=64)
def top_attended(model: LoadedModel, unsorted: tuple[int, ...], dest: int, head: int) -> int:
    """The position that position `dest` attends to most in `head`, for one list."""
    return _attention.top_attended_position(model, _toks(model, (unsorted,)), dest, head)


@model_cached(max_entries=16)
def claims(model: LoadedModel, seed: int = EVAL_SEED, size: int = EVAL_SIZE) -> _attention.AttentionClaims:
    """How often the write-up's attention observations hold on the evaluation set."""
    return _attention.attention_claims(model, eval_dataset(model, seed, size).toks)


@model_cached(max_entries=16)
def eval_attention_misses(model: LoadedModel) -> _attention.AttentionMisses:
    """Evaluation-set positions where no head attends most to the next larger value."""
    lists = eval_lists(model)
    return _attention.next_larger_misses_on(
        attention(model, lists), predictions(model, lists), model.config.sep_token
    )


@model_cached(max_entries=16)
def ablation(model: LoadedModel, seed: int = EVAL_SEED, size: int = EVAL_SIZE) -> _ablation.AblationResult:
    """Loss increase from mean/zero-ablating each head on the evaluation set."""
    return _ablation.head_ablation(model, eval_dataset(model, seed, size).toks)


@model_cached(max_entries=16)
def full_ov(model: LoadedModel) -> np.ndarray:
    """[head src pred] `W_E W_OV W_U`."""
    return _circuits.full_ov(model)


@model_cached(max_entries=16)
def full_qk(model: LoadedModel) -> np.ndarray:
    """[head dest src] `W_E W_QK W_E^T`."""
    return _circuits.full_qk(model)


def qk_scores(model: LoadedModel, dest_token: int) -> np.ndarray:
    """[head src] one destination token's QK scores (a slice of the cached full QK)."""
    return full_qk(model)[:, dest_token, :]


@model_cached(max_entries=16)
def positional_qk(model: LoadedModel) -> np.ndarray:
    """[head query_position key_token] `W_pos W_QK W_E^T`."""
    return _circuits.positional_qk(model)


@model_cached(max_entries=16)
def direct_path(model: LoadedModel) -> np.ndarray:
    """[input pred] `W_E W_U`."""
    return _circuits.direct_path(model)


@model_cached(max_entries=16)
def responsibility(model: LoadedModel) -> _circuits.HeadResponsibility:
    """Which head copies which value token (OV diagonal)."""
    return _circuits.head_responsibility(model)


# --------------------------------------------------------------------------- adversarial, mystery, report


@model_cached(max_entries=8)
def accuracy_maps(model: LoadedModel) -> list[_adversarial.AccuracyMap]:
    """Accuracy over structured families of lists (a few seconds; cached per model)."""
    return _adversarial.family_accuracy_maps(model)


@model_cached(max_entries=8)
def family_rates(model: LoadedModel) -> _adversarial.FamilyRates:
    """How often each family of lists goes wrong (the Adversarial page's first exercise)."""
    return _adversarial.family_failure_rates(model)


@model_cached(max_entries=8)
def quick_search(model: LoadedModel, budget: int = 2048, seed: int = 0) -> _adversarial.SearchResult:
    """A small search, used to find an exercise list when no preset goes wrong."""
    return _adversarial.search_adversarial(model, budget=budget, seed=seed)


def search_adversarial(
    model: LoadedModel, budget: int, seed: int, progress: Callable[[int, int], None] | None = None
) -> _adversarial.SearchResult:
    """The learner's search (not cached: it reports progress; the page keeps the result)."""
    return _adversarial.search_adversarial(model, budget=budget, seed=seed, progress=progress)


@model_cached(max_entries=16)
def wrong_position_target(model: LoadedModel) -> _metrics.SequencePrediction | None:
    """A list the model sorts wrongly, for the "where does it go wrong" exercise: the first
    preset or generated list that fails, else the best of a small search, else None."""
    from sortlist_app.lessons.adversarial import exercise_candidates, pick_exercise_list

    target = pick_exercise_list(predictions(model, exercise_candidates(model.config)))
    if target is None:
        examples = quick_search(model).examples
        target = predictions(model, (tuple(examples[0].unsorted),))[0] if examples else None
    return target


@model_cached(max_entries=64)
def mystery_case(
    model: LoadedModel, unsorted: tuple[int, ...], xyz: tuple[int, int, int], head: int | None
) -> _mystery.MysteryCase:
    return _mystery.dla_yz(model, list(unsorted), *xyz, head=head)


def other_heads_push(model: LoadedModel, cases: list[_mystery.MysteryCase]) -> list[float]:
    """Net push towards y of the heads not attributed in each case (`mystery.other_heads_push`)."""
    return _other_heads_push(model, tuple((tuple(c.unsorted), (c.x, c.y, c.z), c.head) for c in cases))


@model_cached(max_entries=64)
def _other_heads_push(model: LoadedModel, cases: tuple[_mystery.CaseSpec, ...]) -> list[float]:
    return _mystery.other_heads_push(model, cases)


@model_cached(max_entries=8)
def offset_profile(model: LoadedModel) -> _mystery.OffsetProfile:
    return _mystery.ov_offset_profile(model)


@model_cached(max_entries=8)
def direct_path_experiment(model: LoadedModel) -> _mystery.DirectPathExperiment:
    return _mystery.direct_path_experiment(model)


@model_cached(max_entries=4)
def report(model: LoadedModel) -> dict[str, Any]:
    """`build_report` (JSON-ready) for the Model page's downloads."""
    return _report.build_report(model)


def report_markdown(report_dict: dict[str, Any]) -> str:
    return _report.report_markdown(report_dict)
