"""`python -m bench.cold_floor [streamlit options]`: the cold-start floor for the benchmark.

A one-line Streamlit app that shows what no version of the first page can skip: the default
model's evaluation (torch imported, the checkpoint loaded, the 500-list evaluation set run
through it). Launched the way `python -m sortlist_app.server.serve` launches the app: that work
starts in a background thread as the process starts, Streamlit boots meanwhile, and the page
waits only for what is left, then shows the accuracy. So `bench/cold_start.py` can say how much
of the app's cold start is this floor and how much is the app's own pages, imports and figures.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

SCRIPT = Path(__file__).with_name("cold_floor_app.py")
_done = threading.Event()
_result: dict[str, object] = {}


def _evaluate() -> None:
    try:
        from sortlist_core import paths, settings
        from sortlist_core.checkpoint import load_checkpoint
        from sortlist_core.data import EVAL_SEED, EVAL_SIZE, SortedListDataset
        from sortlist_core.metrics import evaluate

        override = settings.text(settings.MODEL_PATH)
        path = override or paths.bundled_model_by_key(paths.default_bundled_key()).path
        model = load_checkpoint(path)
        cfg = model.config
        _result["metrics"] = evaluate(
            model, SortedListDataset(EVAL_SIZE, cfg.list_len, cfg.max_value, EVAL_SEED).toks
        )
    except Exception as exc:  # noqa: BLE001 - shown on the page, so the benchmark reports it
        _result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        _done.set()


def start() -> None:
    threading.Thread(target=_evaluate, name="floor-warm-start", daemon=True).start()


def result(timeout_s: float = 120.0) -> dict[str, object]:
    """What the background evaluation produced (waits for it)."""
    if not _done.wait(timeout_s):
        return {"error": f"no evaluation after {timeout_s:.0f} s"}
    return _result


def main() -> None:
    start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(SCRIPT), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    from bench import cold_floor  # the page imports it by that name: one thread, one result

    cold_floor.main()
