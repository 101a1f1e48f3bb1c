"""`python -m sortlist_core {report,advex,train}`: the stable command-line surface."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .checkpoint import CheckpointError, LoadedModel, load_checkpoint
from .data import InvalidListError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line on stderr with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _load(path: str | None) -> LoadedModel:
    if path is None:
        from .paths import load_bundled_model

        return load_bundled_model()
    return load_checkpoint(path)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report, report_markdown

    report = build_report(_load(args.checkpoint))
    print(json.dumps(report, indent=2) if args.json else report_markdown(report))
    return 0


def _cmd_advex(args: argparse.Namespace) -> int:
    from .adversarial import search_adversarial

    model = _load(args.checkpoint)
    result = search_adversarial(model, budget=args.budget, seed=args.seed, max_examples=args.max_examples)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(
        f"scored {result.n_scored} lists in {result.seconds:.1f} s"
        f" ({result.candidates_per_second:,.0f}/s); {result.n_wrong} wrong; worst {len(result.examples)}:"
    )
    for ex in result.examples:
        print(
            f"  {ex.unsorted} -> predicted {ex.predicted} (target {ex.target}; wrong at {ex.wrong_positions})"
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import run_train_command

    return run_train_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sortlist_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    report = sub.add_parser("report", help="analyse a model on the write-up's evaluation set")
    report.add_argument("--checkpoint", help="checkpoint path (default: the bundled model)")
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.set_defaults(func=_cmd_report)
    advex = sub.add_parser("advex", help="search for lists the model sorts wrongly")
    advex.add_argument("--checkpoint", help="checkpoint path (default: the bundled model)")
    advex.add_argument("--budget", type=_positive_int, default=20_000, help="candidate lists to score")
    advex.add_argument("--seed", type=int, default=0)
    advex.add_argument("--max-examples", type=_positive_int, default=20)
    advex.add_argument("--json", action="store_true")
    advex.set_defaults(func=_cmd_advex)
    train = sub.add_parser("train", help="train a new model (default: the fast recipe)")
    from .training import add_train_arguments

    add_train_arguments(train)
    train.set_defaults(func=_cmd_train)
    from .exercises.cli import add_exercises_parser

    add_exercises_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, InvalidListError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
