"""The Adversarial page's search section: budget and seed, the search with a progress bar, and
its result (kept in the session for this model) with buttons that load lists into the editor."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sortlist_app.lessons import adversarial as lesson
from sortlist_core import figures
from sortlist_core.adversarial import search_adversarial
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.data import format_list
from sortlist_core.list_text import MAX_EDITOR_LISTS

from . import adversarial_editor as editor
from . import cache, prose
from .downloads import show_figure, show_table

BUDGET, SEARCH_SEED, SEARCH_RESULT = "adv.search_budget", "adv.search_seed", "adv.search_result"
BUDGETS = (2_048, 8_192, 32_768)  # search sizes offered
DEFAULT_BUDGET = 8_192  # preselected: the middle size


def search_section(model: LoadedModel) -> None:
    left, mid, right = st.columns([1, 1, 2])
    budget = left.selectbox(
        "Candidates to score",
        BUDGETS,
        index=BUDGETS.index(DEFAULT_BUDGET),
        format_func=lambda n: f"{n:,}",
        key=BUDGET,
    )
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
        prose.render(lesson.SEARCH_RESULT_PROSE, lesson.search_result_facts(result))
        st.caption(f"Search: {s_budget:,} candidates, seed {s_seed}.")
        if result.examples:
            top = result.examples[:MAX_EDITOR_LISTS]
            st.button(
                f"⬆ Load the top {len(top)} into the editor",
                on_click=editor.set_lists,
                args=([tuple(e.unsorted) for e in top],),
                key="adv.load_all",
            )
            for i, ex in enumerate(top):
                c1, c2, c3 = st.columns([5, 3, 1])
                c1.markdown(f"`{format_list(ex.unsorted)}`")
                c2.caption(lesson.example_caption(ex.wrong_positions, ex.margin, ex.family, len(ex.target)))
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
        scored, wrong = result.scored_by_family, result.wrong_by_family
        fig = cache.figure(figures.search_family_bar, scored, wrong)
        show_figure(
            fig,
            "search by source",
            data=result.to_dict(),
        )
