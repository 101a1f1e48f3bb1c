"""scripts/page_snapshot.py: the before/after check a behaviour-preserving refactor runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("page_snapshot", ROOT / "scripts" / "page_snapshot.py")
page_snapshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page_snapshot)


def _page(text: str, figure: dict | None = None) -> dict:
    elements = [{"type": "markdown", "text": text}]
    if figure is not None:
        elements.append({"type": "plotly_chart", "figure": figure})
    return {"exceptions": [], "elements": elements}


def test_identical_snapshots_compare_equal(capsys) -> None:
    snap = {"lesson/problem": _page("loss 0.04", {"data": [1, 2]})}
    assert page_snapshot.compare(snap, snap) == 0
    assert "0 of 1 pages differ" in capsys.readouterr().out


def test_a_changed_figure_or_missing_page_is_reported(capsys) -> None:
    before = {"lesson/problem": _page("loss 0.04", {"data": [1, 2]}), "lesson/model": _page("m")}
    after = {"lesson/problem": _page("loss 0.04", {"data": [1, 3]})}
    assert page_snapshot.compare(before, after) == 2
    out = capsys.readouterr().out
    assert "before/lesson/problem" in out and "2 of 2 pages differ" in out


def test_learner_keys_are_masked() -> None:
    # two sessions get different random keys; the snapshot must not see that as a difference
    a = page_snapshot.LEARNER_KEY.sub(r"\1<key>", "/?learner=Qe2WnDktiK6Wf4BQmkFuGBZp1dTbxVnG")
    b = page_snapshot.LEARNER_KEY.sub(r"\1<key>", "/?learner=0NvDEecqoTQwi8DYVo9Jxjk0q13Rel6p")
    assert a == b == "/?learner=<key>"
