"""Tables derived from analysis results (pure: numpy/pandas, no streamlit): DataFrames, HTML and
the rows of the pages' summary tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sortlist_app.lessons.wording import round_sig
from sortlist_core import positions
from sortlist_core.adversarial import AccuracyMap
from sortlist_core.data import format_list, token_labels
from sortlist_core.metrics import SequencePrediction
from sortlist_core.mystery import MysteryCase, OffsetProfile


def tokens_html(tokens: Sequence[str], list_len: int) -> str:
    """A compact two-row table, positions over tokens, with the halves and SEP shaded.

    Plain HTML with inline styles (for `st.html`): 21 columns fit the page at 1280 px."""
    shade = {"unsorted": "#f0f2f6", "sep": "#ffe8b3", "sorted": "#e3f0fa"}

    def part(i: int) -> str:
        return "unsorted" if i < list_len else ("sep" if i == list_len else "sorted")

    cell = "padding:3px 6px;text-align:center;border:1px solid #d0d4dc;"
    head = "".join(f'<th style="{cell}font-weight:400;color:#666">{i}</th>' for i in range(len(tokens)))
    body = "".join(
        f'<td style="{cell}background:{shade[part(i)]};{"font-weight:700;" if part(i) == "sep" else ""}">{t}</td>'
        for i, t in enumerate(tokens)
    )
    return (
        '<table style="border-collapse:collapse;font-size:0.9rem;font-family:monospace">'
        f"<tr>{head}</tr><tr>{body}</tr></table>"
    )


def predictions_frame(
    targets: Sequence[int], predicted: Sequence[int], probs: np.ndarray, position_labels: Sequence[str]
) -> pd.DataFrame:
    """Per prediction position: correct token, model's argmax and its probability on each."""
    probs = np.asarray(probs)
    rows = range(len(targets))
    return pd.DataFrame(
        {
            "position": list(position_labels),
            "correct next token": list(targets),
            "model predicts": list(predicted),
            "p(correct)": [round_sig(probs[i, targets[i]]) for i in rows],
            "right?": ["✓" if targets[i] == predicted[i] else "✗" for i in rows],
        }
    )


def attention_table(
    pattern: np.ndarray, toks: Sequence[int], list_len: int, head_names: Sequence[str], sep_token: int
) -> pd.DataFrame:
    """For each prediction position (SEP .. second-to-last), what each head attends to most.

    `pattern` is [head dest src] for one sequence. "next larger" is the token the write-up says
    the position should attend to (the next value of the sorted list)."""
    labels = token_labels(toks, sep_token)
    rows = []
    for dest in range(list_len, 2 * list_len):
        row = {"position": dest, "token": labels[dest], "next larger": labels[dest + 1]}
        for h, name in enumerate(head_names):
            src = int(np.argmax(pattern[h, dest]))
            row[f"{name}: top pos"] = src
            row[f"{name}: token"] = labels[src]
            row[f"{name}: weight"] = round_sig(pattern[h, dest, src])
        rows.append(row)
    return pd.DataFrame(rows).set_index("position")


def attention_long_frame(
    patterns: np.ndarray, lists_tokens: Sequence[Sequence[int]], head_names: Sequence[str], sep_token: int
) -> pd.DataFrame:
    """Every attention weight of [list head dest src] as one row (for CSV download)."""
    rows = []
    for i, (pattern, toks) in enumerate(zip(patterns, lists_tokens)):
        labels = token_labels(toks, sep_token)
        for h, name in enumerate(head_names):
            for dest in range(len(toks)):
                for src in range(dest + 1):
                    rows.append(
                        (
                            i,
                            name,
                            dest,
                            labels[dest],
                            src,
                            labels[src],
                            round(float(pattern[h, dest, src]), 6),  # a download keeps precision
                        )
                    )
    return pd.DataFrame(
        rows,
        columns=["list", "head", "dest position", "dest token", "src position", "src token", "attention"],
    )


def accuracy_map_frame(amap: AccuracyMap) -> pd.DataFrame:
    """One row per cell of an accuracy map: its two bins, accuracy and number of lists."""
    return pd.DataFrame(
        [
            {
                amap.row_label: r,
                amap.col_label: c,
                "accuracy": amap.accuracy[i, j],
                "lists": int(amap.counts[i, j]),
            }
            for i, r in enumerate(amap.row_bins)
            for j, c in enumerate(amap.col_bins)
        ]
    )


def offset_profile_frame(profile: OffsetProfile, head_names: Sequence[str]) -> pd.DataFrame:
    """The OV offset profile by offset: relative and raw means per head."""
    return pd.DataFrame(
        {"offset": profile.offsets}
        | {f"head {n}: relative": profile.relative_owned[h] for h, n in enumerate(head_names)}
        | {f"head {n}: raw mean (owned tokens)": profile.mean_owned[h] for h, n in enumerate(head_names)}
        | {f"head {n}: raw mean (all tokens)": profile.mean_all[h] for h, n in enumerate(head_names)}
    ).set_index("offset")


def dla_case_row(label: str, case: MysteryCase, head_names: Sequence[str]) -> dict[str, Any]:
    """One row of the Mystery page's DLA table: the list, its (x, y, z), attention and the 2×2 DLA."""
    (yy, zy), (yz, zz) = case.dla  # dla[pred][src]
    return {
        "case": label,
        "list": format_list(case.unsorted),
        "x, y, z": f"{case.x}, {case.y}, {case.z}",
        "head": head_names[case.head],
        "attention x→y": round_sig(case.attention[0]),
        "attention x→z": round_sig(case.attention[1]),
        "y→y": round_sig(yy),
        "z→y": round_sig(zy),
        "y→z": round_sig(yz),
        "z→z": round_sig(zz),
        "total to y": round_sig(case.total_to_y),
        "total to z": round_sig(case.total_to_z),
        "model predicts": case.predicted,
        "p(y)": round_sig(case.prob_y),
        "p(z)": round_sig(case.prob_z),
    }


PREDICTION_COLUMNS = ("unsorted", "correct sorted", "model predicts", "wrong at positions", "min p(correct)")
HIDDEN_CELL = "? (exercise below)"


def _compact(values: Sequence[int]) -> str:
    """'0,40,41': a table cell a third narrower than `format_list`'s '0, 40, 41'."""
    return ",".join(str(v) for v in values)


def prediction_rows(
    preds: Sequence[SequencePrediction], hidden: Sequence[tuple[int, ...]] = ()
) -> list[dict[str, Any]]:
    """One summary row per list: what the table under the Adversarial page's heatmaps shows. Five
    short columns (no separate verdict: "wrong at positions" says "none"), so the table fits the
    page at 1280 px. For a list in `hidden` (an exercise asks where it goes wrong) the wrong
    positions and the model's output are held back."""
    rows = []
    for i, p in enumerate(preds, start=1):
        held = tuple(p.unsorted) in hidden and not p.correct
        wrong_at = ", ".join(str(positions.prediction_position(w, len(p.targets))) for w in p.wrong)
        rows.append(
            {
                "list": i,
                "unsorted": _compact(p.unsorted),
                "correct sorted": _compact(p.targets),
                "model predicts": HIDDEN_CELL if held else _compact(p.predicted),
                "wrong at positions": HIDDEN_CELL if held else wrong_at or "none",
                "min p(correct)": round_sig(float(min(p.probs[k, t] for k, t in enumerate(p.targets)))),
            }
        )
    return rows
