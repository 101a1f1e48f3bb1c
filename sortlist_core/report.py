"""The full analysis of a model on the write-up's evaluation set, as JSON-ready data and as
Markdown. Every sentence is phrased from the measured numbers."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any

from .ablation import head_ablation
from .attention import attention_claims
from .checkpoint import LoadedModel
from .circuits import head_responsibility
from .data import EVAL_SEED, EVAL_SIZE, eval_dataset
from .lesson_criteria import lesson_criteria
from .metrics import evaluate
from .mystery import DEFAULT_MYSTERY_LISTS, direct_path_experiment, dla_yz, ov_offset_profile


def build_report(model: LoadedModel) -> dict[str, Any]:
    """Every analysis on the evaluation set, as plain JSON-ready data."""
    cfg = model.config
    toks = eval_dataset(cfg).toks
    responsibility = head_responsibility(model)
    claims = attention_claims(model, toks)
    report: dict[str, Any] = {
        "checkpoint": {
            "name": model.name,
            "sha256": model.sha256,
            "weights_sha256": model.weights_sha256,
            "config": cfg.to_dict(),
            "metadata": {k: v for k, v in model.metadata.items() if k != "history"},
        },
        "eval_set": {
            "size": EVAL_SIZE,
            "seed": EVAL_SEED,
            "list_len": cfg.list_len,
            "max_value": cfg.max_value,
        },
        "metrics": evaluate(model, toks).to_dict(),
        "ablation": head_ablation(model, toks).to_dict(),
        "heads": [
            {
                "head": h,
                "name": cfg.head_names[h],
                "copies": responsibility.copies[h],
                "ranges": [[r.start, r.end] for r in responsibility.ranges_of(h)],
            }
            for h in range(cfg.n_heads)
        ],
        "claims": {
            "sep_attends_min": {"per_head": claims.sep_attends_min, "any_head": claims.sep_attends_min_any},
            "attends_next_larger": {
                "per_head": claims.attends_next_larger,
                "any_head": claims.attends_next_larger_any,
            },
        },
        "ov_offset_profile": ov_offset_profile(model).to_dict(),
        "direct_path_experiment": direct_path_experiment(model).to_dict(),
        "criteria": [c.to_dict() for c in lesson_criteria(model)],
        "generated": {
            "utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
        },
    }
    if cfg.list_len == 10 and cfg.max_value == 50:  # the write-up's lists only fit its task
        report["mystery"] = [dla_yz(model, lst, *xyz).to_dict() for lst, xyz in DEFAULT_MYSTERY_LISTS]
    return report


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ranges_text(ranges: list[list[int]]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges) or "no tokens"


def report_markdown(report: dict[str, Any]) -> str:
    """A readable report; each conclusion is worded from the numbers in `report`."""
    ck, m, ab = report["checkpoint"], report["metrics"], report["ablation"]
    names = [h["name"] for h in report["heads"]]
    major = max(range(len(ab["mean"])), key=ab["mean"].__getitem__)
    lines = [
        f"# sortlist report: {ck['name']}",
        "",
        f"- checkpoint sha256 `{ck['sha256']}`",
        f"- config: {ck['config']}",
        f"- evaluation set: {report['eval_set']['size']} lists, seed {report['eval_set']['seed']}",
        "",
        "## Performance",
        "",
        f"- average cross-entropy loss on the sorted half: **{m['loss']:.3f}**",
        f"- probability on the correct label: mean {m['mean_prob']:.3f}, median {m['median_prob']:.3f},"
        f" min {m['min_prob']:.3f}",
        f"- accuracy: {_pct(m['accuracy'])} of predictions, {_pct(m['sequence_accuracy'])} of lists fully sorted",
        "",
        "## Attention",
        "",
    ]
    sep, nxt = report["claims"]["sep_attends_min"], report["claims"]["attends_next_larger"]
    for h, name in enumerate(names):
        lines.append(
            f"- head {name}: SEP attends most to the smallest value in {_pct(sep['per_head'][h])} of lists;"
            f" a sorted token attends most to the next larger value in {_pct(nxt['per_head'][h])} of cases"
        )
    lines += [
        f"- in at least one head: {_pct(sep['any_head'])} (SEP → smallest),"
        f" {_pct(nxt['any_head'])} (token → next larger)",
        "",
        "## Head ablation (loss increase)",
        "",
        "| head | mean ablation | zero ablation |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {ab['mean'][h]:.3f} | {ab['zero'][h]:.3f} |" for h, name in enumerate(names)]
    lines += [
        "",
        f"Head {names[major]} matters most: mean-ablating it raises the loss by {ab['mean'][major]:.3f}.",
        "",
    ]
    lines += ["## Which head copies which tokens (diagonal of W_E W_OV W_U)", ""]
    for h in report["heads"]:
        lines.append(f"- head {h['name']}: {len(h['copies'])} tokens — {_ranges_text(h['ranges'])}")
    dp = report["direct_path_experiment"]
    lines += [
        "",
        "## The [d, d+1, d+2] mystery",
        "",
        f"Without the direct path W_E W_U, the prediction at d is right in {_pct(dp['cluster_acc_without'])}"
        f" of lists holding d, d+1, d+2 vs {_pct(dp['control_acc_without'])} of lists without d+2;"
        f" d+2 is predicted in {_pct(dp['cluster_pred_next_without'])} of cluster cases. So the direct path"
        + (" **is**" if dp["becomes_adversarial"] else " is **not**")
        + " what keeps such lists from being adversarial.",
    ]
    for case in report.get("mystery", []):
        (yy, yz), (zy, zz) = case["dla_pred_by_src"]
        x, y, z = case["xyz"]
        lines.append(
            f"- (x, y, z) = ({x}, {y}, {z}), head {names[case['head']]}: y→y {yy:+.2f}, z→z {zz:+.2f},"
            f" y→z {zy:+.2f}, z→y {yz:+.2f}; total to y {case['total_to_y']:.2f} vs z {case['total_to_z']:.2f}"
        )
    criteria = report.get("criteria", [])
    if criteria:
        n_passed = sum(c["passed"] for c in criteria)
        lines += ["", f"## Lesson-model criteria (assets/TRAINING.md): {n_passed} of {len(criteria)} met", ""]
        lines += [
            f"- {'met' if c['passed'] else 'NOT met'}: `{c['name']}` ({c['threshold']}): {c['text']}"
            for c in criteria
        ]
    return "\n".join(lines) + "\n"
