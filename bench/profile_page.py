"""Where a page's rerun spends its time: pyinstrument inside AppTest's script thread.

    python -m bench.profile_page adversarial            # a warm rerun (caches filled)
    python -m bench.profile_page attention --cleared    # a rerun after clearing every cache
    python -m bench.profile_page problem --first       # the first run in a fresh process
    python -m bench.profile_page model --html out.html

Runs `app.py` switched to the page (as `bench.reruns` does), warms it, then profiles the next
`--runs` reruns and prints the call tree of the slowest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .common import MODEL_PATH_ENV, ROOT, resolve_model


def profile_reruns(
    page_path: str, runs: int = 1, cleared: bool = False, interval: float = 0.001, first: bool = False
):
    """[(seconds, pyinstrument Session)] for `runs` profiled reruns of the page."""
    from pyinstrument import Profiler
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import local_script_runner as lsr

    from .reruns import _clear_caches

    sessions = []
    original = lsr.LocalScriptRunner._run_script_thread

    def profiled(self) -> None:  # runs in the script thread, so the profiler samples it
        profiler = Profiler(interval=interval)
        profiler.start()
        try:
            original(self)
        finally:
            profiler.stop()
            sessions.append(profiler.last_session)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(page_path)
    out = []
    if first:  # the first run of a fresh process: imports, model load, every cache filled
        lsr.LocalScriptRunner._run_script_thread = profiled
        runs = 1
    else:
        at.run()
        at.run()
        lsr.LocalScriptRunner._run_script_thread = profiled
    try:
        for _ in range(runs):
            if cleared:
                _clear_caches()
            t0 = time.perf_counter()
            at.run()
            out.append((time.perf_counter() - t0, sessions[-1]))
    finally:
        lsr.LocalScriptRunner._run_script_thread = original
    if len(at.exception):
        print(f"warning: the page raised: {at.exception[0].message}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    from .reruns import pages

    keys = {p.key: p.path for p in pages()}
    parser = argparse.ArgumentParser(prog="python -m bench.profile_page", description=__doc__.splitlines()[0])
    parser.add_argument("page", choices=sorted(keys))
    parser.add_argument(
        "--cleared", action="store_true", help="clear st.cache_data and st.cache_resource first"
    )
    parser.add_argument(
        "--first", action="store_true", help="profile the first run of a fresh process (cold start)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--html", help="write pyinstrument's HTML report here instead of printing text")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    _, _, env = resolve_model()
    if MODEL_PATH_ENV in env:
        os.environ[MODEL_PATH_ENV] = env[MODEL_PATH_ENV]
    results = profile_reruns(keys[args.page], args.runs, args.cleared, first=args.first)
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer

    print("rerun seconds:", ", ".join(f"{s:.3f}" for s, _ in results))
    seconds, session = max(results, key=lambda r: r[0])
    if args.html:
        with open(args.html, "w") as handle:
            handle.write(HTMLRenderer().render(session))
        print(f"wrote {args.html}")
    else:
        print(ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False).render(session))
    return 0


if __name__ == "__main__":
    sys.exit(main())
