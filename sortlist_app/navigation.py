"""The app's pages, in order: one registry used by `app.py` (st.navigation), the sidebar's
exercise progress and the tests.

To add a page: write `pages/<n>_<name>.py`, add a `PageSpec` here, and list the ids of the
exercises it renders (`render_exercise` refuses ids not listed, so progress totals stay right).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    key: str  # short name, also the URL path (`/attention`)
    path: str  # script path relative to app.py
    title: str
    icon: str
    # exercise ids rendered on the page, `<key>.<name>`: quiz exercises (lessons/<key>.py), then
    # code exercises (the lesson's CODE_EXERCISES, from sortlist_core/exercises/<key>.py)
    exercises: tuple[str, ...] = ()


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "problem",
        "pages/1_problem.py",
        "Problem",
        "🔢",
        (
            "problem.sep_prediction",
            "problem.least_accurate_position",
            "problem.correct_probs",
            "problem.summary",
        ),
    ),
    PageSpec(
        "attention",
        "pages/2_attention.py",
        "Attention",
        "👀",
        (
            "attention.top_attended",
            "attention.important_head",
            "attention.sep_attends_min",
            "attention.mean_ablation",
        ),
    ),
    PageSpec(
        "circuits",
        "pages/3_circuits.py",
        "OV/QK circuits",
        "🔌",
        ("circuits.copier_of_token", "circuits.copy_count", "circuits.top_source")
        + ("circuits.full_ov", "circuits.full_qk", "circuits.positional_qk", "circuits.copying_head"),
    ),
    PageSpec(
        "adversarial",
        "pages/4_adversarial.py",
        "Adversarial",
        "🧨",
        ("adversarial.find_wrong_list", "adversarial.wrong_position", "adversarial.worst_family")
        + ("adversarial.fool_model", "adversarial.sep_fails"),
    ),
    PageSpec(
        "mystery",
        "pages/5_mystery.py",
        "Mystery",
        "🕵️",
        ("mystery.cross_sign", "mystery.larger_total", "mystery.direct_path")
        + ("mystery.dla_yz", "mystery.direct_path_accuracy"),
    ),
    PageSpec(
        "explain",
        "pages/7_explain.py",
        "Explain it",
        "🧪",
        ("explain.attention_alone", "explain.disagreement"),
    ),
    PageSpec("model", "pages/6_model.py", "Model", "📦"),
)


# The instructor's view (`widgets/instructor_view.py`; its script is outside pages/): registered in
# st.navigation only for a session holding the instructor token; no exercises, not in PAGES.
INSTRUCTOR_PAGE = PageSpec("instructor", "sortlist_app/instructor_page.py", "Instructor", "🧑‍🏫")


def page_of_exercise(exercise_id: str) -> PageSpec | None:
    """The page that declares `exercise_id`."""
    return next((p for p in PAGES if exercise_id in p.exercises), None)
