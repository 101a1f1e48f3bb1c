"""Problem: the sorting task, how the data is built, how well the model does, and a first look
at its predictions (the write-up's `show`)."""

import streamlit as st

from sortlist_app.lessons import problem as lesson
from sortlist_app.lessons.url_params import DATASET_SIZE, MAX_SEED
from sortlist_app.lessons.wording import metrics_facts
from sortlist_app.widgets import analyses, cache, code_exercise, page, prose, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import render_exercise
from sortlist_app.widgets.tables import predictions_frame, tokens_html
from sortlist_core import figures
from sortlist_core.data import (
    EVAL_SEED,
    InvalidListError,
    format_list,
    parse_unsorted_list,
    sequence_tokens,
    token_labels,
)
from sortlist_core.exercises import problem as exercises
from sortlist_core.metrics import predict_lists

model = page.start("🔢 The problem: sorting a list", lesson)
cfg = model.config

example = analyses.dataset(**lesson.EXAMPLE)
prose.render(lesson.TASK_PROSE, lesson.task_facts(cfg, example.toks[0].tolist(), example.str_toks[0]))
prose.render(lesson.DATA_PROSE, lesson.data_facts(cfg))

# --------------------------------------------------------------------------- metrics
st.header("How well does it sort?")
metrics = analyses.eval_metrics(model)
row = st.container(horizontal=True, gap="medium")  # wraps, and no value is clipped to fit a column
for label, value in lesson.metric_tiles(metrics):
    row.metric(label, value, width="content")
prose.render(lesson.METRICS_PROSE, metrics_facts(metrics, EVAL_SEED))
show_figure(
    cache.figure(figures.per_position_accuracy_bar, metrics),
    "per-position accuracy",
    data=metrics.to_dict(),
)
code_exercise.render(exercises.CORRECT_PROBS, model)  # the numbers on the tiles above, from scratch
code_exercise.render(exercises.SUMMARY, model)

# --------------------------------------------------------------------------- explorer
st.header("Explore the dataset")
left, right = st.columns(2)
seed = int(
    left.number_input(
        "Dataset seed",
        min_value=0,
        max_value=MAX_SEED,
        step=1,
        key=lesson.SEED,
        help=f"{EVAL_SEED} is the write-up's evaluation set.",
    )
)
idx = int(right.number_input("List index", min_value=0, max_value=DATASET_SIZE - 1, step=1, key=lesson.IDX))
unsorted = analyses.dataset_lists(model, seed, (idx,))[0]
pred = cache.computed(predict_lists, model, (unsorted,))[0]
st.caption(
    "The sequence: positions (top) over tokens; grey = unsorted half, yellow = `SEP`, blue = sorted half."
)
st.html(tokens_html(token_labels(sequence_tokens(unsorted, cfg.sep_token), cfg.sep_token), cfg.list_len))
prose.render(lesson.SHOW_PROSE)
show_figure(
    cache.figure(figures.prediction_heatmap, pred),
    f"probabilities list {idx} seed {seed}",
    table=predictions_frame(pred.targets, pred.predicted, pred.probs, pred.position_labels),
    data=pred.to_dict(),
)

# --------------------------------------------------------------------------- own list
st.header("Try your own list")
text = st.text_input(
    f"{cfg.list_len} distinct integers from 0 to {cfg.max_value}, separated by commas or spaces",
    key=lesson.OWN,
    placeholder=format_list(range(cfg.list_len, 0, -1)),
)
if text.strip():
    try:
        own = tuple(parse_unsorted_list(text, cfg.list_len, cfg.max_value))
    except InvalidListError as exc:
        st.error(f"That list can't be used: {exc}.", icon="⚠️")
    else:
        own_pred = cache.computed(predict_lists, model, (own,))[0]
        st.markdown(lesson.own_list_sentence(own_pred))
        show_figure(
            cache.figure(figures.prediction_heatmap, own_pred),
            "probabilities own list",
            table=predictions_frame(
                own_pred.targets, own_pred.predicted, own_pred.probs, own_pred.position_labels
            ),
            data=own_pred.to_dict(),
        )
url.publish(lesson.PAGE, model, lesson.URL_PARAMS)

# --------------------------------------------------------------------------- exercises
st.header("Exercises")
render_exercise(lesson.sep_prediction_exercise(pred, unsorted, seed, idx, cfg), model)
render_exercise(lesson.least_accurate_position_exercise(metrics, cfg), model)
