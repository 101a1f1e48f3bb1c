"""The Mystery page's own case: the learner's list, optional (x, y, z) and the head to attribute.
Bad input shows an error and the text is kept."""

from __future__ import annotations

import streamlit as st

from sortlist_app.lessons import mystery as lesson
from sortlist_core.config import ModelConfig
from sortlist_core.data import InvalidListError, format_list
from sortlist_core.list_text import CustomInput, custom_input


def case_input(
    cfg: ModelConfig, cases_in: list[tuple[tuple[int, ...], tuple[int, int, int]]]
) -> tuple[CustomInput | None, int | None]:
    """(the learner's list and (x, y, z) when usable, the head to attribute: None = auto)."""
    c1, c2, c3 = st.columns([3, 1.2, 1.5])
    list_text = c1.text_input(
        f"Your list ({cfg.list_len} distinct values in 0..{cfg.max_value}; optional)",
        key=lesson.LIST,
        placeholder=format_list(cases_in[0][0]) if cases_in else "",
    )
    xyz_text = c2.text_input(
        "(x, y, z)",
        key=lesson.XYZ,
        placeholder="e.g. 14, 15, 17",
        help="Leave empty to use the list's tightest triple.",
    )
    head_choice = c3.selectbox(
        "Head",
        [lesson.AUTO, *range(cfg.n_heads)],
        format_func=lambda h: "auto (copier of y)" if h == lesson.AUTO else f"head {cfg.head_names[h]}",
        key=lesson.HEAD,
    )
    head_arg = None if head_choice == lesson.AUTO else int(head_choice)

    custom = None
    if list_text.strip():
        try:
            custom, suggested = custom_input(list_text, xyz_text, cfg)
            if suggested:
                st.caption(lesson.tightest_triple_note(custom.xyz))
        except InvalidListError as exc:
            st.error(
                f"Your list can't be used: {exc}. (Your text is kept; fix it to add the list.)", icon="⚠️"
            )
    elif xyz_text.strip():
        st.info("Enter a list to go with your (x, y, z).", icon="✏️")
    return custom, head_arg
