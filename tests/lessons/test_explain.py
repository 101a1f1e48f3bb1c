"""The Explain page's wording and links: every number comes from the measurements, the links
open the Attention and Mystery pages on the right list, query and head, and the figures draw."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sortlist_app.lessons import explain as lesson
from sortlist_app.lessons.url_params import decode_lists
from sortlist_core.circuits import head_responsibility
from sortlist_core.explain.breakdown import prepared_for
from sortlist_core.explain.pair_checks import owners, pair_checks
from sortlist_core.explain.references import reference_results
from sortlist_core.figures import explain as figures


@pytest.fixture(scope="module")
def measured(reference_model):
    return reference_results(prepared_for(reference_model))


def test_summary_states_each_references_measured_fraction(measured):
    text = "\n".join(lesson.honest_summary(measured))
    for ref, res in measured:
        assert f"**{ref.title}** recovers **{lesson.pct(res.card.recovered)}**" in text
    writeup = dict((r.key, res) for r, res in measured)["writeup"]
    if writeup.card.recovered >= 1:
        assert "loses **less** than the model itself" in text
        assert f"{writeup.beyond_next.model_loss:.3f}" in text
    only_uniform = [m for m in measured if m[0].key == "uniform"]
    missing = "\n".join(lesson.honest_summary(only_uniform))
    assert f"misses {lesson.pct(1 - only_uniform[0][1].card.recovered)} of the loss" in missing


def test_break_sentences_quote_the_measurements(measured, reference_model):
    uniform = dict((r.key, res) for r, res in measured)["uniform"]
    text = " ".join(lesson.breaks_sentences(uniform, reference_model.config))
    sep_h, sep_m = uniform.sep_accuracy
    assert f"right {sep_h:.1%} of the time; the model {sep_m:.1%}" in text
    assert "0–50" in text  # uniform attention gets every value wrong on the original


@pytest.mark.parametrize("which", ["reference_model", "swapped_model"])
def test_worst_lists_link_to_their_list_query_and_head(which, request):
    model = request.getfixturevalue(which)
    cfg = model.config
    result = dict((r.key, res) for r, res in reference_results(prepared_for(model)))["uniform"]
    owner = owners(model, None)
    rows = lesson.worst_list_rows(result, cfg, owner, {"fp": model.short_id})
    assert len(rows) == 5
    for row, worst in zip(rows, result.worst_lists):
        query = parse_qs(urlsplit(row["Attention page"]).query)
        assert urlsplit(row["Attention page"]).path == "./attention"
        assert decode_lists(query["lists"][0], cfg)[0] == [tuple(worst.unsorted)]
        assert int(query["pos"][0]) == cfg.list_len + worst.worst_position
        assert int(query["head"][0]) == head_responsibility(model).owner[worst.targets[worst.worst_position]]
        assert query["fp"] == [model.short_id]
        mystery = parse_qs(urlsplit(row["Mystery page"]).query)
        assert decode_lists(mystery["lists"][0], cfg)[0] == [tuple(worst.unsorted)]
    assert len(lesson.worst_list_links(rows)) == 5


def test_figures_draw_the_measurements(measured, reference_model):
    _, res = measured[0]
    bars = figures.loss_bars(res.card)
    assert list(bars.data[0].y) == pytest.approx(
        [res.card.model.loss, res.card.hypothesis.loss, res.card.uniform.loss, res.card.ablated.loss]
    )
    assert len(figures.value_accuracy_lines(*res.value_accuracy).data) == 2
    checks = pair_checks(reference_model)
    heat = figures.pair_check_heatmaps(checks)
    assert len(heat.data) == len(checks)
    assert all(f"{c.fraction:.1%}" in a.text for c, a in zip(checks, heat.layout.annotations))
    sentence = lesson.pair_check_sentence(checks[0])
    assert f"{checks[0].fraction:.1%}" in sentence
