"""Adversarial examples: lists the model sorts wrongly. The learner edits lists (or loads the
write-up's presets / generated families), sees `show_multiple` heatmaps and attention, searches
for failures and reads accuracy maps over structured families."""

import pandas as pd
import streamlit as st

from sortlist_app import adversarial_editor as editor
from sortlist_app import adversarial_facts as facts
from sortlist_app import page_params, prose, route_through_entrypoint, state
from sortlist_app.downloads import show_figure, show_table
from sortlist_app.exercises import Answer, Exercise, render_exercise
from sortlist_core import figures
from sortlist_core import figures as figs
from sortlist_core.adversarial import FAMILIES, search_adversarial
from sortlist_core.data import format_list

PAGE = "adversarial"
BUDGET, SEARCH_SEED, SEARCH_RESULT = "adv.search_budget", "adv.search_seed", "adv.search_result"
BUDGETS = (2_048, 8_192, 32_768)

route_through_entrypoint()  # deep links on a fresh server: see sortlist_app/_entrypoint.py
st.title("🧨 Adversarial examples")
model = state.require_model()
cfg = model.config
presets = facts.writeup_presets(cfg)
default_lists = [lst for p in presets for lst in p.lists] or list(facts.generated_lists("high", 2, cfg, 0))

PARAMS = (
    page_params.Param(
        "lists",
        editor.TEXT,
        default=lambda c: facts.editor_text(default_lists),
        decode=lambda text, c: (lambda r: (facts.editor_text(r[0]), r[1]))(
            page_params.decode_lists_text(text, c, facts.MAX_EDITOR_LISTS)
        ),
        encode=lambda value, c: page_params.encode_list_values(facts.parse_editor(value, c).lists) or None,
    ),
)
page_params.bind(PAGE, model, PARAMS)

rates = state.family_rates(model)
prose.render("adversarial_intro")
render_exercise(
    Exercise(
        id="adversarial.worst_family",
        title="Which kind of list is most dangerous?",
        question="Predict before you measure: which kind of list does this model get wrong most often?",
        answer=Answer.select(FAMILIES, lambda f: facts.FAMILY_LABELS[f], "Kind of list"),
        grade=lambda answer: facts.grade_worst_family(answer, rates),
        hints=(
            "The training data are uniformly random subsets. Which structures does it almost never contain?",
            "Compare what SEP needs to find with what the positional QK circuit lets it find.",
        ),
        solution="Measured on this model: "
        + "; ".join(f"{facts.FAMILY_LABELS[f]}: {prose.pct(rates.rate(f))}" for f in rates.families)
        + ".",
        difficulty=2,
        importance=3,
    ),
    model,
)
with st.expander("The measurement: how often each kind of list goes wrong", expanded=False):
    prose.render("adversarial_families", facts.family_facts(rates))
    show_figure(
        figs.family_failure_bar(
            dict(zip(rates.families, rates.wrong)), facts.FAMILY_LABELS, rates.n_per_family
        ),
        "failure rate by kind of list",
        data=rates.to_dict(),
    )


# --------------------------------------------------------------------------- the editor
@st.fragment  # editing lists reruns only this section, not the search and accuracy maps below
def lists_section() -> None:
    editor.lists_section(
        model, presets, default_lists, on_edit=lambda: page_params.publish(PAGE, model, PARAMS)
    )


lists_section()

# --------------------------------------------------------------------------- search
st.header("Search for adversarial examples")
prose.render("adversarial_search")
left, mid, right = st.columns([1, 1, 2])
budget = left.selectbox("Candidates to score", BUDGETS, index=1, format_func=lambda n: f"{n:,}", key=BUDGET)
search_seed = int(
    mid.number_input("Search seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key=SEARCH_SEED)
)
right.write("")
if right.button("🔎 Find adversarial examples", type="primary", key="adv.search"):
    bar = st.progress(0.0, text="Scoring candidates…")
    result = search_adversarial(
        model,
        budget=int(budget),
        seed=search_seed,
        progress=lambda done, total: bar.progress(
            done / total, text=f"Scored {done:,} of {total:,} candidates"
        ),
    )
    bar.empty()
    st.session_state[SEARCH_RESULT] = (model.weights_sha256, int(budget), search_seed, result)

stored = st.session_state.get(SEARCH_RESULT)
if stored is not None and stored[0] == model.weights_sha256:
    _, s_budget, s_seed, result = stored
    sources = {
        f: result.wrong_by_family[f] / result.scored_by_family[f]
        for f in result.scored_by_family
        if result.scored_by_family[f]
    }
    best = max(sources, key=sources.get) if sources else "none"
    prose.render(
        "adversarial_search_result",
        {
            "n_scored": f"{result.n_scored:,}",
            "seconds": f"{result.seconds:.1f}",
            "n_wrong": f"{result.n_wrong:,}",
            "wrong_fraction": prose.pct(result.n_wrong / max(result.n_scored, 1)),
            "best_source": best,
            "best_source_fraction": prose.pct(sources.get(best, 0.0)),
        },
    )
    st.caption(f"Search: {s_budget:,} candidates, seed {s_seed}.")
    if result.examples:
        top = result.examples[: facts.MAX_EDITOR_LISTS]
        st.button(
            f"⬆ Load the top {len(top)} into the editor",
            on_click=editor.set_lists,
            args=([tuple(e.unsorted) for e in top],),
            key="adv.load_all",
        )
        for i, ex in enumerate(top):
            c1, c2, c3 = st.columns([5, 3, 1])
            c1.markdown(f"`{format_list(ex.unsorted)}`")
            c2.caption(
                f"wrong at position(s) {', '.join(map(str, ex.wrong_positions))} · margin {ex.margin:+.2f} · {ex.family}"
            )
            c3.button(
                "Load",
                key=f"adv.load_{i}",
                on_click=editor.set_lists,
                args=([tuple(ex.unsorted)],),
                help="Put this list alone in the editor.",
            )
        show_table(
            "search results",
            pd.DataFrame([e.to_dict() for e in result.examples]),
            data=result.to_dict(),
            label="Table: every example found (data: the whole search result)",
        )
    else:
        st.success(
            "No wrong predictions among the candidates: try a larger budget or another seed.", icon="🛡️"
        )
    show_figure(
        figs.search_family_bar(result.scored_by_family, result.wrong_by_family),
        "search by source",
        data=result.to_dict(),
    )

# --------------------------------------------------------------------------- accuracy maps
st.header("Accuracy over structured families")
with st.spinner("Scoring lists for the accuracy maps…"):
    maps = state.accuracy_maps(model)
prose.render(
    "adversarial_maps", facts.accuracy_map_facts(maps) | {"n_lists": f"{int(maps[0].counts.sum()):,}"}
)
for k, amap in enumerate(maps):
    table = pd.DataFrame(
        [
            {
                amap.row_label: r,
                amap.col_label: c,
                "accuracy": amap.accuracy[i, j],
                "lists": int(amap.counts[i, j]),
            }
            for i, r in enumerate(amap.row_bins)
            for j, c in enumerate(amap.col_bins)
        ]
    )
    show_figure(
        figures.accuracy_map(
            amap.accuracy, amap.col_bins, amap.row_bins, amap.col_label, amap.row_label, amap.title
        ),
        f"accuracy map {k + 1}",
        table=table,
        data=amap.to_dict(),
    )

# --------------------------------------------------------------------------- exercises
st.header("Exercises")
render_exercise(
    Exercise(
        id="adversarial.find_wrong_list",
        title="Break the model",
        question=f"Find a list of {cfg.list_len} distinct values in 0..{cfg.max_value} that the model sorts "
        "**wrongly** (at least one wrong prediction). Type it without using the search.",
        answer=Answer.text(placeholder=format_list(range(cfg.list_len - 1, -1, -1)), label="Your list"),
        grade=lambda answer: facts.grade_adversarial_list(
            answer, cfg, lambda values: state.predictions(model, (values,))[0]
        ),
        hints=(
            "Random lists almost always work. Think about what random subsets of 0..max rarely contain.",
            "Try lists whose values are all near the top of the range, or one small value followed by a run of large ones.",
        ),
        solution="Any list the heatmap marks with a ✗ works. For this model, lists of the kind "
        f"**{facts.family_facts(rates)['worst_family']}** go wrong most often "
        f"({facts.family_facts(rates)['worst_family_wrong']}); the search above finds many more.",
        difficulty=2,
        importance=4,
    ),
    model,
)

candidates = [lst for p in presets for lst in p.lists]
candidates += list(facts.generated_lists("gap", 5, cfg, 0)) + list(facts.generated_lists("high", 5, cfg, 0))
target = facts.pick_exercise_list(state.predictions(model, tuple(candidates)))
if target is None:
    examples = state.quick_search(model).examples
    target = state.predictions(model, (tuple(examples[0].unsorted),))[0] if examples else None
if target is not None:
    source = next((p.label for p in presets if tuple(target.unsorted) in p.lists), None)
    render_exercise(
        Exercise(
            id="adversarial.wrong_position",
            title="Where does it go wrong?",
            question=(f"The write-up's list **{source}**" if source else "This list")
            + f" `({format_list(target.unsorted)})` is sorted wrongly. At which **prediction position** does the model "
            "make a mistake? Position 0 is the prediction made at `SEP` (which should be the smallest value), position 1 "
            "the one made at the smallest value, and so on. Load it into the editor and read the heatmap.",
            answer=Answer.number(0, cfg.list_len - 1, "Prediction position"),
            grade=lambda answer: facts.grade_wrong_position(answer, target),
            hints=(
                "Rows of the heatmap are prediction positions, top row = the prediction made at SEP.",
                "Find the row with a ✗: the model's argmax differs from the ○.",
            ),
            solution=facts.describe_prediction(target),
            difficulty=1,
            importance=3,
            context=format_list(target.unsorted),
        ),
        model,
    )
    st.button(
        "Load this list into the editor",
        on_click=editor.set_lists,
        args=([tuple(target.unsorted)],),
        key="adv.load_exercise",
    )
else:
    st.info(
        "This model sorted every preset and every searched list correctly, so there is no list to ask about.",
        icon="🛡️",
    )
