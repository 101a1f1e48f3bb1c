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

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


ARENA_ENV = "MALLOC_ARENA_MAX"
ARENAS = "2"


def limit_malloc_arenas(environ: Mapping[str, str] = os.environ) -> None:
    """Restart this process (same pid, `exec`) with `MALLOC_ARENA_MAX=2` unless it is set.

    glibc gives each thread that meets a busy arena a new one, up to 8 per core, and Streamlit
    runs every session's script in its own thread: freed analysis buffers then sit in many
    half-empty arenas. Measured on a replica after one session visited every page and checked
    an exercise on each (`python -m bench --only memory`): server RSS 457 MB with glibc's
    default, 405 MB with 2 arenas. glibc reads the variable when the process starts, hence the
    `exec` (~0.05 s); set it yourself (any value) to choose another limit."""
    if environ.get(ARENA_ENV) or not sys.platform.startswith("linux"):
        return
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**environ, ARENA_ENV: ARENAS})


def main(argv: list[str] | None = None) -> None:
    limit_malloc_arenas()  # first: nothing else has started yet
    from sortlist_app.server import warm_start

    warm_start.start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
