"""`python -m sortlist_core explain HYPOTHESIS.py [--checkpoint PATH] [--json]`.

Runs the file's hypothesis in the sandboxed runner, splices it into the model and prints loss,
accuracy, the fraction of loss recovered, the baselines and the worst lists. A bad file,
checkpoint or hypothesis prints one line on stderr and exits 2; when the runner cannot run code
at all (turned off, busy) it prints one line and exits 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

NOT_RUN = ("busy", "off")


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    return code


def _cmd_explain(args: argparse.Namespace) -> int:
    from ..checkpoint import CheckpointError, load_checkpoint
    from ..exercises.cli import _read_source
    from ..paths import load_bundled_model
    from ..runner import RunnerUnavailable
    from .breakdown import explain, format_runs, prepared_for
    from .pair_checks import pair_checks
    from .run import run_hypothesis

    try:
        source = _read_source(args.file)
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    try:
        model = load_checkpoint(args.checkpoint) if args.checkpoint else load_bundled_model()
    except (CheckpointError, OSError) as exc:
        return _fail(f"{args.checkpoint or 'bundled model'}: {exc}")
    start = time.perf_counter()
    try:
        ran = run_hypothesis(model, source)
    except RunnerUnavailable as exc:
        return _fail(f"cannot run code here: {exc}", 3)
    if ran.status in NOT_RUN:
        return _fail(ran.message or f"the runner is {ran.status}", 3)
    if ran.hypothesis is None:
        last = (ran.traceback or "").strip().splitlines()[-1:]
        return _fail(ran.message + (f" ({last[0]})" if last else ""))
    result = explain(prepared_for(model), ran.hypothesis)
    checks = pair_checks(model, ran.hypothesis.handles)
    seconds = time.perf_counter() - start
    if args.json:
        print(
            json.dumps(result.to_dict() | {"pair_checks": [c.to_dict() for c in checks], "seconds": seconds})
        )
        return 0
    card = result.card
    print(
        f"{model.name}: hypothesis with {', '.join(result.pieces)} on {card.n_lists} lists ({seconds:.1f} s)"
    )
    print(f"  recovered     {card.recovered:8.1%}   (L_ablated - L_hyp) / (L_ablated - L_model)")
    for name, score in (
        ("hypothesis", card.hypothesis),
        ("model", card.model),
        ("mean-ablated", card.ablated),
        ("uniform attn", card.uniform),
    ):
        print(f"  {name:<13} loss {score.loss:.4f}  accuracy {score.accuracy:.2%}")
    print(f"  uniform attention recovers {card.uniform_recovered:.1%}")
    print(
        f"  values it gets wrong (accuracy 10 points below the model's): {format_runs(result.wrong_ranges)}"
    )
    print("  lists where it differs most from the model:")
    for w in result.worst_lists:
        print(
            f"    #{w.index} {list(w.unsorted)}: model {list(w.model_predicted)}, "
            f"hypothesis {list(w.hypothesis_predicted)} (KL {w.divergence:.3f})"
        )
    for c in checks:
        print(f"  every pair: {c.claim}: holds on {c.fraction:.1%} of pairs, {c.row_fraction:.1%} of rows")
    return 0


def add_explain_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="test a hypothesis (attention/handles/ov as code) on the evaluation set"
    )
    p.add_argument(
        "file", help="a Python file defining attention(tokens, head), handles(head) and/or ov(head)"
    )
    p.add_argument("--checkpoint", help="checkpoint path (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_explain)
