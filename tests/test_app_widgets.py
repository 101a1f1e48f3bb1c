"""The app's building blocks without Streamlit pages: figure builders and their tables, the
offline circuitsvis view, and the rule that no app code hard-codes the write-up's numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit import config as st_config

from sortlist_app.widgets import attention_view
from sortlist_app.widgets.downloads import csv_bytes, json_bytes, slug
from sortlist_app.widgets.tables import attention_table, tokens_html
from sortlist_core import SortedListDataset, figures
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import AccuracyMap, FamilyRates
from sortlist_core.attention import attention_claims, attention_patterns
from sortlist_core.circuits import (
    direct_path,
    full_ov,
    full_qk,
    head_responsibility,
    position_labels,
    positional_qk,
)
from sortlist_core.metrics import Metrics, evaluate, sequence_predictions
from sortlist_core.mystery import DirectPathExperiment

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["0.0", "0.1"]


@pytest.fixture(scope="module")
def toks():
    return SortedListDataset(500).toks


# --------------------------------------------------------------------------- figures


def test_circuit_figures_are_labelled_and_centred(reference_model):
    ov = figures.ov_circuit_heatmaps(full_ov(reference_model), NAMES)
    qk = figures.qk_circuit_heatmaps(full_qk(reference_model), NAMES)
    for fig, y_title, x_title in (
        (ov, "Source token", "Predicted token"),
        (qk, "Destination token", "Source token"),
    ):
        assert "layer 0" in fig.layout.title.text
        assert [a.text for a in fig.layout.annotations] == [
            f"W<sub>{'OV' if fig is ov else 'QK'}</sub> head {h}" for h in NAMES
        ]
        assert fig.layout.yaxis.title.text == y_title and fig.layout.xaxis.title.text == x_title
        for trace in fig.data:
            assert trace.zmid == 0 and trace.zmin == -trace.zmax  # diverging scale centred on 0
            assert list(trace.x)[-1] == "SEP" and len(trace.x) == 52
    pos = figures.positional_qk_heatmaps(positional_qk(reference_model), position_labels(10), NAMES)
    assert "10 (SEP)" in pos.data[0].y and pos.layout.yaxis.title.text == "Query position"


def test_every_builder_makes_a_table(reference_model, toks):
    preds = sequence_predictions(reference_model, toks[:3])
    figs = [
        figures.prediction_heatmap(preds[0]),
        figures.multiple_prediction_heatmaps(preds),
        figures.per_position_accuracy_bar(evaluate(reference_model, toks)),
        figures.attention_claims_bar(attention_claims(reference_model, toks), NAMES),
        figures.attention_heatmaps(
            attention_patterns(reference_model, toks[:1])[0], [str(t) for t in toks[0].tolist()], NAMES, "t"
        ),
        figures.ablation_bar(head_ablation(reference_model, toks[:50]), NAMES),
        figures.qk_bar(full_qk(reference_model)[:, 25, :], "25", NAMES),
        figures.direct_path_heatmap(direct_path(reference_model)),
        figures.head_responsibility_strip(head_responsibility(reference_model), NAMES),
        figures.copy_strength_chart(head_responsibility(reference_model).copy_strength, NAMES),
        figures.dla_grid(np.arange(16.0).reshape(4, 2, 2) - 8, [f"#{i}" for i in range(4)], "t"),
        figures.offset_profile_chart([-2, -1, 0, 1], np.array([[0.1, -0.2, 1.0, 0.3]]), ["0.0"]),
        figures.direct_path_experiment_bar(DirectPathExperiment(0.9, 0.2, 0.7, 1.0, 0.9, 0.05, 100)),
        figures.family_failure_bar(
            FamilyRates(("random", "clustered"), (0.01, 0.2), 100), {"random": "Random"}
        ),
        figures.search_family_bar({"random": 10, "clustered": 5}, {"clustered": 2}),
        figures.training_curve([10, 20], [2.0, 1.0], [20], [0.9]),
        figures.accuracy_map(
            AccuracyMap(
                "t",
                "y",
                "x",
                ["a", "b", "c"],
                ["1", "2", "3", "4"],
                np.random.default_rng(0).random((3, 4)),
                np.ones((3, 4)),
            )
        ),
    ]
    for fig in figs:
        assert isinstance(fig, go.Figure) and 250 <= fig.layout.height <= 2500
        # the shared template is attached (white plot, no grid) and survives serialisation
        sent = json.loads(fig.to_json())["layout"]["template"]["layout"]
        assert sent["plot_bgcolor"] == "white" and sent["xaxis"]["showgrid"] is False
        frame = figures.figure_frame(fig)
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0
        assert not any("<" in str(c) for c in frame.columns)
        assert csv_bytes(frame) and json.loads(json_bytes(frame))


def test_accuracy_bar_names_the_positions_of_any_list_length():
    """Six positions for lists of 6, SEP first: the labels follow the metrics, not the write-up."""
    metrics = Metrics(0.1, 0.9, 0.95, 0.2, 0.9, 0.5, [0.99, 0.9, 0.8, 0.85, 0.95, 0.97], 100)
    fig = figures.per_position_accuracy_bar(metrics)
    assert list(fig.data[0].x) == ["6 (SEP)", "7", "8", "9", "10", "11"]
    assert "(100 lists)" in fig.layout.title.text


def test_figures_share_a_template_no_figure_can_change(reference_model):
    first = figures.direct_path_heatmap(direct_path(reference_model))
    first.layout.template.layout.plot_bgcolor = "black"  # a caller restyling its own figure
    second = figures.direct_path_heatmap(direct_path(reference_model))
    assert figures.TEMPLATE.layout.plot_bgcolor == "white"
    assert second.layout.template.layout.plot_bgcolor == "white"


def test_prediction_heatmap_marks_targets_and_wrong_predictions(reference_model):
    pred = sequence_predictions(reference_model, SortedListDataset(1).toks)[0]
    fig = figures.prediction_heatmap(pred)
    text = fig.data[0].text
    for i, target in enumerate(pred.targets):
        assert text[i][target] == figures.TARGET_MARK
    wrong = pred.__class__(
        **{**pred.__dict__, "predicted": [pred.targets[0] + 1, *pred.predicted[1:]], "wrong": [0]}
    )
    assert figures.prediction_heatmap(wrong).data[0].text[0][pred.targets[0] + 1] == figures.WRONG_MARK


def test_sparse_ticks_keep_sep_without_collisions():
    labels = figures.vocab_labels(52)
    ticks = figures.sparse_ticks(labels)
    assert ticks[0] == "0" and ticks[-1] == "SEP" and "50" not in ticks


def test_matrix_frame_and_downloads():
    frame = figures.matrix_frame(np.eye(2), ["a", "b"], ["x", "y"], "row")
    assert csv_bytes(frame).decode().splitlines()[0] == "row,x,y"
    assert json.loads(json_bytes({"m": np.eye(2)})) == {"m": [[1.0, 0.0], [0.0, 1.0]]}
    assert slug("Full OV (head 0.1)") == "full_ov_head_0_1"


WRITEUP_FIGURES = re.compile(r"0\.920|4\.963|0\.966|0\.981|0\.039|28\s*[–-]\s*3[67]")


def test_no_app_code_hard_codes_the_writeup_figures():
    """Every number the app states comes from the loaded model: no write-up figure anywhere in
    the app's code (every subpackage, e.g. `lessons/` and `widgets/`, where the wording lives)."""
    files = [
        ROOT / "app.py",
        *sorted((ROOT / "pages").rglob("*.py")),
        *sorted((ROOT / "sortlist_app").rglob("*.py")),
    ]
    assert any("lessons" in p.parts for p in files) and any("widgets" in p.parts for p in files)
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group()}"
        for p in files
        for m in WRITEUP_FIGURES.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


# --------------------------------------------------------------------------- attention view


def test_attention_html_is_small_and_self_contained(reference_model):
    toks = SortedListDataset(1).toks
    pattern = attention_patterns(reference_model, toks)[0]
    html = attention_view.attention_html(
        [str(t) for t in toks[0].tolist()], pattern, NAMES, "/app/static/cv.js"
    )
    assert len(html.encode()) <= 10_000
    assert '<script src="/app/static/cv.js"></script>' in html and "http" not in html
    assert html.count("</script>") == 3  # the data never closes a script tag (3: sizing, bundle, render)
    assert "CircuitsVis.render('cv',CircuitsVis.AttentionHeads," in html


def test_attention_view_reports_the_height_of_what_it_drew():
    """`st.iframe(height="content")` measures `documentElement.scrollHeight`, never
    less than the iframe's own height, so the view once grew to 2156 px and stayed there. The view
    posts the height of its drawn content (#cv) on every resize, so the iframe can shrink back."""
    html = attention_view.attention_html(["0", "SEP"], np.zeros((2, 2, 2)), NAMES, "/app/static/cv.js")
    sizing = attention_view.SELF_SIZING_JS
    assert f"<script>{sizing}</script>" in html
    assert html.index('<div id="cv">') < html.index(sizing) < html.index('src="/app/static/cv.js"')
    assert "streamlit:iframe:setSize" in sizing and "getElementById('cv')" in sizing
    assert "ResizeObserver" in sizing and "scrollHeight" not in sizing


def test_compact_json_array_round_trips():
    a = np.array([[0.0, 0.12345, 1.0], [0.5, 0.0004, 0.9996]])
    assert json.loads(attention_view.compact_json_array(a)) == [[0, 0.123, 1], [0.5, 0, 1]]


def test_install_bundle(tmp_path):
    target = attention_view.install_bundle(tmp_path)
    assert target.name == f"circuitsvis-{attention_view.circuitsvis_version()}.js"
    data = target.read_bytes()
    assert data.startswith(b'"use strict";var CircuitsVis=') and b"sourceMappingURL" not in data
    mtime = target.stat().st_mtime_ns
    assert attention_view.install_bundle(tmp_path) == target and target.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temp files left behind


def test_static_url_honours_base_path():
    try:
        st_config.set_option("server.baseUrlPath", "/course/sortlist/")
        assert attention_view.static_url("cv.js") == "/course/sortlist/app/static/cv.js"
    finally:
        st_config.set_option("server.baseUrlPath", "")
    assert attention_view.static_url("cv.js") == "/app/static/cv.js"


def test_static_serving_is_configured():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True


# --------------------------------------------------------------------------- tables


def test_tables(reference_model):
    toks = SortedListDataset(1).toks
    table = attention_table(attention_patterns(reference_model, toks)[0], toks[0].tolist(), 10, NAMES, 51)
    assert list(table.index) == list(range(10, 20)) and table.loc[10, "token"] == "SEP"
    html = tokens_html(["1", "SEP", "2"], 1)
    assert html.count("<td") == 3 and 'font-weight:700;">SEP</td>' in html


def test_no_runtime_cache_notice_is_silenced_outside_a_server():
    """Benchmarks import the app's cached analyses without a server: streamlit's per-decoration
    "No runtime found" warning must not flood their output, and other warnings still show."""
    code = (
        "import logging, sortlist_app.widgets.analyses\n"
        "logging.getLogger('streamlit.runtime.caching.cache_data_api').warning('another warning')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "No runtime found" not in done.stderr and "another warning" in done.stderr
