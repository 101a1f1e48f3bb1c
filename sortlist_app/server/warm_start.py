"""The first page's work, started as the server process starts, in the background.

Streamlit runs `app.py` only when a browser connects, so under a plain `streamlit run app.py`
the first learner waits for everything every first session does: the app's imports (torch
alone is about a second), loading the default model, its evaluation, the first page's shared
figures and the progress store's first connection. `python -m sortlist_app.server.serve` calls `start()`
before Streamlit boots: that work then overlaps with Streamlit starting up and the browser
loading the page, and a learner who arrives early waits only for what is left. The results land
in the same shared caches (`st.cache_resource`, whose per-key locks make an early session wait
for the value being computed rather than compute it again).

Two phases, so a session never imports a module while this thread is importing it (two threads
importing a cycle of modules can deadlock): `app.py` first calls `wait_for_imports()`, then
imports what it needs from `sys.modules`. The code worker is not started here: it starts after
the first page has been served (`app.py`), so its own imports (torch and TransformerLens in a
second process) do not compete with the first page for the CPU.
"""

from __future__ import annotations

import logging
import threading
import time

THREAD_NAME = "sortlist-warm-start"
IMPORT_WAIT_S = 60.0  # a session never waits longer than this for the warm-up's imports

log = logging.getLogger(__name__)
_imported = threading.Event()
_done = threading.Event()
_session_arrived = threading.Event()  # a script run has started (it calls `wait_for_imports`)
_thread: threading.Thread | None = None
_lock = threading.Lock()
timings: dict[str, float] = {}  # phase -> seconds since start(), for logs and the benchmark


class _NoContextNotice(logging.Filter):
    """Cached functions called outside a script run warn "missing ScriptRunContext": expected
    in this thread, which has no session by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == THREAD_NAME and "missing ScriptRunContext" in record.getMessage())


def start() -> threading.Thread:
    """Start the warm-up once per process (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            for name in ("streamlit.runtime.scriptrunner_utils.script_run_context",):
                logging.getLogger(name).addFilter(_NoContextNotice())
            _thread = threading.Thread(target=_run, name=THREAD_NAME, daemon=True)
            _thread.start()
        return _thread


def started() -> bool:
    return _thread is not None


def wait_for_imports(timeout_s: float = IMPORT_WAIT_S) -> bool:
    """Block until the warm-up has imported the first page's modules (at once when no warm-up
    was started in this process). Returns whether they are imported."""
    _session_arrived.set()
    if _thread is None:
        return True
    return _imported.wait(timeout_s)


def wait_until_done(timeout_s: float | None = None) -> bool:
    """Block until the whole warm-up has finished (tests and the benchmark)."""
    if _thread is None:
        return True
    return _done.wait(timeout_s)


def _run() -> None:
    t0 = time.perf_counter()
    try:
        _import_first_page()
    except Exception:  # noqa: BLE001 - the session imports them itself and shows what fails
        log.exception("warm start: importing the first page's modules failed")
    finally:
        timings["imports"] = time.perf_counter() - t0
        _imported.set()
    _wait_for_runtime()  # Streamlit has read its configuration (caches and options are its own)
    _streamlit_once_per_process()
    try:
        _compute_first_page()
    except Exception:  # noqa: BLE001 - the first session computes what is missing, and shows why
        log.exception("warm start: computing the first page failed")
    finally:
        timings["done"] = time.perf_counter() - t0
        _done.set()


def _wait_for_runtime(timeout_s: float = 30.0) -> None:
    from streamlit.runtime import Runtime

    deadline = time.monotonic() + timeout_s
    while not Runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _streamlit_once_per_process() -> None:
    """Streamlit's check, at the first element a process draws, that it is not in a REPL:
    `inspect.stack()` resolves the file of every loaded module (with torch loaded, ~0.1 s under
    load in the first session's sidebar). Done here, with the runtime up, it warns of nothing."""
    try:
        from streamlit.delta_generator import _maybe_print_use_warning

        _maybe_print_use_warning()
    except Exception:  # noqa: BLE001 - a Streamlit without it: the first session does its own check
        log.debug("warm start: Streamlit's use warning check is not there", exc_info=True)


def _import_first_page() -> None:
    """What `app.py` and the first page (Problem) import, and the libraries they use at once."""
    import plotly.io  # noqa: F401
    import streamlit  # noqa: F401
    import streamlit.emojis  # noqa: F401 - compiles a regex of every emoji (~0.35 s): page titles, icons

    import sortlist_app.lessons.problem  # noqa: F401
    import sortlist_app.widgets.analyses  # noqa: F401
    import sortlist_app.widgets.attention_view  # noqa: F401
    import sortlist_app.widgets.cache  # noqa: F401
    import sortlist_app.widgets.code_exercise  # noqa: F401
    import sortlist_app.widgets.downloads  # noqa: F401
    import sortlist_app.widgets.exercise  # noqa: F401
    import sortlist_app.widgets.instructor_view  # noqa: F401
    import sortlist_app.widgets.learner  # noqa: F401
    import sortlist_app.widgets.page  # noqa: F401
    import sortlist_app.widgets.progress_session  # noqa: F401
    import sortlist_app.widgets.prose  # noqa: F401
    import sortlist_app.widgets.session_model  # noqa: F401
    import sortlist_app.widgets.sidebar  # noqa: F401
    import sortlist_app.widgets.tables  # noqa: F401
    import sortlist_app.widgets.url  # noqa: F401
    import sortlist_core.figures  # noqa: F401


def _compute_first_page() -> None:
    """The default model, its evaluation, the first page's shared results and figures (the same
    cached calls, with the same arguments, as `pages/1_problem.py` with its default inputs), the progress
    store's connection; then the warmed-up heap is frozen (`sortlist_app/server/heap.py`) unless a
    session is already running: that full collection holds the GIL (0.1–0.3 s), so it is left to
    `app.py`, which runs it just after the run has ended."""
    from sortlist_app.lessons import problem as lesson
    from sortlist_app.widgets import analyses, cache, code_exercise, learner, session_model
    from sortlist_core import figures
    from sortlist_core.data import EVAL_SEED
    from sortlist_core.metrics import predict_lists

    t0 = time.perf_counter()
    loaded = session_model.default_model()
    if loaded.model is None:
        return  # the first session explains why
    model = loaded.model
    metrics = analyses.eval_metrics(model)
    cache.figure(figures.per_position_accuracy_bar, metrics)
    timings["model_and_evaluation"] = time.perf_counter() - t0
    analyses.dataset(**lesson.EXAMPLE)
    unsorted = analyses.dataset_lists(model, EVAL_SEED, (0,))[0]  # the page's default list
    pred = cache.computed(predict_lists, model, (unsorted,))[0]
    cache.figure(figures.prediction_heatmap, pred)
    for exercise in lesson.LESSON.code:
        code_exercise.exercise_params(model, exercise.id)
    try:
        learner.recorder().store.check()  # connects (and migrates) now, not in a learner's run
    except Exception as exc:  # noqa: BLE001 - the page reports an unreachable store itself
        log.warning("warm start: progress store: %s", exc)
    freeze_unless_a_session_runs()


def freeze_unless_a_session_runs() -> bool:
    """Freeze the warmed-up heap now (its full collection here, not at the end of the first
    run), unless a session has arrived: then `app.py` freezes it just after that run ended.
    Returns whether this call froze it."""
    from sortlist_app.server import heap

    return False if _session_arrived.is_set() else heap.freeze_warm_heap()
