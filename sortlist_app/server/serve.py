"""`python -m sortlist_app.server.serve [streamlit options]`: `streamlit run app.py`, with the first
page's work already under way when the first learner arrives.

Exactly `streamlit run app.py [options]` (same configuration, same options), except that
`sortlist_app.server.warm_start` starts first, in a background thread: the app's imports, the default
model, its evaluation and the first page's figures are computed while Streamlit starts and the
browser loads, instead of in the first learner's run. A plain `streamlit run app.py` still works
(Community Cloud); its first learner then waits for that work. It also caps glibc's malloc
arenas at 2 (see `limit_malloc_arenas`).

    python -m sortlist_app.server.serve --server.port=8501 --server.address=0.0.0.0
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


ARENA_ENV = "MALLOC_ARENA_MAX"
ARENAS = "2"
_M_ARENA_MAX = -8  # glibc mallopt() parameter number


def limit_malloc_arenas(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Cap glibc's malloc arenas at 2, in this process and the processes it starts (the code
    worker), unless `MALLOC_ARENA_MAX` is set (any value: your choice is kept). Returns whether
    the cap was applied here.

    glibc gives each thread that meets a busy arena a new one, up to 8 per core, and Streamlit
    runs every session's script in its own thread: freed analysis buffers then sit in many
    half-empty arenas. Measured on a replica after one session visited every page and checked
    an exercise on each (`python -m bench --only memory`): server RSS 457 MB with glibc's
    default, 405 MB with 2 arenas. Applied with `mallopt(M_ARENA_MAX)` before any thread starts
    (what glibc does with the variable at start-up) and exported for children; it used to
    re-execute the process with the variable set, which cost every launch ~0.09 s."""
    if environ.get(ARENA_ENV) or not sys.platform.startswith("linux"):
        return False
    try:
        applied = bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, int(ARENAS)))
    except (OSError, AttributeError):  # not glibc (musl): nothing to set
        return False
    if applied:
        environ[ARENA_ENV] = ARENAS
    return applied


def main(argv: list[str] | None = None) -> None:
    limit_malloc_arenas()  # first: nothing else has started yet
    from sortlist_app.server import warm_start

    warm_start.start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
