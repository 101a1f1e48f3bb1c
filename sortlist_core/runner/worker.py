"""The runner's worker (a fork server): pre-imports the heavy libraries once, then forks one
locked-down child per submission and supervises it.

Started by the server as `python -E -s -m sortlist_core.runner.worker --base DIR` (inside
bubblewrap in sandbox mode). Protocol: one JSON object per line, jobs on stdin, answers on
stdout. Single-threaded on purpose: forking a process with threads can deadlock the child.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import json
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 1.0  # after the child exits, how long its pipes may stay open (grandchildren)


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

    from . import child, codec  # noqa: F401

    torch.set_num_threads(1)


def _warm_model() -> None:
    """Build one TransformerLens model so first-use costs are paid here, not in every child."""
    import torch

    from sortlist_core.config import ModelConfig
    from sortlist_core.model import to_transformer_lens
    from sortlist_core.training import init_state_dict

    cfg = ModelConfig()
    to_transformer_lens(init_state_dict(cfg, None, torch.Generator().manual_seed(0)), cfg)


@dataclass
class Running:
    id: str
    pid: int
    pidfd: int
    out_fd: int | None
    res_fd: int | None
    jobdir: str
    uid: int | None
    limits: dict[str, Any]
    started: float
    deadline: float
    stdout: bytearray = field(default_factory=bytearray)
    stdout_seen: int = 0
    result: bytearray = field(default_factory=bytearray)
    exited: bool = False
    status: int | None = None
    cpu_s: float = 0.0
    exit_time: float = 0.0
    timed_out: bool = False
    result_too_large: bool = False
    printed_too_much: bool = False
    shut_down: bool = False


def _set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def _descendants(root: int) -> dict[int, int]:
    """pid -> real uid of every live descendant of `root` (orphans of our children are
    re-parented to us: we are a child subreaper, so they stay descendants)."""
    parent: dict[int, int] = {}
    uid: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                for line in f:
                    if line.startswith("PPid:"):
                        parent[int(name)] = int(line.split()[1])
                    elif line.startswith("Uid:"):
                        uid[int(name)] = int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    out: dict[int, int] = {}
    for pid in parent:
        p, seen = pid, 0
        while p in parent and seen < 4096:
            p, seen = parent[p], seen + 1
            if p == root:
                out[pid] = uid.get(pid, -1)
                break
    return out


class Worker:
    def __init__(self, base: str, proto_fd: int) -> None:
        self.base = base
        self.proto_fd = proto_fd
        self.sel = selectors.DefaultSelector()
        self.jobs: dict[str, Running] = {}
        self.by_pid: dict[int, Running] = {}
        self.inbuf = bytearray()
        self.stdin_open = True

    # --- protocol -----------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        data = memoryview((json.dumps(msg) + "\n").encode())
        while data:
            data = data[os.write(self.proto_fd, data) :]

    def on_stdin(self) -> None:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self.stdin_open = False
            self.sel.unregister(0)
            return
        self.inbuf += chunk
        while (nl := self.inbuf.find(b"\n")) >= 0:
            line, self.inbuf = bytes(self.inbuf[:nl]), self.inbuf[nl + 1 :]
            if line.strip():
                msg = json.loads(line)
                if msg.get("op") == "run":
                    self.start(msg)

    # --- one submission -----------------------------------------------------------------
    def start(self, msg: dict[str, Any]) -> None:
        from . import child

        limits = msg["limits"]
        jobdir = tempfile.mkdtemp(prefix="run-", dir=self.base)
        os.chmod(jobdir, 0o711)  # the child's uid may enter (to read model.pt), not list it
        ckpt = os.path.join(jobdir, "model.pt")
        with open(ckpt, "wb") as f:
            f.write(base64.b64decode(msg["checkpoint_b64"]))
        os.chmod(ckpt, 0o444)
        workdir = os.path.join(jobdir, "work")
        os.mkdir(workdir, 0o700)
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        uid, gid = msg.get("uid"), msg.get("gid")
        job = {
            "source": msg["source"],
            "entry": msg["entry"],
            "inputs": msg["inputs"],
            "params": msg["params"],
        }
        worker_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                child.lock_down(
                    worker_pid=worker_pid, stdout_fd=out_w, result_fd=res_w, workdir=workdir,
                    limits=limits, uid=uid, gid=gid,
                )  # fmt: skip
                child.run_submission(job, ckpt)
            finally:
                os._exit(72)
        os.close(out_w)
        os.close(res_w)
        now = time.monotonic()
        run = Running(
            id=msg["id"], pid=pid, pidfd=os.pidfd_open(pid), out_fd=out_r, res_fd=res_r, jobdir=jobdir,
            uid=uid, limits=limits, started=now, deadline=now + float(limits["wall_s"]),
        )  # fmt: skip
        for fd in (out_r, res_r):
            _set_nonblocking(fd)
        self.sel.register(out_r, selectors.EVENT_READ, ("out", run))
        self.sel.register(res_r, selectors.EVENT_READ, ("res", run))
        self.sel.register(run.pidfd, selectors.EVENT_READ, ("pid", run))
        self.jobs[run.id] = run
        self.by_pid[pid] = run
        self.send({"op": "started", "id": run.id, "pid": pid})

    def kill(self, run: Running) -> None:
        """SIGKILL the child's process group, then every descendant of ours that belongs to this
        run: those with its own uid (root server: one uid per slot), or, without a uid of its
        own, every descendant when no other run is active (a learner's setsid() escapes the
        group, not our subtree)."""
        try:
            os.killpg(run.pid, signal.SIGKILL)
        except OSError:
            pass
        own_uid = run.uid is not None and run.uid != os.getuid()
        if not own_uid and any(r is not run and not r.exited for r in self.jobs.values()):
            return  # cannot tell its strays from another run's; the group kill above must do
        me = os.getpid()
        for _ in range(50):  # a fork loop may add processes while we kill
            pids = [p for p, u in _descendants(me).items() if (u == run.uid if own_uid else True)]
            pids = [p for p in pids if p not in self.by_pid or self.by_pid[p] is run]
            if not pids:
                return
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)
            self.reap()

    def on_out(self, run: Running) -> None:
        chunk = self._read_chunk(run, "out_fd", 1 << 16)
        if not chunk:
            return
        run.stdout_seen += len(chunk)
        room = int(run.limits["stdout_bytes"]) - len(run.stdout)
        if room > 0:
            run.stdout += chunk[:room]
        if run.stdout_seen > int(run.limits.get("print_kill_bytes", 8 << 20)) and not run.printed_too_much:
            run.printed_too_much = True
            self.kill(run)

    def on_res(self, run: Running) -> None:
        chunk = self._read_chunk(run, "res_fd", 1 << 20)
        if not chunk:
            return
        run.result += chunk
        if len(run.result) > int(run.limits["result_bytes"]) + 65536:
            run.result_too_large = True
            run.result = bytearray()
            self._close(run, "res_fd")
            self.kill(run)

    def _read_chunk(self, run: Running, attr: str, size: int) -> bytes:
        """Up to `size` bytes from the child's pipe `attr`; b"" when nothing is ready yet, or at
        its end (then the pipe is closed here)."""
        try:
            chunk = os.read(getattr(run, attr), size)
        except BlockingIOError:
            return b""
        if not chunk:
            self._close(run, attr)
        return chunk

    def _close(self, run: Running, attr: str) -> None:
        fd = getattr(run, attr)
        if fd is not None:
            self.sel.unregister(fd)
            os.close(fd)
            setattr(run, attr, None)

    def reap(self) -> None:
        """Collect every exited child, ours or orphans re-parented to us (subreaper)."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.by_pid.pop(pid, None)
            if run is not None:
                run.exited, run.status = True, status
                run.cpu_s = usage.ru_utime + usage.ru_stime
                run.exit_time = time.monotonic()
                self.sel.unregister(run.pidfd)
                os.close(run.pidfd)
                self.kill(run)  # whatever it left behind dies with it

    def finish(self, run: Running) -> None:
        self._close(run, "out_fd")
        self._close(run, "res_fd")
        status = run.status or 0
        code = os.waitstatus_to_exitcode(status) if run.exited else None
        self.send({
            "op": "done", "id": run.id,
            "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None,
            "cpu_s": run.cpu_s, "wall_s": (run.exit_time or time.monotonic()) - run.started,
            "timed_out": run.timed_out, "result_too_large": run.result_too_large,
            "printed_too_much": run.printed_too_much, "printed_bytes": run.stdout_seen,
            "shut_down": run.shut_down,
            "stdout_b64": base64.b64encode(bytes(run.stdout)).decode(),
            "result_b64": base64.b64encode(bytes(run.result)).decode(),
        })  # fmt: skip
        del self.jobs[run.id]
        shutil.rmtree(run.jobdir, ignore_errors=True)

    # --- loop ----------------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        for run in list(self.jobs.values()):
            if not run.exited and now >= run.deadline and not run.timed_out:
                run.timed_out = True
                self.kill(run)
            if run.exited and ((run.out_fd is None and run.res_fd is None) or now >= run.exit_time + GRACE_S):
                self.finish(run)

    def serve(self) -> None:
        self.sel.register(0, selectors.EVENT_READ, ("stdin", None))
        while self.stdin_open or self.jobs:
            deadlines = [r.deadline for r in self.jobs.values() if not r.exited]
            deadlines += [r.exit_time + GRACE_S for r in self.jobs.values() if r.exited]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.5
            for key, _ in self.sel.select(min(timeout, 0.5)):
                what, run = key.data
                if what == "stdin":
                    self.on_stdin()
                elif what == "out":
                    self.on_out(run)
                elif what == "res":
                    self.on_res(run)
            self.reap()
            self.tick()
            if not self.stdin_open:  # the server is gone: stop everything now
                for run in list(self.jobs.values()):
                    if not run.shut_down:
                        run.shut_down = True
                        self.kill(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sortlist_core.runner.worker")
    parser.add_argument("--base", required=True, help="directory for the per-submission temp dirs")
    args = parser.parse_args(argv)
    proto_fd = os.dup(1)  # answers go here; stray prints (libraries) go to stderr
    os.dup2(2, 1)
    os.set_inheritable(proto_fd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    t0 = time.perf_counter()
    _preimport()
    _warm_model()
    worker = Worker(args.base, proto_fd)
    worker.send({"op": "ready", "pid": os.getpid(), "import_s": round(time.perf_counter() - t0, 3)})
    worker.serve()
    os._exit(0)  # skip interpreter teardown (seconds with torch loaded): nothing left to flush


if __name__ == "__main__":
    sys.exit(main())
