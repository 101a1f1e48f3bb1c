"""The [d, d+1, d+2] mystery: why lists with three close values are not adversarial even when d
attends more to d+2. Tests the write-up's explanations on the loaded model: the direct path
(ablation), the OV circuit's off-diagonal (offset profile) and the 2×2 DLA on real lists."""

import numpy as np
import pandas as pd
import streamlit as st

from sortlist_app.lessons import mystery as lesson
from sortlist_app.widgets import analyses, cache, code_exercise, mystery_input, page, prose, url
from sortlist_app.widgets.downloads import show_figure
from sortlist_app.widgets.exercise import render_exercise, revealed_or_locked
from sortlist_app.widgets.tables import dla_case_row, offset_profile_frame
from sortlist_core import circuits, figures, mystery
from sortlist_core.exercises import mystery as exercises
from sortlist_core.mystery import default_cases

model = page.start("🕵️ The [d, d+1, d+2] mystery", lesson)
cfg = model.config
names = cfg.head_names

resp = cache.computed(circuits.head_responsibility, model)
experiment = cache.computed(mystery.direct_path_experiment, model)
dp_facts = lesson.direct_path_experiment_facts(experiment)
prose.render(
    lesson.INTRO_PROSE,
    lesson.qk_puzzle_facts(cache.computed(circuits.full_qk, model), resp, names) | dp_facts,
)

# --------------------------------------------------------------------------- direct path
st.header("Is it the direct path? (explanation 2)")
direct = cache.computed(circuits.direct_path, model)
prose.render(lesson.DIRECT_PROSE, dp_facts | lesson.direct_path_heatmap_facts(direct))
direct_path_quiz = lesson.direct_path_exercise(experiment)
render_exercise(direct_path_quiz, model)  # predict first: the results answer it
direct_path_revealed = revealed_or_locked(model, direct_path_quiz)
if direct_path_revealed:
    prose.render(lesson.DIRECT_RESULT_PROSE, dp_facts)
prose.render(lesson.VS_ADVERSARIAL_PROSE, dp_facts | {"list_len": cfg.list_len})
st.page_link(
    "pages/4_adversarial.py", label="Adversarial page: whole lists sorted without a mistake", icon="🧨"
)
left, right = st.columns(2)
with left:
    labels = figures.vocab_labels(direct.shape[-1])
    # the Circuits page's figure: the evidence the question gives
    show_figure(
        cache.figure(figures.direct_path_heatmap, direct),
        "direct path W_E W_U",
        table=figures.matrix_frame(direct, labels, labels, "input token"),
        data={"W_E_W_U": np.round(direct, 5).tolist(), "labels": labels},
    )
with right:
    if direct_path_revealed:  # the experiment's accuracies are the exercise's answer
        show_figure(
            cache.figure(figures.direct_path_experiment_bar, experiment),
            "direct path ablation",
            data=experiment.to_dict(),
        )
code_exercise.render(exercises.DIRECT, model)

# --------------------------------------------------------------------------- OV off-diagonal
st.header("The OV circuit's off-diagonal (explanation 3)")
profile = cache.computed(mystery.ov_offset_profile, model)
prose.render(lesson.OV_PROSE, lesson.ov_profile_facts(profile, names))
show_figure(
    cache.figure(figures.offset_profile_chart, profile.offsets, profile.relative_owned, names),
    "OV offset profile",
    table=offset_profile_frame(profile, names),
    data=profile.to_dict(),
)

# --------------------------------------------------------------------------- DLA on real lists
st.header("The evidence: direct logit attribution on lists with close values")
cases_in = default_cases(cfg.list_len, cfg.max_value)
st.markdown(lesson.dla_intro(cases_in))
custom, head_arg = mystery_input.case_input(cfg, cases_in)
url.publish(lesson.PAGE, model, lesson.URL_PARAMS)

cases = [cache.computed(mystery.dla_yz, model, lst, *xyz, head=head_arg) for lst, xyz in cases_in]
titles = [lesson.case_title(i, c) for i, c in enumerate(cases)]
if custom is not None:
    cases.append(cache.computed(mystery.dla_yz, model, custom.unsorted, *custom.xyz, head=head_arg))
    titles.append(lesson.case_title(len(cases) - 1, cases[-1], custom=True))

model_wide = custom is None and head_arg is None  # a skip then follows from the model alone
if cases:  # predict before you look (prediction first, as in ARENA)
    cross_sign = lesson.cross_sign_exercise(cases, names, model_wide)
    render_exercise(cross_sign, model)
prose.render(lesson.DLA_PROSE, {"head_rule": lesson.head_rule(head_arg, names)})
if cases:
    rows = [dla_case_row(t.replace("<br>", " "), c, names) for t, c in zip(titles, cases)]
    show_figure(
        cache.figure(figures.case_dla_grid, cases, [lesson.case_panel_title(t) for t in titles]),
        "DLA y z",
        table=pd.DataFrame(rows).set_index("case"),
        data=[c.to_dict() for c in cases],
    )
    # before the per-list sentences, which give its answer
    larger_total = lesson.larger_total_exercise(cases[::-1], titles[::-1], names, model_wide)
    render_exercise(larger_total, model)
    code_exercise.render(exercises.DLA, model)
    # the per-list sentences give the sign of z→y and the larger total
    if revealed_or_locked(model, cross_sign, larger_total, what="both exercises above"):
        for t, c in zip(titles, cases):
            st.markdown(f"**{t.replace('<br>', ' ')}.** {lesson.case_sentence(c, names)}")
        prose.render(lesson.RESOLUTION_PROSE, lesson.cases_summary(cases))
    if cfg.n_heads > 1:
        st.markdown(lesson.other_heads_sentence(cases, analyses.other_heads_push(model, cases), names))
else:
    st.info("This model's task has no room for a close triple; enter a list of your own.", icon="ℹ️")
    for skipped in lesson.no_triple_skips(model_wide):
        render_exercise(skipped, model)
