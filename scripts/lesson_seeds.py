"""Measure every lesson-model candidate with the criteria of assets/TRAINING.md and print the
per-seed Markdown table (and the chosen seed) for that file.

    .venv/bin/python scripts/lesson_seeds.py RUN_DIR   # RUN_DIR holds seed_N.pt (+ .pt.json)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sortlist_core.ablation import head_ablation, importance_contrast
from sortlist_core.checkpoint import load_checkpoint
from sortlist_core.circuits import head_responsibility
from sortlist_core.data import eval_dataset
from sortlist_core.lesson_criteria import lesson_criteria, selection_key


def _ranges(resp, head: int) -> str:
    return ", ".join(r.label for r in resp.ranges_of(head))


def main(run_dir: Path) -> int:
    rows, keys = [], {}
    paths = sorted(run_dir.glob("seed_*.pt"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
    for path in paths:
        seed = int(re.findall(r"\d+", path.stem)[0])
        model = load_checkpoint(path, name=path.name)
        meta_path = path.with_name(path.name + ".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else model.metadata
        results = lesson_criteria(model)
        by = {r.name: r for r in results}
        abl = head_ablation(model, eval_dataset(model.config).toks)
        weak = importance_contrast(abl).least_important
        resp = head_responsibility(model)
        keys[seed] = selection_key(results)
        met = sum(r.passed for r in results)
        mark = {r.name: ("✓" if r.passed else "✗") for r in results}
        rows.append(
            f"| {seed} | **{met}/7** | {by['loss_range'].value:.4f} {mark['loss_range']} "
            f"| {abl.mean[0]:.3f} / {abl.mean[1]:.3f} ({by['dominant_head'].value:.2f}×) {mark['dominant_head']} "
            f"| {weak}: {_ranges(resp, weak)} ({int(by['minor_head_block'].value)} off) {mark['minor_head_block']} "
            f"| {by['sep_fails_high'].value:.3f} {mark['sep_fails_high']} "
            f"| {by['large_gap_adversarial'].value:.3f} {mark['large_gap_adversarial']} "
            f"| {by['qk_puzzle'].value:.2f} {mark['qk_puzzle']} "
            f"| {by['puzzle_not_adversarial'].value:.3f} {mark['puzzle_not_adversarial']} "
            f"| {meta.get('val_accuracy', float('nan')):.5f} | {meta.get('wall_time_s', float('nan')) / 60:.1f} min "
            f"| `{model.weights_sha256[:12]}` |"
        )
    print(
        "| seed | met | eval loss | mean ablation h0 / h1 (ratio) | weaker head: copies | SEP wrong, high lists "
        "| gap lists wrong | QK puzzle | cluster lists wrong | val acc | wall | weights_sha256 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if keys:
        best = min(keys, key=keys.__getitem__)
        print(f"\nchosen: seed {best} ({-keys[best][0]}/7 met, |loss - 0.039| = {keys[best][1]:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "lesson_runs")))
