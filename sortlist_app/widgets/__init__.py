"""Streamlit widgets shared by the pages: the only app code that imports streamlit besides
`app.py` and `pages/`.

- `session_model`: the session's model (`require_model`, `set_session_model`, the switcher's
  choices, this server's model files); `model_links`: the model in the URL (`fp`, `model`).
- `cache`: results and figures shared by every session, keyed by the function that makes them
  and its arguments: `cache.computed(fn, model, *args)`, `cache.figure(builder, *args)`.
- `analyses`: the few cached analyses that adapt a core function (the evaluation set, token
  lists, compositions: `eval_metrics`, `attention_patterns`, ...).
- `exercise`: the ARENA-style exercise widget (`render_exercise`) and the learner's progress.
- `code_exercise`: the code-exercise widget (`render(exercise, model)`); `code_attempts`: a
  check through the runner, attempts, the code restored from the store.
- `url`: binds a page's widgets to its lesson's `URL_PARAMS`.
- `prose`: shows a lesson's prose template (`lesson.INTRO_PROSE`) filled with its values.
- `downloads`: every figure with a table alternative and CSV/JSON downloads.
- `tables`: DataFrames and HTML derived from analysis results.
- `attention_view`: offline circuitsvis attention views.
- `sidebar`: the shared sidebar (model in use, progress).
- `page`: what every lesson page does first (`start`) and shared inputs (`head_radio`).
- `adversarial_editor`, `adversarial_search`: the Adversarial page's list editor (a fragment)
  and search section; `mystery_input`: the Mystery page's own-list input; `model_sections`,
  `training_form`: the Model page's sections.
"""
