"""OV/QK circuits: what attending to a token writes (OV), which tokens attend to which (QK),
the positional QK circuit, the direct path and which head copies which tokens."""

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from sortlist_app.lessons import circuits as lesson
from sortlist_app.lessons.wording import responsibility_facts
from sortlist_app.widgets import analyses, cache, code_exercise, page, prose, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import is_revealed, render_exercise, revealed_or_locked
from sortlist_core import circuits, figures
from sortlist_core.circuits import position_labels
from sortlist_core.exercises import circuits as exercises

model = page.start("🔌 OV and QK circuits", lesson)
cfg = model.config
names = cfg.head_names
vocab = figures.vocab_labels(cfg.d_vocab)
prose.render(lesson.INTRO_PROSE)

resp = cache.computed(circuits.head_responsibility, model)
copying = responsibility_facts(resp, names)


def show_circuit(matrix: np.ndarray, builder: Callable[..., Any], name: str, data_key: str) -> None:
    """A [head token token] circuit's heatmaps, with the matrix, head names and vocabulary as data."""
    data = {"head_names": names, "vocab": vocab, data_key: matrix}
    show_figure(cache.figure(builder, matrix, names), name, data=data)


# --------------------------------------------------------------------------- OV
st.header("OV circuit: what each head writes")
ov = cache.computed(circuits.full_ov, model)
show_circuit(ov, figures.ov_circuit_heatmaps, "full OV circuit", "full_ov[head][src][pred]")
# Exercises come right after the figures they are about, before the prose that answers them.
copier, copy_count = lesson.copier_exercise(resp, names), lesson.copy_count_exercise(resp, names)
if all(is_revealed(model, e) for e in (copier, copy_count)):
    show_figure(
        cache.figure(figures.head_responsibility_strip, resp, names),
        "head responsibility",
        data=resp.to_dict() | {"copy_strength[head][token]": resp.copy_strength},
    )
else:  # the strip of winners, and its table, would answer both questions: the curves only
    show_figure(
        cache.figure(figures.copy_strength_chart, resp.copy_strength, names),
        "copy strength",
        data={"head_names": names, "copy_strength[head][token]": resp.copy_strength},
    )
render_exercise(copier, model)
render_exercise(copy_count, model)
code_exercise.render(exercises.FULL_OV, model)
code_exercise.render(exercises.COPYING_HEAD, model)
if revealed_or_locked(
    model, copier, copy_count, what="both exercises above"
):  # who copies what, and how many
    prose.render(lesson.OV_PROSE, copying | lesson.ov_facts(ov, resp, names))
    prose.render(lesson.RESPONSIBILITY_PROSE, copying)

# --------------------------------------------------------------------------- QK
st.header("QK circuit: who attends to whom")
qk = cache.computed(circuits.full_qk, model)
show_circuit(qk, figures.qk_circuit_heatmaps, "full QK circuit", "full_qk[head][dest][src]")
st.caption(lesson.qk_scale_note(qk))
code_exercise.render(exercises.FULL_QK, model)
prose.render(lesson.QK_PROSE, lesson.qk_facts(qk, resp))

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

scores = analyses.qk_scores(model, dest)
show_figure(
    cache.figure(figures.qk_bar, scores, str(dest), names, vocab),
    f"QK scores for destination {dest}",
    data={"dest": dest, "head_names": names, "scores[head][src]": scores},
)
st.caption(lesson.qk_scale_note(scores))
top_source = lesson.top_source_exercise(qk, dest, head, names, cfg)
render_exercise(top_source, model)
if revealed_or_locked(model, top_source):  # it names each head's top sources
    prose.render(lesson.QK_BAR_PROSE, lesson.qk_bar_facts(scores, dest, resp, names))

st.subheader("Positional QK circuit")
pos_qk = cache.computed(circuits.positional_qk, model)
pos_labels = position_labels(cfg.list_len)
show_figure(
    cache.figure(figures.positional_qk_heatmaps, pos_qk, pos_labels, names),
    "positional QK",
    data={"positions": pos_labels, "vocab": vocab, "pos_qk[head][pos][token]": pos_qk},
)
code_exercise.render(exercises.POSITIONAL_QK, model)
prose.render(lesson.POSITIONAL_PROSE, lesson.positional_facts(pos_qk, cfg.list_len, names))

st.header("The direct path")
direct = cache.computed(circuits.direct_path, model)
show_figure(
    cache.figure(figures.direct_path_heatmap, direct),
    "direct path",
    data={"vocab": vocab, "direct[input][pred]": direct},
)
prose.render(lesson.DIRECT_PROSE, lesson.direct_path_facts(direct))
