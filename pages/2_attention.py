"""Attention: circuitsvis views of both heads, the write-up's observations measured on the
evaluation set, and head ablation."""

import numpy as np
import streamlit as st

from sortlist_app.lessons import attention as lesson
from sortlist_app.lessons.url_params import DATASET_SIZE, MAX_INDICES, MAX_LISTS
from sortlist_app.widgets import analyses, cache, code_exercise, page, prose, url
from sortlist_app.widgets.attention_view import render_attention
from sortlist_app.widgets.downloads import show_figure, show_table
from sortlist_app.widgets.exercise import is_revealed, render_exercise, revealed_or_locked
from sortlist_app.widgets.tables import attention_long_frame, attention_table
from sortlist_core import figures
from sortlist_core.circuits import head_responsibility
from sortlist_core.data import (
    EVAL_SEED,
    InvalidListError,
    format_list,
    parse_unsorted_list,
    sequence_tokens,
    token_labels,
)
from sortlist_core.exercises import attention as exercises

model = page.start("👀 Attention patterns", lesson)
cfg = model.config
names = cfg.head_names
L = cfg.list_len
prose.render(lesson.INTRO_PROSE)

# --------------------------------------------------------------------------- choose sequences
left, right = st.columns(2)
indices = left.multiselect(
    f"Lists from the evaluation set (seed {EVAL_SEED})",
    range(DATASET_SIZE),
    key=lesson.IDX,
    max_selections=MAX_INDICES,
    format_func=lambda i: f"#{i}",
)
text = right.text_area(
    f"…or your own lists, one per line ({L} distinct values in 0..{cfg.max_value})",
    key=lesson.LISTS,
    placeholder=format_list(range(L, 0, -1)),
    height=100,
)
own: list[tuple[int, ...]] = []
for n, line in enumerate(text.splitlines(), start=1):
    if not line.strip():
        continue
    try:
        own.append(tuple(parse_unsorted_list(line, L, cfg.max_value)))
    except InvalidListError as exc:
        right.error(f"Line {n} can't be used: {exc}.", icon="⚠️")
if len(own) > MAX_LISTS:
    right.warning(f"Only the first {MAX_LISTS} of your lists are shown.")
    own = own[:MAX_LISTS]
lists = analyses.dataset_lists(model, EVAL_SEED, tuple(indices)) + tuple(own)
labels = lesson.view_labels(indices, len(own))
all_tokens = [sequence_tokens(x, cfg.sep_token) for x in lists]
focus_labels = token_labels(all_tokens[0], cfg.sep_token) if lists else []

c1, c2 = st.columns(2)
head = page.head_radio(c1, "Head (for the table and the first exercise)", cfg, lesson.HEAD)
pos = c2.selectbox(
    "Destination position",
    range(L, 2 * L),
    key=lesson.POS,
    format_func=lambda p: f"position {p} (token {focus_labels[p]})" if focus_labels else f"position {p}",
)
url.publish(lesson.PAGE, model, lesson.URL_PARAMS)

# --------------------------------------------------------------------------- views
if not lists:
    st.info("Choose at least one list above to see its attention patterns.")
else:
    patterns = analyses.attention_patterns(model, lists)
    columns = st.columns(2)
    for n, (label, toks, pattern) in enumerate(zip(labels, all_tokens, patterns)):
        with columns[n % 2]:
            strs = token_labels(toks, cfg.sep_token)
            st.markdown(f"**{label}**: `{' '.join(strs)}`")
            render_attention(strs, pattern, names, f"Attention of both heads for {label}", key=str(n))
    # circuitsvis's zoomed view labels every other row when short of space: this one labels them all
    asked = lesson.question_position(patterns[0][head], pos, L)
    focus_fig = cache.figure(
        figures.focus_attention_heatmap,
        patterns[0][head],
        focus_labels,
        names[head],
        asked,
        f"Head {names[head]}, {labels[0]}: every position labelled",
    )
    show_figure(
        focus_fig,
        "attention one head",
        data={"pattern[dest][src]": np.round(patterns[0][head], 5)},
        caption=None
        if asked is None
        else f"Row {asked} (outlined) is the position the exercise below asks about.",
    )
    # the exercise first: the table below answers it
    exercise = lesson.top_attended_exercise(
        labels[0], focus_labels, pos, head, patterns[0][head], names, cfg, lists[0]
    )
    render_exercise(exercise, model)
    if revealed_or_locked(model, exercise):  # the table answers the exercise
        with st.expander(f"What each prediction position attends to most: {labels[0]}"):
            st.dataframe(
                attention_table(patterns[0], all_tokens[0], L, names, cfg.sep_token), width="stretch"
            )
    show_table(
        "attention patterns",
        attention_long_frame(patterns, all_tokens, names, cfg.sep_token),
        data={
            "lists": [list(x) for x in lists],
            "head_names": names,
            "pattern[list][head][dest][src]": np.round(patterns, 5),
        },
        label="All attention weights of the lists shown (table and downloads)",
    )

# --------------------------------------------------------------------------- observations
st.header("What the patterns show")
claims = analyses.attention_claims(model)
resp = cache.computed(head_responsibility, model)
misses = analyses.eval_attention_misses(model)
split_shown = all(is_revealed(model, e) for e in lesson.SPLIT_EXERCISES)
prose.render(lesson.OBSERVATIONS_PROSE, lesson.observation_facts(claims, resp, misses, names, split_shown))
claims_fig = cache.figure(figures.attention_claims_bar, claims, names)
show_figure(claims_fig, "attention claims", data=claims.to_dict())
code_exercise.render(exercises.SEP_ATTENDS_MIN, model)

st.header("Head ablation")
ablation = analyses.head_ablation(model)
ablation_fig = cache.figure(figures.ablation_bar, ablation, names)
show_figure(ablation_fig, "head ablation", data=ablation.to_dict())
# the exercise comes before the written conclusion, which gives its answer away
important = lesson.important_head_exercise(ablation, names)
render_exercise(important, model)
code_exercise.render(exercises.MEAN_ABLATION, model)
if revealed_or_locked(model, important):
    prose.render(lesson.ABLATION_PROSE, lesson.ablation_prose_facts(ablation, resp, names, split_shown))
