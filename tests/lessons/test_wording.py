"""Phrasing shared by the lessons: strict template filling, number formats, shared facts."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from sortlist_app import lessons
from sortlist_app.lessons import wording as prose
from sortlist_app.lessons.wording import responsibility_facts
from sortlist_core.circuits import head_responsibility
from sortlist_core.paths import ASSETS_DIR

NAMES = ["0.0", "0.1"]


def test_every_lesson_template_parses_and_lives_in_its_lesson():
    """Teaching text has one home: each page's prose is its lesson's `*_PROSE` constants (no
    template files). Each parses (a stray `{` would raise only when its page is drawn) and fills
    from values for exactly its placeholders."""
    modules = [
        importlib.import_module(f"sortlist_app.lessons.{m.name}")
        for m in pkgutil.iter_modules(lessons.__path__)
    ]
    templates = {f"{m.__name__}.{n}": getattr(m, n) for m in modules for n in dir(m) if n.endswith("_PROSE")}
    assert len({name.split(".")[2] for name in templates}) == 6  # problem .. mystery, and model
    for name, template in templates.items():
        names = prose.placeholders(template)
        text = prose.fill(template, {k: f"<{k}>" for k in names})
        assert all(f"<{k}>" in text for k in names), name
        assert text.strip() and text.endswith("\n"), name
    assert not (ASSETS_DIR / "prose").exists()


def test_fill_is_strict():
    assert prose.fill("{a} and {{b}}", {"a": 1}) == "1 and {b}"
    with pytest.raises(KeyError, match="a"):
        prose.fill("{a}", {})


def test_phrasing():
    assert prose.join_words(["a", "b", "c"]) == "a, b and c" and prose.join_words([]) == ""
    assert prose.pct(0.98765) == "98.8%" and prose.sig(-0.000412) == "−0.00041" and prose.sig(0) == "0"
    # a rare case is never rounded to "never" or "always"
    assert prose.pct(0.0002) == "<0.1%" and prose.pct(0.9998) == ">99.9%"
    assert prose.pct(0.0) == "0.0%" and prose.pct(1.0) == "100.0%" and prose.pct(0.0005) == "0.1%"
    assert (
        prose.num(0.0000731) == "0.000073"
        and prose.num(-0.00012) == "−0.00012"
        and prose.num(0.12345) == "0.123"
        and prose.num(0.0) == "0.000"
    )
    assert prose.count(1, "position") == "1 position" and prose.count(1200, "list") == "1,200 lists"


@pytest.mark.parametrize(
    "model, minor, major", [("reference_model", "0.0", "0.1"), ("swapped_model", "0.1", "0.0")]
)
def test_responsibility_facts_follow_the_heads(request, model, minor, major):
    facts = responsibility_facts(head_responsibility(request.getfixturevalue(model)), NAMES)
    assert (facts["minor_head"], facts["major_head"], facts["minor_ranges"]) == (minor, major, "28–36")


def test_small_numbers_keep_significant_figures_and_one_minus_sign():
    """The QK solution read "Token 28 (score 0.00)"; "-1.53" stood next to
    "−2.53". One formatter: three significant figures, U+2212 (plotly's d3 minus) everywhere."""
    assert prose.sig_figs(0.0021347) == "0.00213" and prose.sig_figs(0.412) == "0.412"
    assert prose.sig_figs(13.01) == "13.0" and prose.sig_figs(-0.28) == "−0.280" and prose.sig_figs(0) == "0"
    assert prose.signed(0.00089) == "+0.000890" and prose.signed(-1.53) == "−1.53"
    assert prose.round_sig(0.0021347) == 0.00213 and prose.round_sig(-1234.5) == -1230.0
    for text in (prose.num(-1.53), prose.pct(-0.25), prose.sig(-2.53), prose.sig_figs(-2.53)):
        assert "-" not in text and text.startswith(prose.MINUS)
    assert prose.plural(1, "position") == "position" and prose.count(2, "list") == "2 lists"
