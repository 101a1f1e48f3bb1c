"""The sortlist Streamlit app, besides `app.py` and the page scripts in `pages/`.

- `lessons/`: one module per page (template values, graders, exercises, URL parameters); no
  streamlit, plain functions of `sortlist_core` results.
- `widgets/`: the streamlit building blocks shared by the pages (the session's model and its
  links, the shared cache and the analyses it adapts, quiz widget (`exercise`), the learner's
  progress session (`progress_session`) and key (`learner`), URL binding, prose, downloads,
  tables, attention view, sidebar).
- `navigation`: the pages (`PAGES`), found from each lesson's spec (`LESSON`, `lessons/spec.py`).
- `model_io`: uploads (Model page).
- `server/`: server-process concerns: the launcher (`serve`, `warm_start`), the entry-point guard
  (`entrypoint`), the run gate, the code-check rate limit, the heap freeze, the model cache and
  the training jobs.

Learner progress (the store, its backends and CLI) is the separate top-level package
`sortlist_progress`, which imports neither streamlit nor this package.

Pages compute nothing themselves: analyses run in `sortlist_core`, called through
`widgets.cache` (`cache.computed(core_fn, model, ...)`, which is where torch work happens, and
`cache.figure(builder, ...)`); wording comes from the page's lesson.
"""

import logging

from .server.entrypoint import entrypoint_run, route_through_entrypoint


class _NoRuntimeCacheNotice(logging.Filter):
    """Outside a Streamlit server (benchmarks, scripts, unit tests) every `st.cache_data`
    decoration and call logs "No runtime found, using MemoryCacheStorageManager": the in-memory
    cache is the right one there, and dozens of these lines buried real output. Under a server
    the message cannot occur, so dropping exactly it hides nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No runtime found, using MemoryCacheStorageManager")


logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(_NoRuntimeCacheNotice())

__all__ = ["entrypoint_run", "route_through_entrypoint"]
