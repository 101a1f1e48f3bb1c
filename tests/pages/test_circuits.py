"""The OV/QK circuits page (pages/3_circuits.py) in AppTest: widgets, exercises, prose that
follows the heads, links (good and bad) and tables built only when opened."""

from __future__ import annotations

import numpy as np
import pytest

from sortlist_core.circuits import head_responsibility, qk_scores

from ..page_helpers import assert_ok, check_exercise, joined, open_page, show_solutions

PROBLEM, ATTENTION, CIRCUITS = "pages/1_problem.py", "pages/2_attention.py", "pages/3_circuits.py"


def flat(text: str) -> str:
    """Markdown text with line breaks and runs of spaces collapsed (templates wrap lines)."""
    return " ".join(text.split())


def sidebar_text(at) -> str:
    return joined(at.sidebar.markdown)


def test_circuits_widgets(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    assert at.slider(key="circuits.dest").value == 25
    at.button(key="circuits.pick.40").click().run()
    assert at.slider(key="circuits.dest").value == 40 and at.query_params["dest"] == "40"
    assert "Attention scores for destination token 40" in str([c.proto.spec for c in at.get("plotly_chart")])
    at.button(key="circuits.pick.25").click().run()
    assert at.slider(key="circuits.dest").value == 25 and "dest" not in at.query_params
    at.slider(key="circuits.dest").set_value(31).run()
    at.radio(key="circuits.head").set_value(1).run()
    assert_ok(at)
    assert at.query_params["dest"] == "31" and at.query_params["head"] == "1"


def test_circuits_exercises(monkeypatch, reference_path, reference_model):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    resp = head_responsibility(reference_model)
    minor = int(np.argmin([len(c) for c in resp.copies]))
    run = resp.main_range(minor)
    probe = (run.start + run.end) // 2
    assert f"Who copies token {probe}?" in joined(at.markdown)
    owner = resp.owner[probe]
    assert check_exercise(at, "circuits.copier_of_token", 1 - owner, "select")[0] is False
    assert check_exercise(at, "circuits.copier_of_token", owner, "select")[0] is True
    count = len(resp.copies[minor])
    assert check_exercise(at, "circuits.copy_count", count + 1, "number")[0] is False
    assert check_exercise(at, "circuits.copy_count", count, "number")[0] is True
    scores = qk_scores(reference_model, 25)[0, :51]
    best = int(np.argmax(scores))
    assert check_exercise(at, "circuits.top_source", best - 1, "number")[0] is False
    assert check_exercise(at, "circuits.top_source", best, "number")[0] is True
    assert "OV/QK circuits: 3 of 7" in sidebar_text(at)  # 3 quiz of 3 quiz + 4 code exercises


@pytest.mark.parametrize("model, minor, major", [("reference", "0.0", "0.1"), ("swapped", "0.1", "0.0")])
def test_circuits_prose_follows_the_heads(monkeypatch, reference_path, swapped_path, model, minor, major):
    at = open_page(monkeypatch, CIRCUITS, reference_path if model == "reference" else swapped_path)
    show_solutions(at, "circuits.copier_of_token", "circuits.copy_count")  # predict, then see
    text = flat(joined(at.markdown))
    assert (
        f"Head **{minor}** is the less used head: it is the stronger copier only for tokens **28–36**" in text
    )
    assert f"head **{major}** deals with the other 42 (0–27 and 37–50)" in text
    assert f"head {minor} is the stronger copier of 9 tokens (28–36)" in text


def test_circuits_bad_link_warns_and_uses_defaults(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path, {"dest": "abc", "head": "7"})
    warnings = joined(at.warning)
    assert "`dest=abc`" in warnings and "`head=7`" in warnings
    assert at.slider(key="circuits.dest").value == 25 and at.radio(key="circuits.head").value == 0
    assert "dest" not in at.query_params and "head" not in at.query_params
    at.slider(key="circuits.dest").set_value(30).run()
    assert not at.warning  # the warning is shown once, for the link


def test_circuits_link_reproduces_the_view(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path, {"dest": "40", "head": "1"})
    assert at.slider(key="circuits.dest").value == 40 and at.radio(key="circuits.head").value == 1
    assert "For destination token **40**" in joined(show_solutions(at, "circuits.top_source").markdown)


def test_tables_are_built_when_opened_and_downloads_are_deferred(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path)
    assert not at.dataframe  # every table expander is closed: nothing built or sent
    assert {"dl_csv_full_ov_circuit", "dl_json_full_ov_circuit"} <= {b.key for b in at.get("download_button")}
    at.session_state["table_full_ov_circuit"] = True
    at.run()
    assert_ok(at)
    assert len(at.dataframe) == 1 and at.dataframe[0].value.shape == (2 * 52 * 52, 4)


def test_circuits_repeated_link_keys_use_the_last_value(monkeypatch, reference_path):
    at = open_page(monkeypatch, CIRCUITS, reference_path, {"head": ["0", "1"]})
    assert at.radio(key="circuits.head").value == 1 and not at.warning


def _copy_strength_curves(at) -> list[np.ndarray]:
    import base64
    import json

    def values(y):  # plotly sends arrays as {"dtype", "bdata"} (base64 of the raw values)
        if isinstance(y, dict):
            return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        return np.asarray(y, dtype=float)

    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if "Copy strength per head" in str(spec["layout"].get("title")):
            return [values(trace["y"]) for trace in spec["data"]]
    raise AssertionError("no copy-strength chart before the questions are answered")


def test_copy_strength_curves_follow_the_heads_of_the_loaded_checkpoint(
    monkeypatch, reference_path, swapped_path
):
    """Drawn before the "who copies" questions: with the heads swapped, so are the curves."""
    ref = _copy_strength_curves(open_page(monkeypatch, CIRCUITS, reference_path))
    swapped = _copy_strength_curves(open_page(monkeypatch, CIRCUITS, swapped_path))
    assert len(ref) == 2 and not np.allclose(ref[0], ref[1])
    np.testing.assert_allclose(swapped, ref[::-1], rtol=1e-4, atol=1e-6)
