"""Plotly figure builders for every plot of the write-up (and the app's extra ones), by topic.

Pure functions: they take analysis results (numpy arrays, `SequencePrediction`, `AblationResult`,
...) and return `plotly.graph_objects.Figure`; nothing here imports streamlit or runs the model.
One module per page topic (`problem`, `attention`, `circuits`, `adversarial`, `mystery`,
`training`); `layout` holds what they share and `tables` turns any figure into a table. Callers
use the names re-exported here: `from sortlist_core import figures; figures.ablation_bar(...)`.

Conventions, so every figure reads the same way at 1280 px:
- signed quantities (circuits, DLA, direct path) use a colour-blind-safe diverging scale centred
  on 0 (`SIGNED_SCALE`, `zmid=0`); probabilities/fractions use a sequential scale from 0 to 1;
- heads are called by their write-up names (`0.0`, `0.1`) and the only layer is "layer 0";
- token axes are categorical with the vocab's labels (`SEP` last), ticked every `TICK_EVERY`;
- `figure_frame` turns any figure built here into a DataFrame (the table alternative / CSV).
"""

from .adversarial import accuracy_map, family_failure_bar, search_family_bar
from .attention import ablation_bar, attention_claims_bar, attention_heatmaps, focus_attention_heatmap
from .circuits import (
    copy_strength_chart,
    direct_path_heatmap,
    head_responsibility_strip,
    ov_circuit_heatmaps,
    positional_qk_heatmaps,
    qk_bar,
    qk_circuit_heatmaps,
)
from .layout import (
    HEAD_COLOURS,
    PROB_SCALE,
    SIGNED_SCALE,
    TEMPLATE,
    TICK_EVERY,
    facet_heatmaps,
    sparse_ticks,
    vocab_labels,
)
from .mystery import case_dla_grid, direct_path_experiment_bar, dla_grid, offset_profile_chart
from .problem import (
    TARGET_MARK,
    WRONG_MARK,
    multiple_prediction_heatmaps,
    per_position_accuracy_bar,
    prediction_heatmap,
)
from .tables import figure_frame, matrix_frame
from .training import training_curve

__all__ = [
    "HEAD_COLOURS",
    "PROB_SCALE",
    "SIGNED_SCALE",
    "TARGET_MARK",
    "TEMPLATE",
    "TICK_EVERY",
    "WRONG_MARK",
    "ablation_bar",
    "accuracy_map",
    "attention_claims_bar",
    "attention_heatmaps",
    "case_dla_grid",
    "focus_attention_heatmap",
    "direct_path_experiment_bar",
    "direct_path_heatmap",
    "dla_grid",
    "facet_heatmaps",
    "family_failure_bar",
    "figure_frame",
    "copy_strength_chart",
    "head_responsibility_strip",
    "matrix_frame",
    "multiple_prediction_heatmaps",
    "offset_profile_chart",
    "ov_circuit_heatmaps",
    "per_position_accuracy_bar",
    "positional_qk_heatmaps",
    "prediction_heatmap",
    "qk_bar",
    "qk_circuit_heatmaps",
    "search_family_bar",
    "sparse_ticks",
    "training_curve",
    "vocab_labels",
]
