"""OV/QK circuits: what attending to a token writes (OV), which tokens attend to which (QK),
the positional QK circuit, the direct path and which head copies which tokens."""

import streamlit as st

from sortlist_app.lessons import circuits as lesson
from sortlist_app.lessons.wording import responsibility_facts
from sortlist_app.widgets import code_exercise, page, prose, state, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import render_exercise, revealed_or_locked
from sortlist_core import figures
from sortlist_core.circuits import position_labels
from sortlist_core.exercises import circuits as exercises

model = page.start("🔌 OV and QK circuits", lesson)
cfg = model.config
names = cfg.head_names
vocab = figures.vocab_labels(cfg.d_vocab)
prose.render("circuits_intro")

resp = state.responsibility(model)
copying = responsibility_facts(resp, names)

# --------------------------------------------------------------------------- OV
st.header("OV circuit: what each head writes")
ov = state.full_ov(model)
show_figure(
    state.shared_figure(model, "full_ov", lambda: figures.ov_circuit_heatmaps(ov, names), tuple(names)),
    "full OV circuit",
    data={"head_names": names, "vocab": vocab, "full_ov[head][src][pred]": ov},
)
show_figure(
    state.shared_figure(
        model, "responsibility", lambda: figures.head_responsibility_strip(resp, names), tuple(names)
    ),
    "head responsibility",
    data=resp.to_dict() | {"copy_strength[head][token]": resp.copy_strength},
)
# Exercises come right after the figures they are about, before the prose that answers them.
copier, copy_count = lesson.copier_exercise(resp, names), lesson.copy_count_exercise(resp, names)
render_exercise(copier, model)
render_exercise(copy_count, model)
code_exercise.render(exercises.FULL_OV, model)
code_exercise.render(exercises.COPYING_HEAD, model)
if revealed_or_locked(
    model, copier, copy_count, what="both exercises above"
):  # who copies what, and how many
    prose.render("circuits_ov", copying | lesson.ov_facts(ov, resp, names))
    prose.render("circuits_responsibility", copying)

# --------------------------------------------------------------------------- QK
st.header("QK circuit: who attends to whom")
qk = state.full_qk(model)
show_figure(
    state.shared_figure(model, "full_qk", lambda: figures.qk_circuit_heatmaps(qk, names), tuple(names)),
    "full QK circuit",
    data={"head_names": names, "vocab": vocab, "full_qk[head][dest][src]": qk},
)
st.caption(lesson.qk_scale_note(qk))
code_exercise.render(exercises.FULL_QK, model)
prose.render("circuits_qk", lesson.qk_facts(qk, resp))

st.subheader("Attention scores for one destination token")


def pick(value: int) -> None:
    st.session_state[lesson.DEST] = value  # button callback: runs before the slider is created


left, *quick = st.columns([6] + [1] * len(lesson.QUICK_PICKS))
dest = left.slider("Destination token", 0, cfg.max_value, key=lesson.DEST)
for column, value in zip(quick, lesson.QUICK_PICKS):
    if value <= cfg.max_value:
        column.button(
            f"d = {value}",
            key=f"circuits.pick.{value}",
            on_click=pick,
            args=(value,),
            help="One of the write-up's examples",
        )
head = page.head_radio(st, "Head (for the exercise below)", cfg, lesson.HEAD)
url.publish(lesson.PAGE, model, lesson.URL_PARAMS)

scores = state.qk_scores(model, dest)
show_figure(
    state.shared_figure(
        model, "qk_bar", lambda: figures.qk_bar(scores, str(dest), names, vocab), dest, tuple(names)
    ),
    f"QK scores for destination {dest}",
    data={"dest": dest, "head_names": names, "scores[head][src]": scores},
)
st.caption(lesson.qk_scale_note(scores))
top_source = lesson.top_source_exercise(state.full_qk(model), dest, head, names, cfg)
render_exercise(top_source, model)
if revealed_or_locked(model, top_source):  # it names each head's top sources
    prose.render("circuits_qk_bar", lesson.qk_bar_facts(scores, dest, resp, names))

st.subheader("Positional QK circuit")
pos_qk = state.positional_qk(model)
pos_labels = position_labels(cfg.list_len)
show_figure(
    state.shared_figure(
        model,
        "positional_qk",
        lambda: figures.positional_qk_heatmaps(pos_qk, pos_labels, names),
        tuple(pos_labels),
        tuple(names),
    ),
    "positional QK",
    data={"positions": pos_labels, "vocab": vocab, "pos_qk[head][pos][token]": pos_qk},
)
code_exercise.render(exercises.POSITIONAL_QK, model)
prose.render("circuits_positional", lesson.positional_facts(pos_qk, cfg.list_len, names))

st.header("The direct path")
direct = state.direct_path(model)
show_figure(
    state.shared_figure(model, "direct_path", lambda: figures.direct_path_heatmap(direct)),
    "direct path",
    data={"vocab": vocab, "direct[input][pred]": direct},
)
prose.render("circuits_direct", lesson.direct_path_facts(direct))
