"""Predict then see: for every quiz on every page, what gives its answer away (its
solution, the sentence that interprets the figure, the number, the marked table) is not on the
page before the learner answers, and is there once they have.

Runs every page on the original checkpoint in AppTest. The quizzes are the ones the page itself
renders (captured from `render_exercise`); the giveaways are the texts the lesson modules write
from the same model's numbers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sortlist_app.lessons import adversarial, attention, mystery
from sortlist_app.lessons.exercise import Exercise
from sortlist_app.lessons.wording import responsibility_facts
from sortlist_app.navigation import PAGES
from sortlist_app.widgets import exercise as exercise_widget
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import family_failure_rates
from sortlist_core.circuit_findings import destination_scores
from sortlist_core.circuits import head_responsibility, qk_scores
from sortlist_core.data import eval_dataset
from sortlist_core.exercises import all_exercises
from sortlist_core.metrics import predict_lists
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, direct_path_experiment, dla_yz

from ..page_helpers import check_exercise, open_page


@pytest.fixture
def rendered(monkeypatch) -> dict[str, Exercise]:
    """Every exercise the pages draw, by id (the last drawn)."""
    seen: dict[str, Exercise] = {}
    original = exercise_widget.render_exercise

    def spy(exercise, model):
        seen[exercise.id] = exercise
        return original(exercise, model)

    monkeypatch.setattr(exercise_widget, "render_exercise", spy)
    return seen


def page_text(at) -> str:
    """Everything the page sent that a learner can read: prose, notes, alerts, table cells,
    expander labels (a closed expander's content is sent too)."""
    parts = [
        str(e.value) for kind in ("markdown", "caption", "info", "success", "warning") for e in at.get(kind)
    ]
    parts += [e.label for e in at.expander]
    for frame in at.dataframe:
        value = frame.value
        parts.append(value.to_string() if isinstance(value, pd.DataFrame) else str(value))
    return flat("\n".join(parts))


def flat(text: str) -> str:
    """Whitespace folded (templates wrap their lines)."""
    return " ".join(text.split())


def some_answer(exercise: Exercise):
    """An answer the widget accepts (right or wrong does not matter: answering reveals)."""
    answer = exercise.answer
    if answer.kind == "select":
        return answer.options[0]
    if answer.kind == "number":
        return answer.min_value if answer.min_value is not None else 0
    return "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"


def gated_giveaways(exercise_id: str, model) -> list[str]:
    """The page's texts, besides the solution, that answer `exercise_id` on `model`."""
    names = model.config.head_names
    toks = eval_dataset(model.config).toks
    if exercise_id == "attention.important_head":
        return [attention.ablation_facts(head_ablation(model, toks), names)["ablation_verdict_cap"]]
    if exercise_id == "attention.top_attended":
        return ["What each prediction position attends to most"]
    if exercise_id in ("circuits.copier_of_token", "circuits.copy_count"):
        # the prose, and the figure that marks each token's stronger copier (its table's expander)
        return [
            responsibility_facts(head_responsibility(model), names)["per_head_copying"],
            "Table: head responsibility",
        ]
    if exercise_id == "circuits.top_source":
        scored = destination_scores(qk_scores(model, 25), 25, head_responsibility(model))
        return [f"highest scores for tokens {', '.join(map(str, scored.top_sources[0][:1]))}"]
    if exercise_id == "adversarial.worst_family":
        return [
            f"The kind that fails most often is **{adversarial.family_facts(family_failure_rates(model))['worst_family']}**"
        ]
    if exercise_id == "adversarial.wrong_position":
        high = [0, *range(40, 49)]
        return [adversarial.describe_prediction(predict_lists(model, [high])[0])]
    if exercise_id == "mystery.direct_path":
        # the verdict, and the experiment's chart (its table's expander names it)
        return [mystery.direct_path_verdict(direct_path_experiment(model)), "Table: direct path ablation"]
    if exercise_id in ("mystery.cross_sign", "mystery.larger_total"):
        lst, xyz = DEFAULT_MYSTERY_LISTS[0]
        return [mystery.case_sentence(dla_yz(model, lst, *xyz), names)]
    return []


# Quizzes answered by one interpretation: it appears once all of them are answered.
TOGETHER = {
    "circuits.copier_of_token": ("circuits.copier_of_token", "circuits.copy_count"),
    "circuits.copy_count": ("circuits.copier_of_token", "circuits.copy_count"),
    "mystery.cross_sign": ("mystery.cross_sign", "mystery.larger_total"),
    "mystery.larger_total": ("mystery.cross_sign", "mystery.larger_total"),
}


CODE_IDS = {ex.id for ex in all_exercises()}
# pages with at least one quiz (Explain it has code exercises only)
QUIZ_PAGES = [p for p in PAGES if set(p.exercises) - CODE_IDS]


@pytest.mark.parametrize("page", QUIZ_PAGES, ids=lambda p: p.key)
def test_no_quiz_is_answered_on_its_page_before_it_is_answered(
    monkeypatch, rendered, reference_path, reference_model, page
):
    at = open_page(monkeypatch, page.path, reference_path)
    quizzes = {i: e for i, e in rendered.items() if i in page.exercises and isinstance(e, Exercise)}
    assert quizzes, f"no quiz drawn on {page.key}"
    giveaways = {
        i: [flat(t) for t in [e.solution] + gated_giveaways(i, reference_model)]
        for i, e in quizzes.items()
        if e.solution
    }
    before = page_text(at)
    for exercise_id, texts in giveaways.items():
        for text in texts:
            assert text not in before, (
                f"{exercise_id}: its answer is on the page before it is answered: {text!r}"
            )
    for exercise_id in quizzes:
        check_exercise(at, exercise_id, some_answer(quizzes[exercise_id]), quizzes[exercise_id].answer.kind)
    after = page_text(at)
    for exercise_id, texts in giveaways.items():
        for text in texts:
            assert text in after, f"{exercise_id}: not shown once answered: {text!r}"


def test_one_quiz_answered_does_not_reveal_what_answers_its_partner(
    monkeypatch, reference_path, reference_model
):
    """The vocabulary split answers both OV questions: it waits for both (and the Attention
    page's observation waits for them too)."""
    at = open_page(monkeypatch, "pages/3_circuits.py", reference_path)
    split = responsibility_facts(head_responsibility(reference_model), reference_model.config.head_names)
    check_exercise(at, "circuits.copier_of_token", 0, "select")
    copying = flat(split["per_head_copying"])
    assert copying not in page_text(at)
    check_exercise(at, "circuits.copy_count", 3, "number")
    assert copying in page_text(at)
    at.switch_page("pages/2_attention.py").run()
    assert copying in page_text(at)


def test_attention_page_holds_the_split_back_until_the_ov_questions(
    monkeypatch, reference_path, reference_model
):
    at = open_page(monkeypatch, "pages/2_attention.py", reference_path)
    split = responsibility_facts(head_responsibility(reference_model), reference_model.config.head_names)
    text = page_text(at)
    assert flat(split["per_head_copying"]) not in text and split["minor_main_range"] not in text
    assert "is a question on the OV/QK page" in text
    # nor does the ablation's conclusion, once its own quiz is answered, give the count away
    at.button(key="exercise.attention.important_head.solution").click().run()
    text = page_text(at)
    assert "copies most of the vocabulary is a question on the OV/QK page" in text
    assert f"({len(head_responsibility(reference_model).copies[1])} of the 51 values)" not in text


def test_show_the_solution_reveals_like_an_answer(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, "pages/5_mystery.py", reference_path)
    verdict = flat(mystery.direct_path_verdict(direct_path_experiment(reference_model)))
    assert verdict not in page_text(at)
    at.button(key="exercise.mystery.direct_path.solution").click().run()
    assert verdict in page_text(at)
