"""Render every page on several checkpoints and save what a learner would see: each element's
text and each chart's figure JSON. Two snapshots can then be compared, so a refactor that must
not change behaviour can prove it did not.

    .venv/bin/python scripts/page_snapshot.py save before.json [--checkpoint NAME=PATH ...]
    .venv/bin/python scripts/page_snapshot.py compare before.json after.json

Without --checkpoint it renders the bundled lesson and strong models and, when ../shared has it,
the reference checkpoint and a copy with its two heads swapped, and an untrained 3-head model
of another size. Runs in Streamlit's AppTest, in
this process (no browser, no server), with the code-exercise runner off.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
APP = str(ROOT / "app.py")
SHARED = Path(os.environ.get("SORTLIST_SHARED") or ROOT.parent / "shared")
REFERENCE = SHARED / "reference" / "arena_sorted_list_model.pt"
# Each session gets a random learner key; mask it so two renders of the same code compare equal.
LEARNER_KEY = re.compile(r"(learner=)[A-Za-z0-9_-]{16,}")


def default_checkpoints(workdir: Path) -> dict[str, Path]:
    import torch

    from sortlist_core.paths import BUNDLED_MODEL_PATH, LESSON_MODEL_PATH

    found = {"lesson": LESSON_MODEL_PATH, "strong": BUNDLED_MODEL_PATH}
    if REFERENCE.exists():
        found["original"] = REFERENCE
        state = torch.load(REFERENCE, map_location="cpu", weights_only=True)
        swapped = dict(state)
        for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"):
            key = f"blocks.0.attn.{name}"
            swapped[key] = state[key][[1, 0]].clone()
        found["swapped"] = workdir / "swapped.pt"
        torch.save(swapped, found["swapped"])
    found["three_heads"] = workdir / "three_heads.pt"
    _save_three_heads(found["three_heads"])
    return found


def _save_three_heads(path: Path) -> None:
    """An untrained 3-head model of another size (seeded, so two snapshots see the same weights):
    pages must not assume two heads or the write-up's list shape."""
    import torch

    from sortlist_core.checkpoint import save_checkpoint
    from sortlist_core.config import ModelConfig
    from sortlist_core.training import init_state_dict

    cfg = ModelConfig(list_len=6, max_value=20, d_model=48, d_head=16, n_heads=3, normalization=None)
    save_checkpoint(
        path, init_state_dict(cfg, None, torch.Generator().manual_seed(0)), cfg, {"note": "untrained"}
    )


def _elements(node: Any) -> list[dict[str, Any]]:
    """Every leaf element in page order: its type, and its text or chart spec."""
    out: list[dict[str, Any]] = []
    children = getattr(node, "children", None)
    if children:
        for child in children.values():
            out.extend(_elements(child))
        return out
    kind = getattr(node, "type", type(node).__name__)
    proto = getattr(node, "proto", None)
    if kind == "plotly_chart" and proto is not None:
        spec = json.loads(proto.spec) if proto.spec else None
        out.append({"type": kind, "figure": spec})
        return out
    value = None
    for attr in ("value", "label", "body"):
        try:
            value = getattr(node, attr)
        except Exception:  # AppTest raises for attributes a widget type does not have
            continue
        if value is not None:
            break
    if value is None and proto is not None:
        value = str(proto)[:2000]
    out.append({"type": str(kind), "text": LEARNER_KEY.sub(r"\1<key>", str(value))})
    return out


def render_all(checkpoints: dict[str, Path]) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    from sortlist_app.navigation import PAGES

    os.environ["SORTLIST_CODE_EXERCISES"] = "off"
    os.environ.setdefault("SORTLIST_DATA_DIR", tempfile.mkdtemp(prefix="snapshot-store-"))
    snapshot: dict[str, Any] = {}
    for name, path in checkpoints.items():
        os.environ["SORTLIST_MODEL_PATH"] = str(path)
        for spec in PAGES:
            at = AppTest.from_file(APP, default_timeout=120)
            at.run()
            at.switch_page(spec.path)
            at.run()
            errors = [str(e.value) for e in at.exception]
            snapshot[f"{name}/{spec.key}"] = {"exceptions": errors, "elements": _elements(at._tree)}
            print(
                f"{name}/{spec.key}: {len(snapshot[f'{name}/{spec.key}']['elements'])} elements",
                file=sys.stderr,
            )
    return snapshot


def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
    """Print a unified diff per page that differs; the number of differing pages."""
    differing = 0
    for key in sorted(set(a) | set(b)):
        left = json.dumps(a.get(key), indent=1, sort_keys=True).splitlines()
        right = json.dumps(b.get(key), indent=1, sort_keys=True).splitlines()
        if left != right:
            differing += 1
            diff = list(difflib.unified_diff(left, right, f"before/{key}", f"after/{key}", lineterm="", n=2))
            print("\n".join(diff[:80]))
            if len(diff) > 80:
                print(f"... {len(diff) - 80} more diff lines for {key}")
    print(f"{differing} of {len(set(a) | set(b))} pages differ")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    save = sub.add_parser("save", help="render every page and write the snapshot")
    save.add_argument("out", type=Path)
    save.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH")
    cmp_ = sub.add_parser("compare", help="diff two snapshots; exit 1 when they differ")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = parser.parse_args(argv)

    if args.command == "compare":
        return 1 if compare(json.loads(args.before.read_text()), json.loads(args.after.read_text())) else 0
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints = dict(item.split("=", 1) for item in args.checkpoint) if args.checkpoint else None
        chosen = (
            {k: Path(v) for k, v in checkpoints.items()} if checkpoints else default_checkpoints(Path(tmp))
        )
        snapshot = render_all(chosen)
    args.out.write_text(json.dumps(snapshot, sort_keys=True))
    bad = {k: v["exceptions"] for k, v in snapshot.items() if v["exceptions"]}
    for key, errors in bad.items():
        print(f"EXCEPTION on {key}: {errors}", file=sys.stderr)
    return 2 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
