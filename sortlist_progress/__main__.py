"""Check the progress store a deployment is configured with, or export a class's attempts.

    python -m sortlist_progress check              # connects, migrates, prints where and which schema
    python -m sortlist_progress export [--model FP] [--out FILE]   # CSV of every attempt

Both read SORTLIST_DATABASE_URL / SORTLIST_DATA_DIR like the app. Exit code 0 on success,
1 when the store fails (the message says why), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ProgressStoreError
from .factory import open_store
from .instructor import attempts_csv
from .migrations import latest_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sortlist_progress", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="connect, migrate, and say where progress is stored")
    export = sub.add_parser("export", help="every attempt as CSV (no learner keys)")
    export.add_argument("--model", help="only this model fingerprint (weights sha256)")
    export.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)

    store = open_store()
    try:
        if args.command == "check":
            store.check()
            learners = len(store.class_learners())
            print(f"ok: {store.describe()}; schema version {latest_version()}; learners: {learners}")
        else:
            text = attempts_csv(store.class_attempts(args.model))
            if args.out:
                args.out.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    except ProgressStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
