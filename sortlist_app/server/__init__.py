"""What belongs to the server process rather than to a page (no page imports these for layout).

- `serve`: the launcher, `python -m sortlist_app.server.serve` (`streamlit run app.py` with the
  first page's work started at launch by `warm_start`).
- `entrypoint`: routes every run through `app.py`, even when a page URL is opened first.
- `run_gate`: script runs take turns in arrival order; `check_rate`: per-learner code-check limit.
- `heap`: freezes the warmed-up heap once per process.
- `model_cache`: the process-wide cache of loaded models; `training_jobs`: background training
  (admission and the process-wide manager), `training_run`: one run in its thread.
"""
