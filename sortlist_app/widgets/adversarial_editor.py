"""The Adversarial page's list section: the list editor (presets, generators, free text), the
model's predictions for the lists (`show_multiple` heatmaps) and where the heads look.

The page runs `lists_section` as an `st.fragment`, so editing lists reruns only this section,
not the search and the accuracy maps below it; `bench/interaction.py` times it on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from sortlist_app.lessons import adversarial as facts
from sortlist_app.lessons.adversarial import TEXT
from sortlist_app.lessons.wording import count
from sortlist_core import figures
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.config import ModelConfig
from sortlist_core.data import format_list, sequence_tokens, token_labels
from sortlist_core.list_text import MAX_EDITOR_LISTS, editor_text, parse_editor
from sortlist_core.metrics import predict_lists

from . import analyses, cache, prose
from .attention_view import render_attention
from .downloads import show_figure, show_table
from .tables import attention_long_frame, attention_table, prediction_rows

N_GEN, GEN_SEED = "adv.n_generate", "adv.generate_seed"


def set_lists(lists: Sequence[Sequence[int]]) -> None:
    """Callback: replace the editor's text with `lists`, one per line."""
    st.session_state[TEXT] = editor_text(lists)


def generate(family: str, cfg: ModelConfig) -> None:
    """Callback: fill the editor with generated lists of `family` (count and seed from widgets)."""
    n = int(st.session_state.get(N_GEN, 3))
    set_lists(facts.generated_lists(family, n, cfg, int(st.session_state.get(GEN_SEED, 0))))


def lists_section(
    model: LoadedModel,
    presets: Sequence[facts.Preset],
    default_lists: Sequence[tuple[int, ...]],
    on_edit: Callable[[], None] = lambda: None,
    hidden: Sequence[tuple[int, ...]] = (),
) -> None:
    """Draw the section for `model`; `on_edit()` runs once the lists are parsed (the page
    publishes them to the URL there). For the lists in `hidden` (an exercise asks where they go
    wrong) the table and sentences do not say where; the heatmaps still show it."""
    cfg = model.config
    st.header("Your lists")
    prose.render(
        facts.EDITOR_PROSE,
        {"max_lists": MAX_EDITOR_LISTS, "list_len": cfg.list_len, "max_value": cfg.max_value},
    )

    buttons = st.columns(len(presets) + 3)
    if presets:
        buttons[0].button(
            "Write-up's lists",
            on_click=set_lists,
            args=([lst for p in presets for lst in p.lists],),
            help="Both of the write-up's custom lists.",
            key="adv.preset_all",
        )
    for i, preset in enumerate(presets, start=1):
        buttons[i].button(
            preset.label,
            on_click=set_lists,
            args=(preset.lists,),
            help=preset.why,
            key=f"adv.preset_{preset.key}",
        )
    col = len(presets) + 1 if presets else 0
    buttons[col].button(
        "All high values",
        on_click=generate,
        args=("high", cfg),
        key="adv.gen_high",
        help="Random lists whose values all lie near the top of the range.",
    )
    buttons[col + 1].button(
        "Large gap",
        on_click=generate,
        args=("gap", cfg),
        key="adv.gen_gap",
        help="Random lists with two values far apart and nothing between them.",
    )
    gen_left, gen_right, _ = st.columns([1, 1, 3])
    gen_left.number_input(
        "Lists to generate", min_value=1, max_value=MAX_EDITOR_LISTS, value=3, step=1, key=N_GEN
    )
    gen_right.number_input("Generator seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key=GEN_SEED)

    text = st.text_area(
        f"Lists (one per line, up to {MAX_EDITOR_LISTS})",
        key=TEXT,
        height=220,
        placeholder=editor_text(default_lists[:1]),
    )
    parsed = parse_editor(text, cfg)
    if parsed.errors:
        st.error(
            "**Some lines can't be used** (your text is kept; fix them or delete them):\n\n"
            + "\n".join(f"- {e.sentence()}" for e in parsed.errors)
            + (f"\n\nShowing the {count(len(parsed.lists), 'valid list')}." if parsed.lists else ""),
            icon="⚠️",
        )
    for note in parsed.notes:
        st.info(note, icon="ℹ️")
    lists = parsed.lists
    on_edit()

    # --------------------------------------------------------------------------- predictions
    if not lists:
        st.info("Enter at least one valid list (or press a preset) to see the model's predictions.", icon="✏️")
    else:
        preds = cache.computed(predict_lists, model, lists)
        n_wrong = sum(not p.correct for p in preds)
        st.subheader("What the model predicts")
        prose.render(
            facts.PREDICTIONS_PROSE,
            {"lists_count": count(len(preds), "list"), "n_correct": len(preds) - n_wrong, "n_wrong": n_wrong},
        )
        summary = pd.DataFrame(prediction_rows(preds, hidden)).set_index("list")
        st.dataframe(summary, width="stretch")
        for i, p in enumerate(preds, start=1):
            if not p.correct:
                said = facts.HIDDEN_WHERE if tuple(p.unsorted) in hidden else facts.describe_prediction(p)
                st.markdown(f"**List {i}** `({format_list(p.unsorted)})`: {said}")
        options = list(range(len(preds)))
        default_draw = (
            [i for i in options if not preds[i].correct] + [i for i in options if preds[i].correct]
        )[:4]
        draw = options
        if len(preds) > 4:
            draw = st.multiselect(
                "Lists to draw (up to 4 at a time keeps the page fast)",
                options,
                default=sorted(default_draw),
                format_func=lambda i: f"list {i + 1}",
                max_selections=4,
                key=f"adv.draw.{hash(lists)}",
            )
        if draw:
            chosen = [preds[i] for i in draw]
            fig = cache.figure(figures.multiple_prediction_heatmaps, chosen)
            show_figure(
                fig,
                "predictions for your lists",
                data=[p.to_dict() for p in chosen],
            )

        # ----------------------------------------------------------------------- attention
        st.subheader("Where the heads look")
        st.markdown(
            "The circuitsvis view of both heads for one list (hover a token to see what it attends to). "
            "For a wrong prediction, check the row of the position just before the ✗: does it attend "
            "to the next larger value, or to itself?"
        )
        pick = st.selectbox(
            "List",
            options,
            format_func=lambda i: (
                f"list {i + 1}: ({format_list(lists[i])}){'' if preds[i].correct else ' ✗'}"
            ),
            index=default_draw[0] if default_draw else 0,
            key=f"adv.attention_list.{hash(lists)}",
        )
        patterns = analyses.attention_patterns(model, lists)
        toks = sequence_tokens(lists[pick], cfg.sep_token)
        render_attention(
            token_labels(toks, cfg.sep_token),
            patterns[pick],
            cfg.head_names,
            f"Attention, list {pick + 1}",
            key="adversarial",
        )
        all_toks = [sequence_tokens(lst, cfg.sep_token) for lst in lists]
        show_table(
            f"attention list {pick + 1}",
            attention_table(patterns[pick], toks, cfg.list_len, cfg.head_names, cfg.sep_token),
            data=attention_long_frame(patterns, all_toks, cfg.head_names, cfg.sep_token),
            label="Table: what each prediction position attends to most (data: every attention weight of your lists)",
        )
