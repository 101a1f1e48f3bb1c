"""Who the learner is (no account) and where their progress is saved.

- A random learner key (`progress.new_learner_key`, 192 bits) identifies a learner. It is kept
  in the browser as the cookie `sortlist_learner` (written by a tiny inline script, no external
  JS) and read back from `st.context.cookies` when a new session starts.
- The "resume link" (`?learner=<key>`) carries the key to another device: opening it adopts the
  key there (and writes that browser's cookie), then the parameter is removed from the address.
  A browser that already has a different learner is asked first (two buttons, nothing replaced
  silently): a link planted by someone else must not capture this browser's answers.
- The store only ever sees the key (it keeps its sha256): there is no learner id to edit, and
  the hash prefix the instructor sees is not a key.

`start_session()` runs in `app.py` on every run, before the page (whose `url.publish` rewrites
the query string). The process holds one `ProgressRecorder` (`recorder()`), shared by every
session, so any session's next write flushes what an outage queued.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from sortlist_progress import ProgressRecorder, ProgressStoreError, open_store
from sortlist_progress.errors import InvalidLearnerKey
from sortlist_progress.store import key_hash, new_learner_key

COOKIE = "sortlist_learner"
PARAM = "learner"
COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers honour
KEY_STATE = "sortlist.learner.key"
SOURCE_STATE = "sortlist.learner.source"  # "link", "cookie" or "new"
TOUCHED_STATE = "sortlist.learner.touched"
NAME_STATE = "sortlist.learner.name"
LINK_PROBLEM_STATE = "sortlist.learner.link_problem"
PENDING_LINK_STATE = "sortlist.learner.pending_link"  # a resume link waiting for the learner's yes
SWITCH_BUTTON, KEEP_BUTTON = "sortlist.learner.switch", "sortlist.learner.keep"

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def recorder() -> ProgressRecorder:
    """The process's one recorder over the configured store (SQLite file or PostgreSQL)."""
    return ProgressRecorder(open_store())


def is_learner_key(value: object) -> bool:
    try:
        key_hash(value)  # type: ignore[arg-type]
    except (InvalidLearnerKey, TypeError):
        return False
    return True


def _cookie_key() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (e.g. a bare script run)
        return None
    return value if is_learner_key(value) else None


def learner_key() -> str:
    """This session's learner key: from the session, else the browser's cookie, else new."""
    key = st.session_state.get(KEY_STATE)
    if key:
        return key
    key = _cookie_key()
    st.session_state[SOURCE_STATE] = "cookie" if key else "new"
    key = key or new_learner_key()
    st.session_state[KEY_STATE] = key
    return key


def _adopt(key: str) -> None:
    """Make `key` this browser's learner (its cookie follows on the next run)."""
    if key != st.session_state.get(KEY_STATE):
        st.session_state[KEY_STATE] = key
        st.session_state[SOURCE_STATE] = "link"
        st.session_state.pop(TOUCHED_STATE, None)
        st.session_state.pop(NAME_STATE, None)  # progress_session re-reads the store for the new key
    st.session_state.pop(PENDING_LINK_STATE, None)


def _adopt_link() -> None:
    """A resume link (`?learner=`) switches this browser to that learner, then leaves the URL.

    When the browser already has a *different* learner, nothing is replaced until the learner
    says so (`render_link_question`): a link planted by someone else (login CSRF) would
    otherwise move all this browser's later answers into the planter's progress."""
    if PARAM not in st.query_params:
        return
    value = st.query_params.get(PARAM)
    del st.query_params[PARAM]
    if is_learner_key(value):
        st.session_state.pop(LINK_PROBLEM_STATE, None)
        current = st.session_state.get(KEY_STATE) or _cookie_key()
        if current is None or current == value:
            _adopt(value)
        else:
            st.session_state[PENDING_LINK_STATE] = value
    else:
        st.session_state[LINK_PROBLEM_STATE] = (
            "This resume link is not valid (it may have been cut short when copied); "
            "your progress on this browser is used instead."
        )


def _describe(key: str) -> str:
    """A learner as the question shows them: display name, reference, exercises solved."""
    ref = key_hash(key)[:6]
    try:
        info = recorder().store.learner(key)
    except ProgressStoreError:
        info = None
    name = info.display_name if info and info.display_name else None
    who = f"**{name}** (learner {ref})" if name else f"learner **{ref}**"
    if info is None:
        return f"{who}, with no saved progress"
    return f"{who}, last seen {info.last_seen_at.strftime('%Y-%m-%d %H:%M')} UTC"


def _keep_current() -> None:
    st.session_state.pop(PENDING_LINK_STATE, None)


def render_link_question() -> None:
    """Above the page while a resume link waits: who this browser is, who the link would make
    it, and two buttons. Nothing changes until one is pressed."""
    pending = st.session_state.get(PENDING_LINK_STATE)
    if not pending:
        return
    current = learner_key()
    if pending == current:
        st.session_state.pop(PENDING_LINK_STATE, None)
        return
    with st.container(border=True):
        st.warning(
            f"**Switch learner?** This browser is {_describe(current)}. The link you opened belongs "
            f"to {_describe(pending)}. Switching saves your answers from now on to the link's learner "
            "and shows their progress instead of yours. Only switch if the link is your own resume "
            "link: a link someone else sent you would put your work in their progress.",
            icon="🔗",
        )
        buttons = st.container(horizontal=True, gap="small")
        buttons.button(
            "Switch to the link's learner",
            key=SWITCH_BUTTON,
            on_click=_adopt,
            args=(pending,),
            type="primary",
        )
        buttons.button(f"Stay learner {key_hash(current)[:6]}", key=KEEP_BUTTON, on_click=_keep_current)


def start_session() -> str:
    """Adopt a resume link (or ask first), make sure the browser keeps the key, mark the learner seen."""
    _adopt_link()
    key = learner_key()
    render_link_question()
    if not st.session_state.get(TOUCHED_STATE):
        try:
            recorder().store.touch(key)
            st.session_state[TOUCHED_STATE] = True
        except ProgressStoreError as exc:
            log.warning("progress store: %s", exc)  # shown with the first answer; try again next run
    return key


# Pages must not send their address (it may hold `?learner=KEY`) as Referer. nginx sends the
# `Referrer-Policy: no-referrer` header (deploy/nginx); without nginx, the same policy as a
# <meta name="referrer"> in the document's head, which browsers apply to every later request
# and link. Streamlit 1.67 has no way to set a response header or write the head directly.
_NO_REFERRER = (
    "var d = window.parent.document;"
    "if (!d.querySelector('meta[name=referrer]')) {"
    "var m = d.createElement('meta'); m.name = 'referrer'; m.content = 'no-referrer';"
    "d.head.appendChild(m);}"
)


def write_cookie(key: str) -> None:
    """Store the key in this browser unless it came with the session's cookie, and set the
    page's no-referrer policy. On every run: a run that switches pages (`/` opens the first
    page) drops what it drew, so a once-only flag could skip the write; an unchanged element is
    not reloaded by the browser."""
    cookie = ""
    if _cookie_key() != key:
        cookie = (
            "document.cookie = "
            + json.dumps(f"{COOKIE}={key}; path=/; max-age={COOKIE_MAX_AGE_S}; SameSite=Lax")
            + ";"
        )
    # an HTML string runs same-origin, so it sets the app's cookie and reaches the app's head
    st.iframe(f"<script>{cookie}try {{{_NO_REFERRER}}} catch (e) {{}}</script>", height=1)


def resume_link(key: str) -> str:
    """The app's address with `?learner=<key>` (relative when the address is unknown)."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001
        url = ""
    parts = urlsplit(url)
    query = urlencode({PARAM: key})
    if not parts.scheme:
        return f"/?{query}"
    return urlunsplit((parts.scheme, parts.netloc, "/", query, ""))


def _save_name() -> None:
    name = st.session_state.get(NAME_STATE) or None
    try:
        stored = recorder().store.set_display_name(learner_key(), name)
        st.session_state[NAME_STATE] = stored or ""
    except ProgressStoreError as exc:
        st.session_state[LINK_PROBLEM_STATE] = f"Your display name was not saved: {exc.user_message}"


def _stored_name(key: str) -> str:
    try:
        info = recorder().store.learner(key)
    except ProgressStoreError:
        return ""
    return (info.display_name or "") if info else ""


def render_learner_section() -> None:
    """Sidebar: the resume link (with a copy button) and the optional display name."""
    key = learner_key()
    write_cookie(key)
    problem = st.session_state.get(LINK_PROBLEM_STATE)
    if problem:
        st.warning(problem, icon="🔗")
    if st.session_state.get(SOURCE_STATE) == "link":
        st.caption("Progress loaded from your resume link.")
    with st.expander("Continue on another device"):
        st.caption(
            "Open this link on another device (or after clearing cookies) to carry on where you "
            "left off. Keep it to yourself: anyone with it can see and add to your progress."
        )
        st.code(resume_link(key), language=None, wrap_lines=True)
        if NAME_STATE not in st.session_state:
            st.session_state[NAME_STATE] = _stored_name(key)
        st.text_input(
            "Display name for your class (optional)",
            key=NAME_STATE,
            max_chars=40,
            on_change=_save_name,
            help="Only your instructor sees it. Leave it empty to stay anonymous.",
        )
