"""The model in the URL: every page's address carries the model it shows (`fp`, the model's
fingerprint, and `model`, a bundled model's key), so a reload or a shared link gets that model
back.

- `sync_model_with_url()` (every run, from the sidebar) follows a link's (or a reload's) model
  parameters when they are new to this session, then writes the model in use into the URL.
  A link the server cannot follow leaves a `LinkNotice` (`link_notice()`) that says plainly which
  model is shown instead, with a switch where one helps.
- `model_query(model)`: the URL parameters naming `model` (pages' own links carry them too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from sortlist_app.server import model_cache
from sortlist_core import fetch, paths, settings
from sortlist_core.checkpoint import CheckpointError, LoadedModel, load_checkpoint

from .session_model import (
    MODEL_PATH_ENV,
    NOTICE_KEY,
    ORIGINAL_LABEL,
    bundled_model,
    bundled_of_path,
    current_choice,
    current_model,
    default_model,
    default_model_path,
    select_model,
    server_models,
    session_models,
)

LINK_KEY = "sortlist.model.link"  # (model, fp) last followed from or written to the URL
MODEL_PARAM, FP_PARAM = "model", "fp"  # URL parameters: bundled model key, model fingerprint


def model_query(model: LoadedModel | None) -> dict[str, str]:
    """The URL parameters that say which model a page shows: `fp` (the fingerprint) always, and
    `model` (the registry key) when it is a bundled model, so a deep link can switch to it."""
    if model is None:
        return {}
    choice = current_choice()
    key = choice.removeprefix("bundled:") if choice.startswith("bundled:") else None
    if choice == "default":
        bundled = bundled_of_path(default_model_path())
        key = bundled.key if bundled is not None else None
    return {MODEL_PARAM: key, FP_PARAM: model.link_id} if key else {FP_PARAM: model.link_id}


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
    for entry in [*session_models().values(), *server_models().matching(fp)]:
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
        session_models()[entry.fingerprint] = entry
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
