"""Streamlit building blocks shared by the pages of the sortlist app.

Pages import from here and from `sortlist_core` only (never torch). Modules:

- `state`: the session's model (`require_model`, `set_session_model`) and every cached analysis
  (`eval_metrics`, `predictions`, `attention`, `full_ov`, ...; add more with `model_cached`).
- `navigation`: the page registry (`PAGES`) with each page's exercise ids.
- `exercises` + `grading`: the ARENA-style exercise widget and its pure graders.
- `query` + `url_state`: view state <-> URL query parameters.
- `attention_view`: offline circuitsvis attention views.
- `prose` + `findings`: markdown templates in `assets/prose/` filled with measured facts.
- `downloads`: every figure with a table alternative and CSV/JSON downloads.
- `tables`: DataFrames derived from analysis results.
- `sidebar`: the shared sidebar (model in use, progress).
- `adversarial_editor` (the Adversarial page's list section, run as a fragment),
  `adversarial_facts`, `mystery_facts`: page-specific parsing, phrasing and graders.
- `model_io` + `training_jobs`: uploads and the one-per-server training job (Model page).
- `page_params`: a page's widgets <-> URL query parameters.
"""

import logging

from ._entrypoint import entrypoint_run, route_through_entrypoint


class _NoRuntimeCacheNotice(logging.Filter):
    """Outside a Streamlit server (benchmarks, scripts, unit tests) every `st.cache_data`
    decoration and call logs "No runtime found, using MemoryCacheStorageManager": the in-memory
    cache is the right one there, and dozens of these lines buried real output. Under a server
    the message cannot occur, so dropping exactly it hides nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No runtime found, using MemoryCacheStorageManager")


logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(_NoRuntimeCacheNotice())

__all__ = ["entrypoint_run", "route_through_entrypoint"]
