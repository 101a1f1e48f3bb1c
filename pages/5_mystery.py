"""The [d, d+1, d+2] mystery: why lists with three close values are not adversarial even when d
attends more to d+2. Tests the write-up's explanations on the loaded model: the direct path
(ablation), the OV circuit's off-diagonal (offset profile) and the 2×2 DLA on real lists."""

import numpy as np
import pandas as pd
import streamlit as st

from sortlist_app import mystery_facts as facts
from sortlist_app import page_params, prose, route_through_entrypoint, state
from sortlist_app.downloads import show_figure
from sortlist_app.exercises import Answer, Exercise, render_exercise
from sortlist_core import figures
from sortlist_core import figures as figs
from sortlist_core.data import InvalidListError, format_list, parse_unsorted_list
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS

PAGE = "mystery"
LIST, XYZ, HEAD = "mystery.list", "mystery.xyz", "mystery.head"
AUTO = "auto"

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/_entrypoint.py
st.title("🕵️ The [d, d+1, d+2] mystery")
model = state.require_model()
cfg = model.config
names = cfg.head_names


def _decode_head(text: str, c) -> tuple:
    if text.strip().lower() == AUTO:
        return AUTO, []
    return page_params.int_in(text, 0, c.n_heads - 1, "the head"), []


def _decode_xyz(text: str, c) -> tuple:
    values = [
        page_params.int_in(t, 0, c.max_value, "x, y and z")
        for t in text.replace("_", "-").split("-")
        if t.strip()
    ]
    if len(values) != 3:
        raise ValueError("give three values, e.g. `xyz=14-15-17`")
    return ", ".join(map(str, values)), []


def _encode_xyz(value: str, c) -> str | None:
    items = [t for t in str(value).replace("(", " ").replace(")", " ").replace(",", " ").split() if t]
    return "-".join(items) if len(items) == 3 and all(t.isdigit() for t in items) else None


def _decode_list(text: str, c) -> tuple:
    lists, warnings = page_params.decode_lists_text(text, c, 1)
    if not lists:
        raise ValueError(warnings[0].removesuffix(".") if warnings else "no valid list")
    return format_list(lists[0]), warnings[1:]


def _encode_list(value: str, c) -> str | None:
    try:
        return page_params.encode_list_values([parse_unsorted_list(value, c.list_len, c.max_value)])
    except InvalidListError:
        return None


PARAMS = (
    page_params.Param("lists", LIST, default=lambda c: "", decode=_decode_list, encode=_encode_list),
    page_params.Param("xyz", XYZ, default=lambda c: "", decode=_decode_xyz, encode=_encode_xyz),
    page_params.Param(
        "head",
        HEAD,
        default=lambda c: AUTO,
        decode=_decode_head,
        encode=lambda v, c: None if v == AUTO else str(v),
    ),
)


page_params.bind(PAGE, model, PARAMS)

resp = state.responsibility(model)
experiment = state.direct_path_experiment(model)
dp_facts = facts.direct_path_experiment_facts(experiment)
prose.render("mystery_intro", facts.qk_puzzle_facts(state.full_qk(model), resp, names) | dp_facts)

# --------------------------------------------------------------------------- direct path
st.header("Is it the direct path? (explanation 2)")
direct = state.direct_path(model)
prose.render("mystery_direct", dp_facts | facts.direct_path_heatmap_facts(direct))
# predict first: the table and figures below answer it
render_exercise(
    Exercise(
        id="mystery.direct_path",
        title="Was it the direct path?",
        question="Does removing the direct path `W_E W_U` make lists with d, d+1, d+2 adversarial for this model "
        "(clearly more failures than the control lists without d+2)?",
        answer=Answer.select(("yes", "no"), str.capitalize, "Your verdict"),
        grade=lambda answer: facts.grade_direct_path(answer, experiment),
        hints=(
            "Compare the two rows of the table in the direct-path section, in the 'direct path removed' column.",
        ),
        solution=f"Without the direct path: {dp_facts['dp_cluster_without']} of cluster lists vs "
        f"{dp_facts['dp_control_without']} of control lists are right at d. Removing it {dp_facts['dp_verdict']}.",
        difficulty=2,
        importance=3,
    ),
    model,
)
prose.render("mystery_direct_result", dp_facts)
left, right = st.columns(2)
with left:
    show_figure(
        figs.direct_path_experiment_bar(
            ["with d, d+1, d+2", "control (no d+2)"],
            [experiment.cluster_acc_with, experiment.control_acc_with],
            [experiment.cluster_acc_without, experiment.control_acc_without],
        ),
        "direct path ablation",
        data=experiment.to_dict(),
    )
with right:
    labels = figures.vocab_labels(direct.shape[-1])
    show_figure(
        figures.direct_path_heatmap(direct),
        "direct path W_E W_U",
        table=figures.matrix_frame(direct, labels, labels, "input token"),
        data={"W_E_W_U": np.round(direct, 5).tolist(), "labels": labels},
    )

# --------------------------------------------------------------------------- OV off-diagonal
st.header("The OV circuit's off-diagonal (explanation 3)")
profile = state.offset_profile(model)
prose.render("mystery_ov", facts.ov_profile_facts(profile, names))
rel = profile.relative_owned
show_figure(
    figs.offset_profile_chart(profile.offsets, rel, names),
    "OV offset profile",
    table=pd.DataFrame(
        {"offset": profile.offsets}
        | {f"head {n}: relative": rel[h] for h, n in enumerate(names)}
        | {f"head {n}: raw mean (owned tokens)": profile.mean_owned[h] for h, n in enumerate(names)}
        | {f"head {n}: raw mean (all tokens)": profile.mean_all[h] for h, n in enumerate(names)}
    ).set_index("offset"),
    data=profile.to_dict(),
)

# --------------------------------------------------------------------------- DLA on real lists
st.header("The evidence: direct logit attribution on lists with close values")
cases_in = facts.default_cases(cfg)
writeup = bool(cases_in) and cases_in[0][0] == tuple(DEFAULT_MYSTERY_LISTS[0][0])
st.markdown(
    (
        "The lists below are the write-up's four"
        if writeup
        else "The lists below are built like the write-up's (its own do not fit this model's task)"
    )
    + ": each has three close values *x < y < z*. Add your own list (*y* must come right after *x* in sorted "
    "order) and choose which head to attribute."
)
c1, c2, c3 = st.columns([3, 1.2, 1.5])
list_text = c1.text_input(
    f"Your list ({cfg.list_len} distinct values in 0..{cfg.max_value}; optional)",
    key=LIST,
    placeholder=format_list(cases_in[0][0]) if cases_in else "",
)
xyz_text = c2.text_input(
    "(x, y, z)", key=XYZ, placeholder="e.g. 14, 15, 17", help="Leave empty to use the list's tightest triple."
)
head_choice = c3.selectbox(
    "Head",
    [AUTO, *range(cfg.n_heads)],
    format_func=lambda h: "auto (copier of y)" if h == AUTO else f"head {names[h]}",
    key=HEAD,
)
head_arg = None if head_choice == AUTO else int(head_choice)

custom = None
if list_text.strip():
    try:
        if xyz_text.strip():
            custom = facts.parse_custom(list_text, xyz_text, cfg)
        else:
            values = tuple(parse_unsorted_list(list_text, cfg.list_len, cfg.max_value))
            triple = facts.suggest_xyz(values)
            custom = facts.parse_custom(list_text, ", ".join(map(str, triple)), cfg)
            st.caption(f"Using the list's tightest triple (x, y, z) = {triple}.")
    except InvalidListError as exc:
        st.error(f"Your list can't be used: {exc}. (Your text is kept; fix it to add the list.)", icon="⚠️")
elif xyz_text.strip():
    st.info("Enter a list to go with your (x, y, z).", icon="✏️")
page_params.publish(PAGE, model, PARAMS)

cases = [state.mystery_case(model, lst, xyz, head_arg) for lst, xyz in cases_in]
titles = [facts.case_title(i, c) for i, c in enumerate(cases)]
if custom is not None:
    cases.append(state.mystery_case(model, custom.unsorted, custom.xyz, head_arg))
    titles.append(facts.case_title(len(cases) - 1, cases[-1], custom=True))

# Predict before you look (prediction first, as in ARENA).
first = cases[0] if cases else None
if first is not None:
    render_exercise(
        Exercise(
            id="mystery.cross_sign",
            title="Predict the sign of z→y",
            question=f"Before looking at the heatmaps: in the list `({format_list(first.unsorted)})` with (x, y, z) = "
            f"({first.x}, {first.y}, {first.z}), head {names[first.head]} moves information from source token "
            f"z = {first.z} to destination x = {first.x}. Is its direct logit attribution to the prediction **y = {first.y}** "
            "(the cell z→y) positive or negative?",
            answer=Answer.select(facts.SIGNS, str.capitalize, "Sign of z→y"),
            grade=lambda answer: facts.grade_sign(
                answer, float(first.dla[0][1]), f"z→y for ({first.x}, {first.y}, {first.z})"
            ),
            hints=(
                "Look at the OV offset chart above: what does attending to s do to the logit of s − 1 or s − 2?",
                "Here y is just below z, so the relevant offset is y − z < 0.",
            ),
            solution=facts.case_sentence(first, names),
            difficulty=2,
            importance=5,
            context=f"{first.unsorted}:{first.x}:{first.head}",
        ),
        model,
    )

head_rule = (
    "the one whose OV circuit copies *y* most strongly"
    if head_arg is None
    else f"head {names[head_arg]} (your choice)"
)
prose.render("mystery_dla", {"head_rule": head_rule})
if cases:
    dla = np.stack([c.dla for c in cases])  # [case pred src]
    rows = [facts.case_row(t.replace("<br>", " "), c, names) for t, c in zip(titles, cases)]
    show_figure(
        figs.dla_grid(
            dla,
            [facts.case_panel_title(t) for t in titles],
            "DLA at x from source y/z to prediction y/z, per list (x, y, z)",
        ),
        "DLA y z",
        table=pd.DataFrame(rows).set_index("case"),
        data=[c.to_dict() for c in cases],
    )
    # before the per-list sentences, which give its answer
    last = cases[-1]
    render_exercise(
        Exercise(
            id="mystery.larger_total",
            title="Which prediction wins?",
            question=f"For {titles[-1].replace('<br>', ' ')} (head {names[last.head]}), add up the attributions: is the "
            "**total** DLA larger for prediction y or for prediction z?",
            answer=Answer.select(facts.TOTALS, lambda v: f"prediction {v}", "Larger total"),
            grade=lambda answer: facts.grade_larger_total(answer, last),
            hints=(
                "Total to y = y→y + z→y (the top row of its heatmap); total to z = y→z + z→z (the bottom row).",
            ),
            solution=facts.case_sentence(last, names),
            difficulty=1,
            importance=4,
            context=f"{last.unsorted}:{last.x}:{last.y}:{last.z}:{last.head}",
        ),
        model,
    )
    for t, c in zip(titles, cases):
        st.markdown(f"**{t.replace('<br>', ' ')}.** {facts.case_sentence(c, names)}")
    summary = facts.cases_summary(cases)
    prose.render("mystery_resolution", summary)
    if cfg.n_heads > 1:
        other = []
        for lst_case in cases:
            for h in range(cfg.n_heads):
                if h != lst_case.head:
                    oc = state.mystery_case(
                        model, tuple(lst_case.unsorted), (lst_case.x, lst_case.y, lst_case.z), h
                    )
                    other.append(oc.total_to_y - oc.total_to_z)
        main = [c.total_to_y - c.total_to_z for c in cases]
        st.markdown(
            f"**Is it the less important head? (explanation 1)** The other head(s)' net push towards *y* (total to y − total to z) in these lists "
            f"ranges from {min(other):+.2f} to {max(other):+.2f}, against {min(main):+.2f} to {max(main):+.2f} from the "
            f"attributed head. Pick a head in the selector above to see its own 2×2 attributions."
        )
else:
    st.info("This model's task has no room for a close triple; enter a list of your own.", icon="ℹ️")
