"""Adversarial examples: lists the model sorts wrongly. The learner edits lists (or loads the
write-up's presets / generated families), sees `show_multiple` heatmaps and attention, searches
for failures and reads accuracy maps over structured families."""

from functools import partial

import streamlit as st

from sortlist_app.lessons import adversarial as lesson
from sortlist_app.widgets import adversarial_editor as editor
from sortlist_app.widgets import adversarial_search, code_exercise, page, prose, state, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import is_revealed, render_exercise, revealed_or_locked
from sortlist_app.widgets.tables import accuracy_map_frame
from sortlist_core.exercises import adversarial as exercises

model = page.start("🧨 Adversarial examples", lesson)
cfg = model.config

rates = state.family_rates(model)
prose.render("adversarial_intro")
worst_family = lesson.worst_family_exercise(rates)
render_exercise(worst_family, model)
if revealed_or_locked(model, worst_family):  # the measurement answers it
    with st.expander("The measurement: how often each kind of list goes wrong", expanded=False):
        prose.render("adversarial_families", lesson.family_facts(rates))
        show_figure(
            state.shared_figure(model, "family_failure", lambda: lesson.family_figure(rates)),
            "failure rate by kind of list",
            data=rates.to_dict(),
        )
    prose.render("adversarial_vs_mystery", lesson.family_facts(rates) | {"list_len": cfg.list_len})
    st.page_link("pages/5_mystery.py", label="Mystery page: the prediction made at d", icon="🕵️")
target = state.wrong_position_target(model)
where_wrong = lesson.wrong_position_exercise(target, cfg) if target is not None else None


# --------------------------------------------------------------------------- the editor
@st.fragment  # editing lists reruns only this section, not the search and accuracy maps below
def lists_section() -> None:
    on_edit = lambda: url.publish(lesson.PAGE, model, lesson.URL_PARAMS)  # noqa: E731
    # the exercise's list keeps its "where" to itself until "Where does it go wrong?" is answered
    hidden = () if where_wrong is None or is_revealed(model, where_wrong) else (tuple(target.unsorted),)
    editor.lists_section(
        model, lesson.writeup_presets(cfg), lesson.default_lists(cfg), on_edit=on_edit, hidden=hidden
    )


lists_section()

# --------------------------------------------------------------------------- search
st.header("Search for adversarial examples")
prose.render("adversarial_search")
adversarial_search.search_section(model)
code_exercise.render(exercises.FOOL, model)
code_exercise.render(exercises.SEP_FAILS, model)

# --------------------------------------------------------------------------- accuracy maps
st.header("Accuracy over structured families")
with st.spinner("Scoring lists for the accuracy maps…"):
    maps = state.accuracy_maps(model)
prose.render("adversarial_maps", lesson.maps_facts(maps))
for k, amap in enumerate(maps):
    show_figure(
        state.shared_figure(model, "accuracy_map", partial(lesson.accuracy_map_figure, amap), k),
        f"accuracy map {k + 1}",
        table=accuracy_map_frame(amap),
        data=amap.to_dict(),
    )

# --------------------------------------------------------------------------- exercises
st.header("Exercises")
predict = lambda values: state.predictions(model, (values,))[0]  # noqa: E731
render_exercise(lesson.find_wrong_list_exercise(rates, cfg, predict), model)
if where_wrong is not None:
    render_exercise(where_wrong, model)
    st.button(
        "Load this list into the editor",
        on_click=editor.set_lists,
        args=([tuple(target.unsorted)],),
        key="adv.load_exercise",
    )
else:
    render_exercise(lesson.wrong_position_skipped(), model)
