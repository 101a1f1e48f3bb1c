"""circuitsvis attention views that work offline, at a few KB per view.

circuitsvis normally inlines its 1.3 MB JavaScript bundle into every view (or loads it from a
CDN, which is impossible offline). Instead, the bundle shipped inside the installed `circuitsvis`
package is copied once into `static/circuitsvis-<version>.js`, which Streamlit serves at
`/app/static/...` (`server.enableStaticServing = true` in `.streamlit/config.toml`). Each view is
then a small srcdoc iframe (`st.iframe`) whose `<script src>` loads the bundle from the app's own
origin (cached by the browser) and calls `CircuitsVis.render(..., AttentionHeads, props)`.

`static/` is generated (git-ignored): it is (re)filled at start-up. Where the app directory is
read-only (some hosted platforms), run `python -m sortlist_app.widgets.attention_view` at build time;
if the bundle still cannot be served, the page falls back to plotly heatmaps of the same
patterns and says why.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sortlist_core.figures import attention_heatmaps
from sortlist_core.paths import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"  # Streamlit serves ./static next to app.py
SOURCE_MAP_LINE = b"//# sourceMappingURL="  # dropped: the .map is not served, avoid a 404
_LOG = logging.getLogger(__name__)


def circuitsvis_version() -> str:
    return importlib.metadata.version("circuitsvis")


def bundle_source() -> Path:
    """`<site-packages>/circuitsvis/dist/cdn/iife.js` (found without importing circuitsvis)."""
    spec = importlib.util.find_spec("circuitsvis")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the circuitsvis package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "dist" / "cdn" / "iife.js"


def bundle_name() -> str:
    return f"circuitsvis-{circuitsvis_version()}.js"


def _bundle_bytes() -> bytes:
    data = bundle_source().read_bytes()
    lines = [line for line in data.splitlines(keepends=True) if not line.startswith(SOURCE_MAP_LINE)]
    return b"".join(lines)


def install_bundle(static_dir: Path = STATIC_DIR) -> Path:
    """Copy the bundle into `static_dir` unless an identical copy is there; raises `OSError`.

    Written to a temp file and renamed, so concurrent starts never serve half a file.
    """
    data = _bundle_bytes()
    target = static_dir / bundle_name()
    try:
        if target.read_bytes() == data:
            return target
    except OSError:
        pass
    static_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=static_dir, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class BundleStatus:
    """Where the browser finds the bundle (`url`), or why the circuitsvis view is unavailable."""

    url: str | None
    problem: str | None


def static_url(file_name: str) -> str:
    """Absolute URL path of a static file, honouring `server.baseUrlPath`.

    Absolute, because a srcdoc iframe resolves relative URLs against `about:srcdoc`'s parent.
    """
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, "app", "static", file_name) if part)


@st.cache_resource(show_spinner=False)
def ensure_bundle() -> BundleStatus:
    """Install the bundle once per process and say whether views can load it."""
    if not st.get_option("server.enableStaticServing"):
        return BundleStatus(
            None,
            "static file serving is off (set `server.enableStaticServing = true` in `.streamlit/config.toml`)",
        )
    try:
        path = install_bundle()
    except OSError as exc:
        _LOG.warning("cannot install the circuitsvis bundle into %s: %s", STATIC_DIR, exc)
        target = STATIC_DIR / bundle_name()
        if target.is_file():  # read-only, but installed at build time
            return BundleStatus(static_url(target.name), None)
        return BundleStatus(
            None,
            f"`{STATIC_DIR.name}/` is not writable ({exc.strerror or exc}); run `python -m sortlist_app.widgets.attention_view` when building the app",
        )
    return BundleStatus(static_url(path.name), None)


# --------------------------------------------------------------------------- HTML


def _compact_number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def compact_json_array(array: np.ndarray) -> str:
    """Nested JSON array with 3 decimals and no redundant zeros: ~4 KB for 2 heads x 21 x 21."""
    if array.ndim == 1:
        return "[" + ",".join(_compact_number(float(v)) for v in array) + "]"
    return "[" + ",".join(compact_json_array(sub) for sub in array) + "]"


# Why the view reports its own height: `st.iframe(height="content")` measures the document with
# `max(body, documentElement.scrollHeight, ...)`, and `documentElement.scrollHeight` is never less
# than the iframe's current height. So one tall moment (the chart drawn before its container has
# its final width, common in a tall window) ratchets the iframe up for good: 2156 px with ~1500 px
# blank. Posting the height of the drawn view itself (`#cv`) on every resize lets it shrink back.
SIZE_MESSAGE = "streamlit:iframe:setSize"  # what Streamlit's own sizing script posts
SELF_SIZING_JS = (
    "(function(){var el=document.getElementById('cv');"
    "function post(){var r=el.getBoundingClientRect();"
    f"window.parent.postMessage({{type:'{SIZE_MESSAGE}',"
    "width:Math.ceil(document.body.getBoundingClientRect().width),"
    "height:Math.ceil(r.top+r.height)+4},'*');}"
    "if(window.ResizeObserver){new ResizeObserver(post).observe(el);}"
    "window.addEventListener('load',post);})();"
)


def attention_html(
    tokens: Sequence[str], pattern: np.ndarray, head_names: Sequence[str], script_url: str
) -> str:
    """A self-contained page drawing circuitsvis `AttentionHeads` for one sequence.

    `pattern` is [head dest src]; the bundle is loaded from `script_url` (same origin).
    """
    props = (
        '{"attention":' + compact_json_array(np.asarray(pattern, dtype=float))
        + ',"tokens":' + json.dumps(list(tokens), separators=(",", ":"))
        + ',"attentionHeadNames":' + json.dumps([f"head {h}" for h in head_names], separators=(",", ":"))
        + ',"maxValue":1,"minValue":0}'
    )  # fmt: skip
    props = props.replace("</", "<\\/")  # never close the script tag from data
    src = json.dumps(script_url)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<style>html,body{overflow:hidden}body{margin:0;font-family:system-ui,sans-serif}</style></head><body>"
        '<div id="cv"></div>'
        f"<script>{SELF_SIZING_JS}</script>"
        f"<script src={src}></script>"
        "<script>(function(){var el=document.getElementById('cv');"
        "if(!window.CircuitsVis){el.textContent='The attention viewer could not load its script from '+"
        f"{src}+'. Use the table below instead.';return;}}"
        f"CircuitsVis.render('cv',CircuitsVis.AttentionHeads,{props});}})();</script>"
        "</body></html>"
    )


@st.cache_resource(max_entries=256, show_spinner=False)
def shared_attention_html(
    tokens: tuple[str, ...], pattern: np.ndarray, head_names: tuple[str, ...], script_url: str
) -> str:
    """`attention_html`, built once per content (the pattern's bytes are part of the key) and
    shared by every session: a class viewing the same lists builds each view once."""
    return attention_html(tokens, pattern, head_names, script_url)


@st.cache_resource(max_entries=64, show_spinner=False)
def shared_attention_figure(
    tokens: tuple[str, ...], pattern: np.ndarray, head_names: tuple[str, ...], title: str
) -> go.Figure:
    """The plotly fallback (`attention_heatmaps`), keyed like `shared_attention_html` plus its
    title and shared read-only by every session."""
    return attention_heatmaps(pattern, tokens, head_names, title)


def render_attention(
    tokens: Sequence[str], pattern: np.ndarray, head_names: Sequence[str], title: str, key: str
) -> None:
    """One sequence's attention: circuitsvis when its bundle can be served, else plotly.

    `key` must be unique on the page (it keys the fallback chart)."""
    status = ensure_bundle()
    if status.url is not None:
        st.iframe(
            shared_attention_html(tuple(tokens), pattern, tuple(head_names), status.url),
            height="content",  # Streamlit measures the drawn view: its size depends on the width
            alt=title,
        )
        return
    st.caption(f"Interactive circuitsvis view unavailable: {status.problem}. Showing heatmaps instead.")
    fig = shared_attention_figure(tuple(tokens), pattern, tuple(head_names), title)
    st.plotly_chart(fig, theme=None, key=f"attention_fallback_{key}")


def main() -> None:
    """`python -m sortlist_app.widgets.attention_view`: install the bundle (e.g. during a Docker build)."""
    path = install_bundle()
    print(f"installed {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
