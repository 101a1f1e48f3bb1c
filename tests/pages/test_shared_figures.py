"""Figures are shared by every session (`cache.figure`): built once per builder and input, and
never served for another input (a widget value, a learner's list) or another model. The cache's
own keying is unit-tested in `tests/test_cache.py`."""

from __future__ import annotations

import functools

import pytest

from sortlist_app.widgets import cache
from sortlist_core import figures
from sortlist_core.figures.problem import list_title

from ..page_helpers import assert_ok, open_page

PROBLEM, CIRCUITS = "pages/1_problem.py", "pages/3_circuits.py"


@pytest.fixture(autouse=True)
def fresh_figures():
    cache.clear_figures()
    yield
    cache.clear_figures()


def counting(monkeypatch, builder: str) -> list[tuple]:
    """Replace `figures.<builder>` (as the pages call it) by a wrapper that records its calls
    (under the builder's own name: the cache keys a figure by its builder)."""
    calls: list[tuple] = []
    real = getattr(figures, builder)

    @functools.wraps(real)
    def build(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(figures, builder, build)
    return calls


def chart_specs(at) -> str:
    return "\n".join(c.proto.spec for c in at.get("plotly_chart"))


def test_circuits_qk_bar_is_shared_per_destination(monkeypatch, reference_path, swapped_path):
    calls = counting(monkeypatch, "qk_bar")
    one = open_page(monkeypatch, CIRCUITS, reference_path)
    assert [c[1] for c in calls] == ["25"]
    two = open_page(monkeypatch, CIRCUITS, reference_path)  # a second session: nothing rebuilt
    assert [c[1] for c in calls] == ["25"] and chart_specs(two) == chart_specs(one)
    two.button(key="circuits.pick.40").click().run()
    assert_ok(two)
    assert [c[1] for c in calls] == ["25", "40"]
    assert "destination token 40" in chart_specs(two) and "destination token 25" not in chart_specs(two)
    assert "destination token 25" in chart_specs(one)  # the first session's figure is unchanged
    one.run()
    assert "destination token 25" in chart_specs(one) and len(calls) == 2
    one.slider(key="circuits.dest").set_value(40).run()
    assert chart_specs(one) == chart_specs(two) and len(calls) == 2  # 40 again: shared
    # another model (its heads swapped): its own figures, never the first model's
    other = open_page(monkeypatch, CIRCUITS, swapped_path)
    assert [c[1] for c in calls] == ["25", "40", "25"]
    assert chart_specs(other) != chart_specs(open_page(monkeypatch, CIRCUITS, reference_path))


def test_problem_own_list_figure_is_keyed_by_the_list(monkeypatch, reference_path):
    calls = counting(monkeypatch, "prediction_heatmap")
    mine, theirs = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10), (40, 41, 42, 43, 44, 45, 46, 47, 48, 49)
    one = open_page(monkeypatch, PROBLEM, reference_path)
    two = open_page(monkeypatch, PROBLEM, reference_path)
    assert len(calls) == 1  # the dataset explorer's list, shared by both sessions
    one.text_input(key="problem.own_list").input(", ".join(map(str, mine))).run()
    two.text_input(key="problem.own_list").input(", ".join(map(str, theirs))).run()
    assert_ok(one)
    assert_ok(two)
    assert len(calls) == 3
    assert list_title(mine) in chart_specs(one) and list_title(theirs) not in chart_specs(one)
    assert list_title(theirs) in chart_specs(two) and list_title(mine) not in chart_specs(two)
    three = open_page(monkeypatch, PROBLEM, reference_path)
    three.text_input(key="problem.own_list").input(", ".join(map(str, theirs))).run()
    assert chart_specs(three) == chart_specs(two) and len(calls) == 3
