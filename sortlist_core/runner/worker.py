"""The runner's worker process (a fork server): it hardens itself, pre-imports the heavy
libraries once, finds out whether checks can have namespaces of their own, then serves jobs
(`supervisor.Supervisor` forks one locked-down child per check and supervises it).

Started by the server as `python -E -s -m sortlist_core.runner.worker --base DIR` (inside
bubblewrap in sandbox mode). Protocol: one JSON object per line, jobs on stdin, answers on
stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

from . import policy
from .supervisor import Supervisor

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def _preimport() -> None:
    """What a submission needs, imported once here so each child starts warm."""
    import eindex  # noqa: F401
    import einops  # noqa: F401
    import numpy  # noqa: F401
    import torch
    import transformer_lens  # noqa: F401
    import transformer_lens.model_bridge.sources  # noqa: F401
    import transformer_lens.utilities.tl_checkpoint_conversion  # noqa: F401

    import sortlist_core.checkpoint  # noqa: F401
    import sortlist_core.data  # noqa: F401
    import sortlist_core.exercises.fixtures  # noqa: F401
    import sortlist_core.model  # noqa: F401

    from . import child, codec, namespaces  # noqa: F401

    torch.set_num_threads(1)


def _warm_model() -> None:
    """Build one TransformerLens model so first-use costs are paid here, not in every child."""
    import torch

    from sortlist_core.config import ModelConfig
    from sortlist_core.model import to_transformer_lens
    from sortlist_core.training import init_state_dict

    cfg = ModelConfig()
    to_transformer_lens(init_state_dict(cfg, None, torch.Generator().manual_seed(0)), cfg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sortlist_core.runner.worker")
    parser.add_argument("--base", required=True, help="directory for the per-submission temp dirs")
    parser.add_argument(
        "--no-namespaces", action="store_true", help="do not give checks namespaces of their own (tests)"
    )
    args = parser.parse_args(argv)
    libc = ctypes.CDLL(None)
    # First: no process of our uid (learner code, without namespaces) may ptrace us or open
    # our /proc/<pid>/fd pipes to read other checks' jobs or forge their answers.
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    proto_fd = os.dup(1)  # answers go here; stray prints (libraries) go to stderr
    os.dup2(2, 1)
    os.set_inheritable(proto_fd, False)
    os.set_blocking(proto_fd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    t0 = time.perf_counter()
    _preimport()
    _warm_model()
    from .namespaces import probe_namespaces

    if args.no_namespaces:
        namespaces, how = False, "turned off"
    else:
        probe_uid = policy.DEFAULT_BASE_UID if os.getuid() == 0 else None
        namespaces, how = probe_namespaces(probe_uid, policy.CHILD_GID)
    worker = Supervisor(args.base, proto_fd, namespaces)
    worker.send({
        "op": "ready", "pid": os.getpid(), "import_s": round(time.perf_counter() - t0, 3),
        "namespaces": namespaces, "proc": how if namespaces else "shared", "why": "" if namespaces else how,
    })  # fmt: skip
    worker.serve()
    os._exit(0)  # skip interpreter teardown (seconds with torch loaded): nothing left to flush


if __name__ == "__main__":
    sys.exit(main())
