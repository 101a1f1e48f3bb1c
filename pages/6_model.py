"""Model: which model this session analyses. The default (bundled) model with its metadata,
uploading a checkpoint, training a new one (one run per server, live progress, cancellable),
and the full report as JSON / Markdown downloads. Works even when the default model is missing."""

import streamlit as st

from sortlist_app import route_through_entrypoint
from sortlist_app.lessons import model as lesson
from sortlist_app.widgets import model_sections, prose, session_model, training_form

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/server/entrypoint.py
st.title("📦 Model")
prose.render(lesson.INTRO_PROSE)

default = session_model.default_model()
model = session_model.current_model(explain=False)
chosen = session_model.chosen_model()

# --------------------------------------------------------------------------- model in use
st.header("The model in use")
model_sections.model_in_use(default, model, chosen)

st.header("The original challenge model")
if session_model.original_in_session():  # already here: nothing to download
    model_sections.original_loaded_note(model)
else:
    model_sections.original_model_button("page")

st.header("Upload a checkpoint")
model_sections.upload_section(chosen)

st.header("Train a new model")
training_form.training_section(chosen)
