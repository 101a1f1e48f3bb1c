"""Problem: the sorting task, how the data is built, how well the model does, and a first look
at its predictions (the write-up's `show`)."""

import streamlit as st

from sortlist_app import findings, prose, route_through_entrypoint, state, url_state
from sortlist_app.downloads import show_figure
from sortlist_app.exercises import Answer, Exercise, render_exercise
from sortlist_app.grading import grade_least_accurate_position, grade_sep_prediction
from sortlist_app.query import DATASET_SIZE, MAX_SEED, QueryState
from sortlist_app.tables import predictions_frame, token_labels, tokens_html
from sortlist_core import figures
from sortlist_core.circuits import position_labels
from sortlist_core.data import InvalidListError, format_list, parse_unsorted_list

PAGE = "problem"
SEED, IDX, OWN = "problem.seed", "problem.idx", "problem.own_list"
# The write-up's tiny example: SortedListDataset(size=1, list_len=5, max_value=10, seed=42).
EXAMPLE = {"seed": 42, "size": 1, "list_len": 5, "max_value": 10}

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/_entrypoint.py
st.title("🔢 The problem: sorting a list")
model = state.require_model()
cfg = model.config

url_state.bind(
    PAGE,
    model,
    lambda s: {
        SEED: s.seed,
        IDX: s.indices[0] if s.indices else 0,
        OWN: format_list(s.lists[0]) if s.lists else "",
    },
)

example = state.dataset(**EXAMPLE)
example_values = example.toks[0].tolist()
prose.render(
    "problem_task",
    findings.model_facts(cfg)
    | {
        "example_tokens": str(example_values),
        "example_str_tokens": str(example.str_toks[0]),
        "example_len": EXAMPLE["list_len"],
        "example_max": EXAMPLE["max_value"],
        "example_seed": EXAMPLE["seed"],
    },
)
prose.render(
    "problem_data",
    findings.model_facts(cfg)
    | {"last_unsorted": cfg.list_len - 1, "first_sorted": cfg.list_len + 1, "last_position": cfg.n_ctx - 1},
)

# --------------------------------------------------------------------------- metrics
st.header("How well does it sort?")
metrics = state.eval_metrics(model)
row = st.container(horizontal=True, gap="medium")  # wraps, and no value is clipped to fit a column
for label, value in (
    ("Loss (cross-entropy)", prose.num(metrics.loss)),
    ("Mean p(correct)", prose.num(metrics.mean_prob)),
    ("Median p(correct)", prose.num(metrics.median_prob)),
    ("Min p(correct)", prose.num(metrics.min_prob)),
    ("Token accuracy", prose.pct(metrics.accuracy)),
    ("Lists fully sorted", prose.pct(metrics.sequence_accuracy)),
):
    row.metric(label, value, width="content")
prose.render("problem_metrics", findings.metrics_facts(metrics, state.EVAL_SEED))
prediction_positions = position_labels(cfg.list_len)[cfg.list_len : 2 * cfg.list_len]
show_figure(
    figures.per_position_accuracy_bar(metrics.per_position_accuracy, prediction_positions, metrics.n_lists),
    "per-position accuracy",
    data=metrics.to_dict(),
)

# --------------------------------------------------------------------------- explorer
st.header("Explore the dataset")
left, right = st.columns(2)
seed = int(
    left.number_input(
        "Dataset seed",
        min_value=0,
        max_value=MAX_SEED,
        step=1,
        key=SEED,
        help=f"{state.EVAL_SEED} is the write-up's evaluation set.",
    )
)
idx = int(right.number_input("List index", min_value=0, max_value=DATASET_SIZE - 1, step=1, key=IDX))
unsorted = state.dataset_lists(model, seed, (idx,))[0]
pred = state.predictions(model, (unsorted,))[0]
tokens = token_labels([*unsorted, cfg.sep_token, *sorted(unsorted)], cfg.sep_token)
st.caption(
    "The sequence: positions (top) over tokens; grey = unsorted half, yellow = `SEP`, blue = sorted half."
)
st.html(tokens_html(tokens, cfg.list_len))
prose.render("problem_show")
show_figure(
    figures.prediction_heatmap(pred),
    f"probabilities list {idx} seed {seed}",
    table=predictions_frame(pred.targets, pred.predicted, pred.probs, pred.position_labels),
    data=pred.to_dict(),
)

# --------------------------------------------------------------------------- own list
st.header("Try your own list")
text = st.text_input(
    f"{cfg.list_len} distinct integers from 0 to {cfg.max_value}, separated by commas or spaces",
    key=OWN,
    placeholder=format_list(range(cfg.list_len, 0, -1)),
)
own_lists: tuple[tuple[int, ...], ...] = ()
if text.strip():
    try:
        own = tuple(parse_unsorted_list(text, cfg.list_len, cfg.max_value))
    except InvalidListError as exc:
        st.error(f"That list can't be used: {exc}.", icon="⚠️")
    else:
        own_lists = (own,)
        own_pred = state.predictions(model, own_lists)[0]
        verdict = (
            "sorts it correctly"
            if own_pred.correct
            else f"gets {prose.count(len(own_pred.wrong), 'position')} wrong (✗)"
        )
        st.markdown(f"The model {verdict}: it outputs `{format_list(own_pred.predicted)}`.")
        show_figure(
            figures.prediction_heatmap(own_pred),
            "probabilities own list",
            table=predictions_frame(
                own_pred.targets, own_pred.predicted, own_pred.probs, own_pred.position_labels
            ),
            data=own_pred.to_dict(),
        )

url_state.publish(PAGE, model, QueryState(lists=own_lists, indices=(idx,), seed=seed))

# --------------------------------------------------------------------------- exercises
st.header("Exercises")
sep_prob = float(pred.probs[0, pred.predicted[0]])
render_exercise(
    Exercise(
        id="problem.sep_prediction",
        title="What comes out at SEP?",
        question=f"Take list {idx} of the dataset with seed {seed}: `{format_list(unsorted)}`. "
        "Which token does the model predict at the `SEP` position? Reason it out first, then "
        "check the first row of the heatmap.",
        answer=Answer.number(0, cfg.max_value + 1, "Token predicted at SEP"),
        grade=lambda answer: grade_sep_prediction(answer, pred.predicted[0], unsorted),
        hints=(
            "At `SEP` the model starts the sorted list.",
            "The first value of a sorted list is the smallest one.",
        ),
        solution=f"The model predicts **{pred.predicted[0]}** at `SEP`, with probability "
        f"{sep_prob:.3f}. The correct token is the list's smallest value, {min(unsorted)}.",
        difficulty=1,
        importance=2,
        context=f"{seed}:{idx}",
    ),
    model,
)
acc = metrics.per_position_accuracy
worst = [i for i, a in enumerate(acc) if a == min(acc)]
render_exercise(
    Exercise(
        id="problem.least_accurate_position",
        title="Where does it slip?",
        question=f"On the evaluation set ({metrics.n_lists} lists), at which prediction position "
        "is the model least accurate? (Position `SEP` makes the first prediction.)",
        answer=Answer.select(
            range(cfg.list_len), lambda i: f"position {prediction_positions[i]}", "Prediction position"
        ),
        grade=lambda answer: grade_least_accurate_position(answer, acc),
        hints=(
            "The bar chart under the headline metrics shows the accuracy of every prediction position.",
            "Ties count: any position with the lowest accuracy is a right answer.",
        ),
        solution="Lowest accuracy "
        + prose.pct(min(acc), 2)
        + " at "
        + prose.join_words(f"position {prediction_positions[i]}" for i in worst)
        + ". Per position: "
        + ", ".join(f"{prediction_positions[i]}: {prose.pct(a, 2)}" for i, a in enumerate(acc))
        + ".",
        difficulty=1,
        importance=1,
    ),
    model,
)
