"""The worker's event loop: it forks one locked-down child per check (`child`), reads the
child's stdout and result pipes, enforces the wall clock, the print and result caps and the idle
rule, kills what a check leaves running, cleans up what it leaves behind (`leftovers`) and
answers the server, one JSON line per event.

Single-threaded on purpose: forking a process with threads can deadlock the child.
"""

from __future__ import annotations

import base64
import json
import os
import select
import selectors
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from . import policy
from .leftovers import remove_files_of_uid, remove_sysv, remove_tree, sysv_objects
from .processes import CLK_TCK, descendants, proc_table

GRACE_S = 1.0  # after the child exits, how long its pipes may stay open (grandchildren)
FRAME_HEADER_ROOM = 64 << 10  # what the result frame may hold beyond the value itself


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


class Supervisor:
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
            os.set_blocking(fd, False)
        self.sel.register(out_r, selectors.EVENT_READ, ("out", run))
        self.sel.register(res_r, selectors.EVENT_READ, ("res", run))
        self.sel.register(run.pidfd, selectors.EVENT_READ, ("pid", run))
        self.jobs[run.id] = run
        self.by_pid[pid] = run
        if not self.namespaces and self.ipc_before is None:
            self.ipc_before = {(o[0], o[1]) for o in sysv_objects()}
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
            pids = [p for p, u in descendants(me).items() if (u == run.uid if own_uid else True)]
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
        if run.stdout_seen > policy.PRINT_KILL_BYTES and not run.printed_too_much:
            run.printed_too_much = True
            self.kill(run)

    def on_res(self, run: Running) -> None:
        chunk = self._read_chunk(run, "res_fd", 1 << 20)
        if not chunk:
            return
        run.result += chunk
        if len(run.result) > int(run.limits["result_bytes"]) + FRAME_HEADER_ROOM:
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
            mine = [o for o in sysv_objects() if o[2] == run.uid]
        elif not self.jobs:
            # Shared uid: the objects of our uid that appeared while checks ran (made between
            # the first check's start and now), once no check runs.
            before = self.ipc_before or set()
            mine = [o for o in sysv_objects() if o[2] == os.getuid() and (o[0], o[1]) not in before]
        else:
            mine = []
        if not self.jobs:
            self.ipc_before = None
        remove_sysv(mine, run.uid if own_uid else None)  # now: the next check must not see them
        if os.fork() != 0:
            return  # reaped by reap() like an orphan
        try:
            remove_tree(run.jobdir)
            if own_uid:
                remove_files_of_uid(run.uid)
        finally:
            os._exit(0)

    def sample_idle(self, now: float) -> None:
        """End checks that sit idle: no process of theirs runnable in any sample and less than
        IDLE_CPU_FRACTION of a core for `idle_s` (sleeping, waiting on a pipe or a lock)."""
        running = [r for r in self.jobs.values() if not r.exited and not r.timed_out and not r.idle]
        if not running:
            return
        table = proc_table()
        for run in running:
            tree = [run.pid, *descendants(run.pid, table)]
            rows = [table[p] for p in tree if p in table]
            ticks = sum(row[3] for row in rows)
            busy = any(row[2] in "RD" for row in rows)
            window = now - self.last_sample if self.last_sample else policy.HEARTBEAT_S
            used = ticks - run.last_cpu_ticks if run.last_cpu_ticks >= 0 else CLK_TCK
            if busy or used < 0 or used > policy.IDLE_CPU_FRACTION * window * CLK_TCK:
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
