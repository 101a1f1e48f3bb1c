"""OV/QK circuits: what attending to a token writes (OV), which tokens attend to which (QK),
the positional QK circuit, the direct path and which head copies which tokens."""

import streamlit as st

from sortlist_app import findings, prose, route_through_entrypoint, state, url_state
from sortlist_app.downloads import show_figure
from sortlist_app.exercises import Answer, Exercise, render_exercise
from sortlist_app.grading import grade_count, grade_head_choice, grade_top_source
from sortlist_app.query import QueryState
from sortlist_core import figures
from sortlist_core.circuit_findings import top_tokens
from sortlist_core.circuits import position_labels

PAGE = "circuits"
HEAD, DEST = "circuits.head", "circuits.dest"
QUICK_PICKS = (25, 40)  # the destination tokens the write-up looks at

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/_entrypoint.py
st.title("🔌 OV and QK circuits")
model = state.require_model()
cfg = model.config
names = cfg.head_names
vocab = figures.vocab_labels(cfg.d_vocab)
n_values = cfg.max_value + 1
default_dest = QUICK_PICKS[0] if QUICK_PICKS[0] < cfg.max_value else cfg.max_value // 2

url_state.bind(PAGE, model, lambda s: {HEAD: s.head, DEST: s.dest if s.dest is not None else default_dest})
prose.render("circuits_intro")

resp = state.responsibility(model)
copying = findings.responsibility_facts(resp, names)

# --------------------------------------------------------------------------- OV
st.header("OV circuit: what each head writes")
ov = state.full_ov(model)
show_figure(
    figures.ov_circuit_heatmaps(ov, names),
    "full OV circuit",
    data={"head_names": names, "vocab": vocab, "full_ov[head][src][pred]": ov},
)
show_figure(
    figures.head_responsibility_strip(resp, names),
    "head responsibility",
    data=resp.to_dict() | {"copy_strength[head][token]": resp.copy_strength},
)
# Exercises come right after the figures they are about, before the prose that answers them.
minor = copying["minor_index"]
main_range = resp.main_range(minor)
# A token in the middle of the less-used head's main range: the interesting case.
probe = (main_range.start + main_range.end) // 2 if main_range else n_values // 2
head_answer = Answer.select(range(cfg.n_heads), lambda h: f"head {names[h]}", "Head")
render_exercise(
    Exercise(
        id="circuits.copier_of_token",
        title=f"Who copies token {probe}?",
        question=f"When a head attends to token **{probe}**, which head pushes up the logit of "
        f"{probe} more, i.e. is the stronger copier of {probe}?",
        answer=head_answer,
        grade=lambda answer: grade_head_choice(
            answer,
            resp.owner[probe],
            names,
            f"Compare the diagonal entry ({probe}, {probe}) of the two OV heatmaps.",
        ),
        hints=(
            "Copying shows up on the diagonal of the full OV circuit: source token t, predicted token t.",
            "The head responsibility strip colours every token by the head with the larger diagonal entry.",
        ),
        solution=f"Head **{names[resp.owner[probe]]}**: its diagonal entry for {probe} is "
        + prose.join_words(
            f"{resp.copy_strength[h, probe]:.2f} in head {names[h]}" for h in range(cfg.n_heads)
        )
        + f". {copying['per_head_copying'][0].upper()}{copying['per_head_copying'][1:]}.",
        difficulty=1,
        importance=4,
    ),
    model,
)
render_exercise(
    Exercise(
        id="circuits.copy_count",
        title="How much does the smaller head do?",
        question=f"For how many of the {n_values} value tokens is head **{names[minor]}** the "
        "stronger copier?",
        answer=Answer.number(0, n_values, "Number of tokens"),
        grade=lambda answer: grade_count(
            answer,
            len(resp.copies[minor]),
            "Count the tokens of its colour in the head responsibility strip.",
        ),
        hints=(
            "Use the head responsibility strip (or its table): each value token is coloured by its stronger copier.",
            f"Head {names[minor]} owns {prose.count(len(resp.ranges_of(minor)), 'run')} of consecutive tokens; add up their lengths.",
        ),
        solution=f"**{len(resp.copies[minor])}** tokens: {copying['minor_ranges']}.",
        difficulty=2,
        importance=3,
    ),
    model,
)

prose.render("circuits_ov", copying | findings.ov_facts(ov, resp, names))
prose.render("circuits_responsibility", copying)

# --------------------------------------------------------------------------- QK
st.header("QK circuit: who attends to whom")
qk = state.full_qk(model)
show_figure(
    figures.qk_circuit_heatmaps(qk, names),
    "full QK circuit",
    data={"head_names": names, "vocab": vocab, "full_qk[head][dest][src]": qk},
)
prose.render("circuits_qk", findings.qk_facts(qk, resp))

st.subheader("Attention scores for one destination token")


def pick(value: int) -> None:
    st.session_state[DEST] = value  # button callback: runs before the slider is created


left, *quick = st.columns([6] + [1] * len(QUICK_PICKS))
dest = left.slider("Destination token", 0, cfg.max_value, key=DEST)
for column, value in zip(quick, QUICK_PICKS):
    if value <= cfg.max_value:
        column.button(
            f"d = {value}",
            key=f"circuits.pick.{value}",
            on_click=pick,
            args=(value,),
            help="One of the write-up's examples",
        )
head = st.radio(
    "Head (for the exercise below)",
    range(cfg.n_heads),
    key=HEAD,
    format_func=lambda h: f"head {names[h]}",
    horizontal=True,
)
url_state.publish(PAGE, model, QueryState(head=head, dest=None if dest == default_dest else dest))

scores = state.qk_scores(model, dest)
show_figure(
    figures.qk_bar(scores, str(dest), names, vocab),
    f"QK scores for destination {dest}",
    data={"dest": dest, "head_names": names, "scores[head][src]": scores},
)
value_scores = scores[head, :n_values]
top = top_tokens(value_scores, 3)
render_exercise(
    Exercise(
        id="circuits.top_source",
        title="Where does a destination token look?",
        question=f"In head **{names[head]}**, which source token gets the highest QK score from "
        f"destination token **{dest}**? (Use the slider and head choice above to change the question.)",
        answer=Answer.number(0, cfg.max_value, "Source token"),
        grade=lambda answer: grade_top_source(answer, value_scores.tolist(), dest),
        hints=(
            f"Look at the bar chart for destination {dest}; only the bars of head {names[head]} count.",
            "The write-up expects a token a bit larger than the destination, but not necessarily the very next value.",
        ),
        solution=f"Token **{top[0]}** (score {value_scores[top[0]]:.2f}); next come "
        + prose.join_words(f"{t} ({value_scores[t]:.2f})" for t in top[1:])
        + ".",
        difficulty=2,
        importance=3,
        context=f"{dest}:{head}",
    ),
    model,
)

prose.render("circuits_qk_bar", findings.qk_bar_facts(scores, dest, resp, names))

st.subheader("Positional QK circuit")
pos_qk = state.positional_qk(model)
pos_labels = position_labels(cfg.list_len)
show_figure(
    figures.positional_qk_heatmaps(pos_qk, pos_labels, names),
    "positional QK",
    data={"positions": pos_labels, "vocab": vocab, "pos_qk[head][pos][token]": pos_qk},
)
prose.render("circuits_positional", findings.positional_facts(pos_qk, cfg.list_len, names))

st.header("The direct path")
direct = state.direct_path(model)
show_figure(
    figures.direct_path_heatmap(direct), "direct path", data={"vocab": vocab, "direct[input][pred]": direct}
)
prose.render("circuits_direct", findings.direct_path_facts(direct))
