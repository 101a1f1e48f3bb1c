"""`python -m sortlist_core exercises list|check|notebook`.

check: exit 0 whenever a verdict was reached (passed or not); a bad id, file or checkpoint
prints one line on stderr and exits 2; when the runner could not run the code at all (turned
off, busy, unavailable) it prints one line on stderr and exits 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MAX_SOURCE_BYTES = 256 * 1024


def add_exercises_parser(sub) -> None:
    from ..paths import add_model_arguments

    """Register `exercises` on the top-level subparsers of `sortlist_core.cli`."""
    ex = sub.add_parser("exercises", help="code exercises: list, check a file, write notebooks")
    ex_sub = ex.add_subparsers(dest="exercises_command", required=True, parser_class=type(ex))
    lst = ex_sub.add_parser("list", help="id, page and title of each code exercise")
    lst.add_argument("--json", action="store_true", help="print one JSON list")
    lst.set_defaults(func=_cmd_list)
    chk = ex_sub.add_parser("check", help="run FILE.py through the runner and check it")
    chk.add_argument("id", help="exercise id, e.g. circuits.full_ov")
    chk.add_argument("file", help="Python file defining the exercise's function")
    add_model_arguments(chk)
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    chk.set_defaults(func=_cmd_check)
    nb = ex_sub.add_parser("notebook", help="write one Jupyter notebook per page")
    nb.add_argument("--out", required=True, help="output directory")
    nb.add_argument("--solutions", action="store_true", help="fill in the reference solutions")
    add_model_arguments(nb, "checkpoint the notebooks load")
    nb.set_defaults(func=_cmd_notebook)


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def _cmd_list(args: argparse.Namespace) -> int:
    from . import all_exercises

    rows = [{"id": ex.id, "page": ex.page, "title": ex.title} for ex in all_exercises()]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["id"]) for r in rows)
        for r in rows:
            print(f"{r['id']:<{width}}  {r['page']:<11}  {r['title']}")
    return 0


def _read_source(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{path}: no such file")
    data = p.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_SOURCE_BYTES // 1024} kB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None


def _cmd_check(args: argparse.Namespace) -> int:
    from ..checkpoint import CheckpointError
    from ..paths import load_chosen_model
    from . import get_exercise
    from .check import NOT_RUN, run_submission

    try:
        exercise = get_exercise(args.id)
    except KeyError as exc:
        return _fail(str(exc.args[0]))
    try:
        source = _read_source(args.file)
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    try:
        model = load_chosen_model(args.checkpoint, args.model)
    except (CheckpointError, OSError) as exc:
        return _fail(f"{args.checkpoint or (args.model or 'lesson') + ' model'}: {exc}")
    try:
        from ..runner import RunnerUnavailable
    except ImportError:
        return _fail("the code runner (sortlist_core.runner) is not installed", 3)
    start = time.perf_counter()
    try:
        verdict, outcome = run_submission(exercise, model, source)
    except RunnerUnavailable as exc:
        return _fail(f"cannot run code here: {exc}", 3)
    seconds = time.perf_counter() - start
    if outcome.status in NOT_RUN:
        return _fail(outcome.message or f"the runner is {outcome.status}", 3)
    if args.json:
        print(
            json.dumps(
                {
                    "id": exercise.id,
                    "passed": verdict.passed,
                    "message": verdict.message,
                    "seconds": round(seconds, 3),
                }
            )
        )
    else:
        print(("PASSED" if verdict.passed else "FAILED") + f" {exercise.id} ({seconds:.1f} s)")
        print(verdict.message)
    return 0


def _cmd_notebook(args: argparse.Namespace) -> int:
    from ..paths import chosen_model_path
    from .notebooks import write_notebooks

    if args.checkpoint and not Path(args.checkpoint).is_file():
        return _fail(f"{args.checkpoint}: no such file")
    checkpoint = str(chosen_model_path(args.checkpoint, args.model))
    try:
        paths = write_notebooks(Path(args.out), solutions=args.solutions, checkpoint=checkpoint)
    except OSError as exc:
        return _fail(f"cannot write to {args.out}: {exc}")
    for p in paths:
        print(p)
    return 0
