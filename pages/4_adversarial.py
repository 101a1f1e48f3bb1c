"""Adversarial examples: lists the model sorts wrongly. The learner edits lists (or loads the
write-up's presets / generated families), sees `show_multiple` heatmaps and attention, searches
for failures and reads accuracy maps over structured families."""

import streamlit as st

from sortlist_app.lessons import adversarial as lesson
from sortlist_app.widgets import adversarial_editor as editor
from sortlist_app.widgets import adversarial_search, analyses, cache, code_exercise, page, prose, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import is_revealed, render_exercise, revealed_or_locked
from sortlist_app.widgets.tables import accuracy_map_frame
from sortlist_core import figures
from sortlist_core.adversarial import family_accuracy_maps, family_failure_rates
from sortlist_core.exercises import adversarial as exercises
from sortlist_core.metrics import predict_lists

model = page.start("🧨 Adversarial examples", lesson)
cfg = model.config

rates = cache.computed(family_failure_rates, model)
prose.render(lesson.INTRO_PROSE)
worst_family = lesson.worst_family_exercise(rates)
render_exercise(worst_family, model)
if revealed_or_locked(model, worst_family):  # the measurement answers it
    with st.expander("The measurement: how often each kind of list goes wrong", expanded=False):
        prose.render(lesson.FAMILIES_PROSE, lesson.family_facts(rates))
        show_figure(
            cache.figure(figures.family_failure_bar, rates, lesson.FAMILY_LABELS),
            "failure rate by kind of list",
            data=rates.to_dict(),
        )
    prose.render(lesson.VS_MYSTERY_PROSE, lesson.family_facts(rates) | {"list_len": cfg.list_len})
    st.page_link("pages/5_mystery.py", label="Mystery page: the prediction made at d", icon="🕵️")
target = analyses.wrong_position_target(model)
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
prose.render(lesson.SEARCH_PROSE)
adversarial_search.search_section(model)
code_exercise.render(exercises.FOOL, model)
code_exercise.render(exercises.SEP_FAILS, model)

# --------------------------------------------------------------------------- accuracy maps
st.header("Accuracy over structured families")
with st.spinner("Scoring lists for the accuracy maps…"):
    maps = cache.computed(family_accuracy_maps, model)
prose.render(lesson.MAPS_PROSE, lesson.maps_facts(maps))
for k, amap in enumerate(maps):
    show_figure(
        cache.figure(figures.accuracy_map, amap),
        f"accuracy map {k + 1}",
        table=accuracy_map_frame(amap),
        data=amap.to_dict(),
    )

# --------------------------------------------------------------------------- exercises
st.header("Exercises")
predict = lambda values: cache.computed(predict_lists, model, (values,))[0]  # noqa: E731
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
