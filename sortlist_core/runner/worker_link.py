"""The server's link to its worker process: starting it, writing jobs to its stdin and reading
its answers from its stdout, each with a deadline, and killing it.

No lock is held across a pipe read or write: a worker that stops answering (killed, stopped,
wedged) is killed, and every job it held is answered with `WorkerDied`.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from . import policy

READ_CHUNK = 1 << 20  # bytes per read of the worker's answers (a pipe holds 64 kB; more is never waiting)


class WorkerDied(RuntimeError):
    """The worker stopped (or was replaced) before it answered; the message says why."""


class WorkerLink:
    """One worker process, the thread that started it and reads its answers, and the thread
    that writes jobs to it.

    The reader thread does the Popen itself: bubblewrap's --die-with-parent (PR_SET_PDEATHSIG)
    fires when the *thread* that forked it ends, so that thread must live as long as the worker.
    """

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        log: Path,
        on_idle: Callable[[str], None] | None = None,
    ) -> None:
        self.log = log
        self.on_idle = on_idle  # called (reader thread) when a job has sat idle for PARK_AFTER_S
        self.pending: dict[str, Future] = {}
        self.lock = threading.Lock()  # guards `pending` only; never held across I/O
        self.ready = threading.Event()
        self.dead = threading.Event()
        self.error = ""
        self.info: dict[str, Any] = {}
        self.last_heard = time.monotonic()
        self.proc: subprocess.Popen | None = None
        self._stdin_fd = -1
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._started = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(argv, env, cwd), daemon=True, name="runner-worker"
        )
        self.thread.start()
        self._started.wait()
        self._writer = threading.Thread(target=self._write_loop, daemon=True, name="runner-writer")
        self._writer.start()

    def _run(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        pass_fds: tuple[int, ...] = ()
        if os.path.basename(argv[0]) == "bwrap":
            # Arguments through a pipe: bwrap is PID 1 of the sandbox and its /proc/1/cmdline
            # would otherwise show the host paths it mounts.
            r, w = os.pipe()
            cut = argv.index("--")
            os.write(w, b"".join(a.encode() + b"\0" for a in argv[1:cut]))
            os.close(w)
            argv, pass_fds = [argv[0], "--args", str(r), *argv[cut:]], (r,)
        log_file = open(self.log, "ab")  # noqa: SIM115 - the worker's stderr, for diagnostics
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, bufsize=0,
                env=env, cwd=cwd, close_fds=True, pass_fds=pass_fds, start_new_session=True, umask=0o022,
            )  # fmt: skip
        except OSError as exc:
            self.error = f"could not start the worker: {exc}"
            self.dead.set()
            self._started.set()
            return
        finally:
            log_file.close()
            for fd in pass_fds:
                os.close(fd)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin_fd = self.proc.stdin.fileno()
        os.set_blocking(self._stdin_fd, False)
        self.last_heard = time.monotonic()
        self._started.set()
        for line in self._lines(self.proc.stdout.fileno()):
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if type(msg) is not dict:
                continue
            if msg.get("op") == "ready":
                self.info = msg
                self.ready.set()
            elif msg.get("op") == "idle" and self.on_idle is not None:
                self.on_idle(str(msg.get("id")))
            elif msg.get("op") == "done":
                with self.lock:
                    fut = self.pending.pop(str(msg.get("id")), None)
                if fut is not None:
                    fut.set_result(msg)
        self.proc.wait()
        try:
            tail = self.log.read_bytes()[-2000:].decode("utf-8", "replace").strip().splitlines()[-1:]
        except OSError:
            tail = []
        detail = f": {tail[0][:300]}" if tail else ""
        self.error = self.error or f"the worker stopped (exit status {self.proc.returncode}){detail}"
        self.dead.set()
        self._outbox.put(None)
        with self.lock:
            pending, self.pending = self.pending, {}
        for fut in pending.values():
            fut.set_exception(WorkerDied(self.error))

    def _write_loop(self) -> None:
        """Jobs to the worker, each written within PIPE_WRITE_S or the worker is replaced."""
        while (data := self._outbox.get()) is not None:
            view = memoryview(data)
            deadline = time.monotonic() + policy.PIPE_WRITE_S
            while view and not self.dead.is_set():
                left = deadline - time.monotonic()
                try:
                    writable = left > 0 and select.select([], [self._stdin_fd], [], min(left, 0.5))[1]
                    if writable:
                        view = view[os.write(self._stdin_fd, view) :]
                    elif left <= 0:
                        self.kill(f"it did not take a job within {policy.PIPE_WRITE_S:g} s")
                        return
                except BlockingIOError:
                    continue
                except (OSError, ValueError):
                    self.kill("its input pipe broke")
                    return

    def _lines(self, fd: int) -> Iterator[bytes]:
        """The worker's lines, read in large chunks. The pipe is unbuffered (`bufsize=0`), and
        iterating a raw pipe reads one byte per system call: a 4.7 MB answer (an Explain-it
        hypothesis's arrays) then took seconds of GIL hand-offs, long enough for the silence
        watchdog to replace a healthy worker. Every chunk counts as hearing from the worker."""
        buf = bytearray()
        scanned = 0  # no newline before this offset: a long line is scanned once, not per chunk
        while chunk := os.read(fd, READ_CHUNK):
            self.last_heard = time.monotonic()
            buf += chunk
            while (nl := buf.find(b"\n", scanned)) >= 0:
                yield bytes(buf[:nl])
                del buf[: nl + 1]
                scanned = 0
            scanned = len(buf)
        if buf:
            yield bytes(buf)

    def alive(self) -> bool:
        return not self.dead.is_set() and self.proc is not None and self.proc.poll() is None

    def silent_for(self) -> float:
        return time.monotonic() - self.last_heard

    def submit(self, job_id: str, payload: dict[str, Any]) -> Future:
        """Queue one job (never blocks: the writer thread writes it, with a deadline)."""
        fut: Future = Future()
        with self.lock:
            if self.dead.is_set():
                raise WorkerDied(self.error)
            self.pending[job_id] = fut
        self._outbox.put((json.dumps(payload) + "\n").encode())
        return fut

    def kill(self, why: str) -> None:
        """SIGKILL the worker's process group now (no lock, no wait): its reader thread then
        sees the pipe close and answers every pending job."""
        self.error = self.error or f"the worker was replaced: {why}"
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def stop(self) -> None:
        """Close its stdin (it then kills its runs and their processes and exits), then SIGKILL."""
        self._outbox.put(None)
        if self.proc is not None and self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # unbuffered: closing never waits on the worker
                self.proc.wait(timeout=3)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self.kill("the server stopped it")
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.dead.wait(5)
