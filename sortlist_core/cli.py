"""`python -m sortlist_core {report,advex,train,fetch-original,exercises,explain}`: the stable command-line surface."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .checkpoint import ARCHITECTURE_BOUNDS, CheckpointError, LoadedModel
from .config import ModelConfig, config_from_architecture
from .data import EVAL_SEED, InvalidListError
from .training import OPTIMIZERS, RECIPES, Recipe, train


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


def _load(args: argparse.Namespace) -> LoadedModel:
    """The model a command runs on: `--checkpoint`, else `--model`, else the lesson model."""
    from .paths import load_chosen_model

    return load_chosen_model(args.checkpoint, args.model)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report, report_markdown

    report = build_report(_load(args))
    print(json.dumps(report, indent=2) if args.json else report_markdown(report))
    return 0


def _cmd_advex(args: argparse.Namespace) -> int:
    from .adversarial import search_adversarial

    model = _load(args)
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


# --------------------------------------------------------------------------- train


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `train`'s flags to `parser`. Every recipe and architecture setting has a flag; flags
    left out keep the chosen recipe's (or the default architecture's) value."""
    recipe = parser.add_argument_group("recipe (unset flags keep the chosen recipe's value)")
    recipe.add_argument(
        "--recipe", choices=sorted(RECIPES), default="fast", help="named recipe (default: fast)"
    )
    recipe.add_argument("--seed", type=int, help="seed for init and training data")
    recipe.add_argument(
        "--n-train", type=int, help="lists per epoch (the fixed set's size with --data fixed)"
    )
    recipe.add_argument("--epochs", type=int)
    recipe.add_argument("--batch-size", type=int)
    recipe.add_argument("--lr", type=float, dest="lr_start", metavar="LR", help="peak learning rate")
    recipe.add_argument("--lr-end", type=float, help="learning rate at the last step (linear decay)")
    recipe.add_argument("--warmup-steps", type=int)
    recipe.add_argument("--weight-decay", type=float)
    recipe.add_argument("--optimizer", choices=OPTIMIZERS)
    recipe.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"))
    recipe.add_argument("--data", choices=("fresh", "fixed"), help="fresh lists every step, or one fixed set")
    recipe.add_argument("--init-range", type=float, help="std of the W_ init (default 0.8/sqrt(d_model))")
    recipe.add_argument("--val-size", type=int, help="validation lists (fresh, seed --val-seed)")
    recipe.add_argument("--val-seed", type=int)
    recipe.add_argument("--eval-every", type=int, help="validate every N steps")
    recipe.add_argument("--target-accuracy", type=float, help="stop once validation accuracy reaches this")
    arch = parser.add_argument_group("architecture (default: the write-up's model)")
    arch.add_argument("--n-heads", type=int)
    arch.add_argument("--d-model", type=int)
    arch.add_argument("--d-head", type=int, help="default: d_model / n_heads")
    arch.add_argument("--list-len", type=int)
    arch.add_argument("--max-value", type=int)
    arch.add_argument("--normalization", choices=("LN", "none"), help="LayerNorm or none (default LN)")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, default=Path("sortlist_model.pt"), help="checkpoint path (default: %(default)s)"
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    out.add_argument(
        "--threads", type=int, help="torch CPU threads for this process (default: torch's choice)"
    )


def config_and_recipe_from_args(args: argparse.Namespace) -> tuple[ModelConfig, Recipe]:
    """The run's config and recipe: the named recipe with every given flag applied.
    Raises `ValueError` for settings that cannot work."""
    config = config_from_architecture(
        list_len=args.list_len,
        max_value=args.max_value,
        d_model=args.d_model,
        n_heads=args.n_heads,
        d_head=args.d_head,
        layernorm=args.normalization != "none",
    )
    # a model the loader would refuse is refused before hours of training, not after
    ARCHITECTURE_BOUNDS.check(
        list_len=config.list_len,
        max_value=config.max_value,
        d_model=config.d_model,
        n_heads=config.n_heads,
        d_head=config.d_head,
    )
    overrides: dict[str, Any] = {}
    for name in ("seed", "n_train", "epochs", "batch_size", "lr_start", "lr_end", "warmup_steps",
                 "weight_decay", "optimizer", "init_range", "val_size", "val_seed", "eval_every"):  # fmt: skip
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "betas", None) is not None:
        overrides["betas"] = tuple(args.betas)
    if getattr(args, "data", None) is not None:
        overrides["fresh_data"] = args.data == "fresh"
    recipe = replace(RECIPES[args.recipe], **overrides)
    recipe.validate()
    return config, recipe


def run_train_command(args: argparse.Namespace) -> int:
    """Train as `args` say, save atomically to `args.out`, print a one-line summary; 0 on success.

    Every setting is checked before training starts: `ValueError` names the first bad one."""
    config, recipe = config_and_recipe_from_args(args)
    target = args.target_accuracy
    if target is not None and not (0 < target <= 1):
        raise ValueError(f"--target-accuracy must be in (0, 1], got {target}")
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file path such as {out / 'sortlist_model.pt'}")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is not a directory")
    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be a positive integer, got {threads}")
        # The CLI owns its process, so a process-wide setting is fine here (never in `train`).
        torch.set_num_threads(threads)
    result = train(config, recipe, target_accuracy=target, show_tqdm=not args.quiet)
    result.save(out)
    meta = result.metadata
    print(
        f"saved {out}: val accuracy {meta.val_accuracy:.5f} ({recipe.val_size:,} lists), "
        f"eval loss {meta.eval_loss:.4f} (seed {EVAL_SEED}), best of {meta.steps} steps, "
        f"{meta.wall_time_s:.1f} s [{recipe.name}, seed {recipe.seed}]"
    )
    return 0


def _cmd_fetch_original(args: argparse.Namespace) -> int:
    from .fetch import FetchError, download_original

    try:
        path = download_original(args.url, args.out)
    except FetchError as exc:  # one line, as every failure of this command
        sys.stderr.write(f"error: {exc}\n")
        return 2
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .paths import add_model_arguments

    parser = _Parser(prog="python -m sortlist_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    report = sub.add_parser("report", help="analyse a model on the write-up's evaluation set")
    add_model_arguments(report)
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.set_defaults(func=_cmd_report)
    advex = sub.add_parser("advex", help="search for lists the model sorts wrongly")
    add_model_arguments(advex)
    advex.add_argument("--budget", type=_positive_int, default=20_000, help="candidate lists to score")
    advex.add_argument("--seed", type=int, default=0)
    advex.add_argument("--max-examples", type=_positive_int, default=20)
    advex.add_argument("--json", action="store_true")
    advex.set_defaults(func=_cmd_advex)
    train = sub.add_parser("train", help="train a new model (default: the fast recipe)")
    add_train_arguments(train)
    train.set_defaults(func=run_train_command)
    fetch = sub.add_parser(
        "fetch-original",
        help="download ARENA's original sorted_list_model.pt into the cache (checked against its sha256)",
    )
    fetch.add_argument(
        "--url", help="where to fetch it (default: $SORTLIST_ORIGINAL_URL, else ARENA's GitHub)"
    )
    fetch.add_argument("--out", help="also write it here (default: only the cache, ~/.cache/sortlist)")
    fetch.set_defaults(func=_cmd_fetch_original)
    from .exercises.cli import add_exercises_parser

    add_exercises_parser(sub)
    from .explain.cli import add_explain_parser

    add_explain_parser(sub)
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
