"""Streamlit widgets shared by the pages: the only app code that imports streamlit besides
`app.py` and `pages/`.

- `state`: the cache facade: the session's model (`require_model`, `set_session_model`) and
  every cached analysis (`eval_metrics`, `predictions`, `attention`, ...; add more with
  `model_cached`).
- `exercise`: the ARENA-style exercise widget (`render_exercise`) and the learner's progress.
- `code_exercise`: the code-exercise widget (`render(exercise, model)`); `code_attempts`: a
  check through the runner, attempts, the code restored from the store.
- `url`: binds a page's widgets to its lesson's `URL_PARAMS`.
- `prose`: shows a filled template of `assets/prose/`.
- `downloads`: every figure with a table alternative and CSV/JSON downloads.
- `tables`: DataFrames and HTML derived from analysis results.
- `attention_view`: offline circuitsvis attention views.
- `sidebar`: the shared sidebar (model in use, progress).
- `page`: what every lesson page does first (`start`) and shared inputs (`head_radio`).
- `adversarial_editor`, `adversarial_search`: the Adversarial page's list editor (a fragment)
  and search section; `mystery_input`: the Mystery page's own-list input; `model_sections`: the
  Model page's sections.
"""
