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
import select
import selectors
import signal
import stat
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from . import policy

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 1.0  # after the child exits, how long its pipes may stay open (grandchildren)
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_IPC_RMID = 0


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
    idle: bool = False
    parked: bool = False  # the server was told it sits idle (it gives its CPU slot back)
    idle_since: float = 0.0
    last_cpu_ticks: int = -1
    setup_error: str = ""


def _set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def _proc_table() -> dict[int, tuple[int, int, str, int]]:
    """pid -> (parent pid, real uid, state letter, CPU ticks incl. reaped children) of every
    process this worker can see."""
    table: dict[int, tuple[int, int, str, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                text = f.read().decode("ascii", "replace")
            uid = os.stat(f"/proc/{name}").st_uid
            fields = text[text.rindex(")") + 2 :].split()
            ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
            table[int(name)] = (int(fields[1]), uid, fields[0], ticks)
        except (OSError, ValueError, IndexError):
            continue
    return table


def _descendants(root: int, table: dict[int, tuple[int, int, str, int]] | None = None) -> dict[int, int]:
    """pid -> real uid of every live descendant of `root` (orphans of our children are
    re-parented to us: we are a child subreaper, so they stay descendants)."""
    table = _proc_table() if table is None else table
    out: dict[int, int] = {}
    for pid in table:
        p, seen = pid, 0
        while p in table and seen < 4096:
            p, seen = table[p][0], seen + 1
            if p == root:
                out[pid] = table[pid][1]
                break
    return out


def remove_tree(path: str) -> None:
    """Delete a directory tree without recursion (a check may leave thousands of nested
    directories) and in time linear in its size: it walks by chdir, so no path grows long,
    never follows a link, skips what it cannot remove and restores the working directory.
    Only called once the check's processes are dead (nothing renames under it)."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
    except OSError:
        return
    home = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.chdir(path)
        names: list[str] = []  # the directories we are in, below `path`
        budget = 1_000_000  # entries: a tree that keeps growing under us is left
        while budget > 0:
            try:
                os.chmod(".", 0o700)  # a check may have made its directories unreadable
            except OSError:
                pass
            sub = None
            try:
                entries = list(os.scandir("."))
            except OSError:
                entries = []
            for entry in entries:
                budget -= 1
                try:
                    if stat.S_ISDIR(os.lstat(entry.name).st_mode):
                        sub = sub or entry.name
                    else:
                        os.unlink(entry.name)
                except OSError:
                    pass
            if sub is not None:
                try:
                    os.chdir(sub)
                    names.append(sub)
                    continue
                except OSError:
                    pass  # cannot enter it: leave it and go up
            if not names:
                break
            os.chdir("..")
            try:
                os.rmdir(names.pop())
            except OSError:
                if sub is not None or not names:
                    break
        os.fchdir(home)
        os.rmdir(path)
    except OSError:
        pass
    finally:
        os.fchdir(home)
        os.close(home)


def _sysv_objects() -> list[tuple[str, int, int, int]]:
    """(kind, id, creator uid, creator pid or -1) of every SysV IPC object visible here."""
    out = []
    for kind, cpid_col, cuid_col in (("shm", 4, 9), ("sem", None, 6), ("msg", None, 9)):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            try:
                cpid = int(cols[cpid_col]) if cpid_col is not None else -1
                out.append((kind, int(cols[1]), int(cols[cuid_col]), cpid))
            except (IndexError, ValueError):
                continue
    return out


def _remove_sysv(objects: list[tuple[str, int, int, int]], as_uid: int | None) -> None:
    """IPC_RMID each object, in a throw-away child with the objects' uid when that is not ours
    (a root worker without CAP_SYS_ADMIN may only remove objects of its own uid)."""
    if not objects:
        return
    pid = os.fork()
    if pid == 0:
        try:
            if as_uid is not None and as_uid != os.geteuid():
                os.setgroups([])
                os.setgid(policy.CHILD_GID)
                os.setuid(as_uid)
            libc = ctypes.CDLL(None)
            for kind, ident, _, _ in objects:
                if kind == "shm":
                    libc.shmctl(ident, _IPC_RMID, None)
                elif kind == "sem":
                    libc.semctl(ident, 0, _IPC_RMID)
                else:
                    libc.msgctl(ident, _IPC_RMID, None)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


class Worker:
    def __init__(self, base: str, proto_fd: int, namespaces: bool = False) -> None:
        self.base = base
        self.proto_fd = proto_fd
        self.namespaces = namespaces  # each check in its own user/PID/IPC/mount namespaces
        self.last_beat = 0.0
        self.last_sample = 0.0
        self.ipc_before: set[tuple[str, int]] | None = None  # no namespaces: objects before the checks
        self.sel = selectors.DefaultSelector()
        self.jobs: dict[str, Running] = {}
        self.by_pid: dict[int, Running] = {}
        self.inbuf = bytearray()
        self.stdin_open = True

    # --- protocol -----------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        """One line to the server; a server that reads nothing for WORKER_SEND_S is gone."""
        data = memoryview((json.dumps(msg) + "\n").encode())
        deadline = time.monotonic() + policy.WORKER_SEND_S
        while data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.proto_fd], [], left)[1]:
                os._exit(1)
            try:
                data = data[os.write(self.proto_fd, data) :]
            except BlockingIOError:
                continue

    def on_stdin(self) -> None:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self.stdin_open = False
            self.sel.unregister(0)
            return
        self.inbuf += chunk
        while (nl := self.inbuf.find(b"\n")) >= 0:
            line, self.inbuf = bytes(self.inbuf[:nl]), self.inbuf[nl + 1 :]
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if type(msg) is dict and msg.get("op") == "run":
                self.start(msg)

    # --- one submission -----------------------------------------------------------------
    def start(self, msg: dict[str, Any]) -> None:
        """Fork the check's child; whatever goes wrong here is answered for this job alone."""
        try:
            self._start(msg)
        except Exception as exc:  # noqa: BLE001 - e.g. the worker's /tmp full: this job fails
            self.send({
                "op": "done", "id": str(msg.get("id")), "setup_error": f"{type(exc).__name__}: {exc}"[:300],
                "exit_code": None, "signal": None, "stdout_b64": "", "result_b64": "",
            })  # fmt: skip
            traceback.print_exc()

    def _start(self, msg: dict[str, Any]) -> None:
        from . import child

        limits = msg["limits"]
        jobdir = tempfile.mkdtemp(prefix="run-", dir=self.base)
        os.chmod(jobdir, 0o711)  # the child's uid may enter its work dir, not list this one
        checkpoint = base64.b64decode(msg["checkpoint_b64"])  # handed over in memory, not a file
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
                child.isolate(self.namespaces)
                child.run_submission(job, checkpoint)
            finally:
                os._exit(policy.EXIT_SETUP_FAILED)
        os.close(out_w)
        os.close(res_w)
        now = time.monotonic()
        run = Running(
            id=msg["id"], pid=pid, pidfd=os.pidfd_open(pid), out_fd=out_r, res_fd=res_r, jobdir=jobdir,
            uid=uid, limits=limits, started=now, deadline=now + float(limits["wall_s"]), idle_since=now,
        )  # fmt: skip
        for fd in (out_r, res_r):
            _set_nonblocking(fd)
        self.sel.register(out_r, selectors.EVENT_READ, ("out", run))
        self.sel.register(res_r, selectors.EVENT_READ, ("res", run))
        self.sel.register(run.pidfd, selectors.EVENT_READ, ("pid", run))
        self.jobs[run.id] = run
        self.by_pid[pid] = run
        if not self.namespaces and self.ipc_before is None:
            self.ipc_before = {(o[0], o[1]) for o in _sysv_objects()}
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
            "shut_down": run.shut_down, "idle": run.idle,
            "stdout_b64": base64.b64encode(bytes(run.stdout)).decode(),
            "result_b64": base64.b64encode(bytes(run.result)).decode(),
        })  # fmt: skip
        del self.jobs[run.id]
        try:
            self.clean_up(run)
        except Exception:  # noqa: BLE001 - never let what a check left end the worker
            traceback.print_exc()

    def clean_up(self, run: Running) -> None:
        """What a check may leave: its directory; without namespaces also its SysV IPC objects
        and, when it had a uid of its own, its files in the shared temp dirs (with namespaces
        those were private to it and went with it). Without namespaces that can be thousands of
        files on a disk: a forked cleaner does it, so this loop keeps answering."""
        if self.namespaces:
            remove_tree(run.jobdir)  # an empty mount point: the check's files were in its tmpfs
            return
        own_uid = run.uid is not None and run.uid != os.getuid()
        if own_uid:
            mine = [o for o in _sysv_objects() if o[2] == run.uid]
        elif not self.jobs:
            # Shared uid: the objects of our uid that appeared while checks ran (made between
            # the first check's start and now), once no check runs.
            before = self.ipc_before or set()
            mine = [o for o in _sysv_objects() if o[2] == os.getuid() and (o[0], o[1]) not in before]
        else:
            mine = []
        if not self.jobs:
            self.ipc_before = None
        _remove_sysv(mine, run.uid if own_uid else None)  # now: the next check must not see them
        if os.fork() != 0:
            return  # reaped by reap() like an orphan
        try:
            remove_tree(run.jobdir)
            if own_uid:
                for tmp in policy.CHILD_SCRATCH_MOUNTS:
                    try:
                        entries = list(os.scandir(tmp))
                    except OSError:
                        continue
                    for entry in entries:
                        try:
                            if entry.stat(follow_symlinks=False).st_uid == run.uid:
                                remove_tree(entry.path)
                        except OSError:
                            continue
        finally:
            os._exit(0)

    def sample_idle(self, now: float) -> None:
        """End checks that sit idle: no process of theirs runnable in any sample and less than
        IDLE_CPU_FRACTION of a core for `idle_s` (sleeping, waiting on a pipe or a lock)."""
        running = [r for r in self.jobs.values() if not r.exited and not r.timed_out and not r.idle]
        if not running:
            return
        table = _proc_table()
        for run in running:
            tree = [run.pid, *_descendants(run.pid, table)]
            rows = [table[p] for p in tree if p in table]
            ticks = sum(row[3] for row in rows)
            busy = any(row[2] in "RD" for row in rows)
            window = now - self.last_sample if self.last_sample else policy.HEARTBEAT_S
            used = ticks - run.last_cpu_ticks if run.last_cpu_ticks >= 0 else _CLK_TCK
            if busy or used < 0 or used > policy.IDLE_CPU_FRACTION * window * _CLK_TCK:
                run.idle_since = now
            run.last_cpu_ticks = ticks
            if not run.parked and now - run.idle_since >= policy.PARK_AFTER_S:
                run.parked = True
                self.send({"op": "idle", "id": run.id})
            if now - run.idle_since >= float(run.limits.get("idle_s", 4.0)):
                run.idle = True
                self.kill(run)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_beat >= policy.HEARTBEAT_S:
            self.sample_idle(now)
            self.last_sample = self.last_beat = now
            self.send({"op": "alive"})
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
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else policy.HEARTBEAT_S
            for key, _ in self.sel.select(min(timeout, policy.HEARTBEAT_S)):
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
    from . import child

    if args.no_namespaces:
        namespaces, how = False, "turned off"
    else:
        probe_uid = policy.DEFAULT_BASE_UID if os.getuid() == 0 else None
        namespaces, how = child.probe_namespaces(probe_uid, policy.CHILD_GID)
    worker = Worker(args.base, proto_fd, namespaces)
    worker.send({
        "op": "ready", "pid": os.getpid(), "import_s": round(time.perf_counter() - t0, 3),
        "namespaces": namespaces, "proc": how if namespaces else "shared", "why": "" if namespaces else how,
    })  # fmt: skip
    worker.serve()
    os._exit(0)  # skip interpreter teardown (seconds with torch loaded): nothing left to flush


if __name__ == "__main__":
    sys.exit(main())
