"""Attention: circuitsvis views of both heads, the write-up's observations measured on the
evaluation set, and head ablation."""

import numpy as np
import streamlit as st

from sortlist_app import findings, prose, route_through_entrypoint, state, url_state
from sortlist_app.attention_view import render_attention
from sortlist_app.downloads import show_figure, show_table
from sortlist_app.exercises import Answer, Exercise, render_exercise
from sortlist_app.grading import grade_head_choice, grade_top_attended
from sortlist_app.query import DATASET_SIZE, MAX_INDICES, MAX_LISTS, QueryState
from sortlist_app.tables import attention_long_frame, attention_table, token_labels
from sortlist_core import figures
from sortlist_core.data import InvalidListError, format_list, parse_unsorted_list

PAGE = "attention"
IDX, LISTS, HEAD, POS = "attention.idx", "attention.lists", "attention.head", "attention.pos"

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/_entrypoint.py
st.title("👀 Attention patterns")
model = state.require_model()
cfg = model.config
names = cfg.head_names
L = cfg.list_len
default_pos = L + 1  # the first sorted token: the write-up's "4 attends more to 7 than to 5"

url_state.bind(
    PAGE,
    model,
    lambda s: {
        IDX: list(s.indices),
        LISTS: "\n".join(format_list(x) for x in s.lists),
        HEAD: s.head,
        POS: s.pos if s.pos is not None and L <= s.pos < 2 * L else default_pos,
    },
)
prose.render("attention_intro")

# --------------------------------------------------------------------------- choose sequences
left, right = st.columns(2)
indices = left.multiselect(
    f"Lists from the evaluation set (seed {state.EVAL_SEED})",
    range(DATASET_SIZE),
    key=IDX,
    max_selections=MAX_INDICES,
    format_func=lambda i: f"#{i}",
)
text = right.text_area(
    f"…or your own lists, one per line ({L} distinct values in 0..{cfg.max_value})",
    key=LISTS,
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
lists = state.dataset_lists(model, state.EVAL_SEED, tuple(indices)) + tuple(own)
labels = [f"evaluation list #{i}" for i in indices] + [f"your list {n + 1}" for n in range(len(own))]

c1, c2 = st.columns(2)
head = c1.radio(
    "Head (for the table and the first exercise)",
    range(cfg.n_heads),
    key=HEAD,
    format_func=lambda h: f"head {names[h]}",
    horizontal=True,
)
focus_tokens = [*lists[0], cfg.sep_token, *sorted(lists[0])] if lists else []
pos = c2.selectbox(
    "Destination position",
    range(L, 2 * L),
    key=POS,
    format_func=lambda p: (
        f"position {p} (token {token_labels(focus_tokens, cfg.sep_token)[p]})"
        if focus_tokens
        else f"position {p}"
    ),
)
url_state.publish(
    PAGE,
    model,
    QueryState(lists=tuple(own), indices=tuple(indices), head=head, pos=None if pos == default_pos else pos),
)

# --------------------------------------------------------------------------- views
if not lists:
    st.info("Choose at least one list above to see its attention patterns.")
else:
    patterns = state.attention(model, lists)
    all_tokens = [[*x, cfg.sep_token, *sorted(x)] for x in lists]
    columns = st.columns(2)
    for n, (label, toks, pattern) in enumerate(zip(labels, all_tokens, patterns)):
        with columns[n % 2]:
            strs = token_labels(toks, cfg.sep_token)
            st.markdown(f"**{label}**: `{' '.join(strs)}`")
            render_attention(strs, pattern, names, f"Attention of both heads for {label}", key=str(n))
    # the exercise first: the table below answers it
    expected = state.top_attended(model, lists[0], pos, head)
    focus_labels = token_labels(focus_tokens, cfg.sep_token)
    render_exercise(
        Exercise(
            id="attention.top_attended",
            title="Follow one position's attention",
            question=f"In {labels[0]} (`{' '.join(focus_labels)}`), which **position** does position "
            f"{pos} (token `{focus_labels[pos]}`) attend to most in head {names[head]}? "
            "Change the head and the destination position above for a new question.",
            answer=Answer.number(0, cfg.n_ctx - 1, "Source position"),
            grade=lambda answer: grade_top_attended(answer, expected, pos),
            hints=(
                f"In the view of {labels[0]}, click head {names[head]} and find row {pos} "
                "(destination tokens are rows, sources are columns).",
                f"The write-up predicts it attends to the next larger value, {focus_labels[pos + 1]}, "
                "which sits somewhere in the unsorted half — but check: it is not always so.",
            ),
            solution=f"Position **{expected}** (token `{focus_labels[expected]}`, weight "
            f"{patterns[0][head, pos, expected]:.3f}). The next larger value is "
            f"`{focus_labels[pos + 1]}`.",
            difficulty=2,
            importance=3,
            context=f"{lists[0]}:{pos}:{head}",
        ),
        model,
    )
    with st.expander(f"What each prediction position attends to most: {labels[0]} (answers the exercise)"):
        table = attention_table(patterns[0], all_tokens[0], L, names, cfg.sep_token)
        st.dataframe(table, width="stretch")
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
claims = state.claims(model)
eval_lists = state.eval_lists(model)
eval_preds = state.predictions(model, eval_lists)
eval_toks = np.array([[*x, cfg.sep_token, *sorted(x)] for x in eval_lists])
correct = np.array([[t == p for t, p in zip(pr.targets, pr.predicted)] for pr in eval_preds])
resp = state.responsibility(model)
prose.render(
    "attention_observations",
    findings.attention_facts(claims, names)
    | findings.responsibility_facts(resp, names)
    | findings.attention_miss_facts(state.attention(model, eval_lists), eval_toks, correct, L),
)
show_figure(figures.attention_claims_bar(claims, names), "attention claims", data=claims.to_dict())

st.header("Head ablation")
ablation = state.ablation(model)
show_figure(figures.ablation_bar(ablation, names), "head ablation", data=ablation.to_dict())
# the exercise comes before the written conclusion, which gives its answer away
render_exercise(
    Exercise(
        id="attention.important_head",
        title="Which head matters more?",
        question="Mean-ablate each head in turn on the evaluation set. Ablating which head "
        "increases the loss the most?",
        answer=Answer.select(range(cfg.n_heads), lambda h: f"head {names[h]}", "Head"),
        grade=lambda answer: grade_head_choice(
            answer, ablation.most_important_head, names, "Compare the mean-ablation bars in the chart above."
        ),
        hints=(
            "A head the model relies on more costs more loss when its output is replaced by its average.",
            "Read the blue (mean ablation) bars of the head ablation chart.",
        ),
        solution=f"Head **{names[ablation.most_important_head]}**: "
        + findings.ablation_facts(ablation, names)["mean_ablation_per_head"]
        + " (loss increase when mean-ablated).",
        difficulty=1,
        importance=4,
    ),
    model,
)
prose.render(
    "attention_ablation",
    findings.ablation_facts(ablation, names)
    | {"ablation_copying": findings.ablation_copying_sentence(ablation, resp, names)},
)
