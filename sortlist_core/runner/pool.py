"""Server side of the runner: one worker process per server, a bounded queue, caps per server
and per learner, and the translation of what came back into a learner-facing RunOutcome.

The worker is (re)started on demand. Every pipe read and write has a deadline and no lock is
held across one: a worker that stops answering (killed, stopped, wedged) is killed and replaced
within seconds, and the checks it held are answered "run the check again".
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .. import settings
from . import policy, sandbox
from .codec import BadMessage, decode_message
from .job import Job, Limits, RunOutcome
from .mode import ModeDecision, RunnerMode, runner_mode
from .worker import remove_tree

ENV_CONCURRENCY = settings.RUNNER_CONCURRENCY  # jobs running at once per server (default 2)
ENV_QUEUE = settings.RUNNER_QUEUE  # jobs waiting beyond those (default 20)
ENV_UID = settings.RUNNER_UID  # first unprivileged uid when the server is root (default 65534)
START_TIMEOUT_S = policy.WORKER_START_S
QUEUE_WAIT_S = policy.QUEUE_WAIT_S
NO_RESULT_GRACE_S = policy.NO_RESULT_GRACE_S
SETUP_EXIT_CODES = policy.SETUP_EXIT_CODES
TRY_AGAIN = (
    "The code checker restarted while your code waited or ran ({why}); nothing was wrong with "
    "your code as far as we know. Run the check again."
)


class WorkerDied(RuntimeError):
    pass


class _Worker:
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
        for line in self.proc.stdout:
            self.last_heard = time.monotonic()
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


def _make_non_dumpable() -> None:
    """Learner code running as our uid (no namespaces) must not open our /proc files."""
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


class Runner:
    """A server's runner: run(job) blocks and always answers with a RunOutcome."""

    def __init__(
        self,
        decision: ModeDecision | None = None,
        limits: Limits | None = None,
        *,
        max_running: int | None = None,
        max_queued: int | None = None,
        env: Mapping[str, str] = os.environ,
        child_namespaces: bool = True,
    ) -> None:
        self.decision = decision or runner_mode(env)
        self.limits = limits or Limits()
        self.max_running = max_running or settings.integer(ENV_CONCURRENCY, 2, 1, 16, env)
        self.max_queued = (
            max_queued if max_queued is not None else settings.integer(ENV_QUEUE, 20, 0, 256, env)
        )
        self.base_uid = settings.integer(ENV_UID, policy.DEFAULT_BASE_UID, 1000, 2**31 - 2, env)
        self.child_namespaces = child_namespaces  # False: what a kernel without them gives (tests)
        self._lock = threading.Condition()
        self._sessions: set[str] = set()
        self._waiting = 0
        self._free_slots = list(range(self.max_running))  # CPU slots
        # An idle check gives its CPU slot back until it is ended (or wakes): at most this many.
        self.max_parked = self.max_running
        self._holding: dict[str, int] = {}  # job id -> the CPU slot it holds
        self._parked: set[str] = set()
        self._free_uids = list(range(self.max_running + self.max_parked))  # uid = base_uid - index
        self._worker: _Worker | None = None
        self._worker_lock = threading.Lock()
        self._tmp: Path | None = None
        self._seq = 0
        self.worker_starts = 0

    # --- the worker ------------------------------------------------------------------------
    def _private_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="sortlist-runner-"))
            self._tmp.chmod(0o711)  # children (another uid, process mode) enter their run dirs
        return self._tmp

    def _worker_argv(self) -> tuple[list[str], dict[str, str], str]:
        tmp = self._private_dir()
        if self.decision.mode is RunnerMode.SANDBOX:
            pkg = tmp / "pkg"
            if not pkg.exists():
                sandbox.copy_package(pkg)
            argv = sandbox.worker_command(pkg)
            return argv + ([] if self.child_namespaces else ["--no-namespaces"]), {}, "/"
        runs = tmp / "runs"
        runs.mkdir(mode=0o711, exist_ok=True)
        runs.chmod(0o711)
        root = str(Path(__file__).resolve().parent.parent.parent)  # so `-m sortlist_core...` imports
        argv = [sys.executable, "-E", "-s", "-m", "sortlist_core.runner.worker", "--base", str(runs)]
        argv += [] if self.child_namespaces else ["--no-namespaces"]
        return argv, dict(policy.WORKER_ENV), root

    def _ensure_worker(self) -> _Worker:
        old = None
        with self._worker_lock:  # held for a Popen, never for pipe I/O
            w = self._worker
            if w is None or not w.alive():
                old = w
                argv, env, cwd = self._worker_argv()
                w = self._worker = _Worker(argv, env, cwd, self._private_dir() / "worker.log", self._park)
                self.worker_starts += 1
        if old is not None:
            old.kill("it had stopped")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not w.ready.wait(0.2):
            if w.dead.is_set():
                raise WorkerDied(w.error)
            if time.monotonic() > deadline:
                w.kill("it did not start in time")
                raise WorkerDied("the worker did not start in time")
        if not w.info.get("namespaces") and os.geteuid() != 0:
            _make_non_dumpable()  # its checks run as our uid and see our /proc
        return w

    @property
    def isolation(self) -> dict[str, Any]:
        """What the running worker found: {"namespaces": bool, "proc": "own" | "self-only" |
        "shared", "why": reason when there are none}; {} before it started."""
        w = self._worker
        if w is None or not w.info:
            return {}
        return {k: w.info.get(k) for k in ("namespaces", "proc", "why")}

    def warm_up(self) -> None:
        """Start the worker now (it takes seconds) so the first check is fast."""
        if self.decision.mode is not RunnerMode.OFF:
            self._ensure_worker()

    def close(self) -> None:
        with self._worker_lock:
            w, self._worker = self._worker, None
        if w is not None:
            w.stop()
        if self._tmp is not None:
            remove_tree(str(self._tmp))  # iterative: a killed check may have left deep trees
            self._tmp = None

    # --- admission ---------------------------------------------------------------------------
    def _admit(self, session: str | None) -> str | None:
        """None when admitted (then a slot must be acquired), else the busy message. `session`
        is the learner key in the app: one check per learner, running or queued."""
        with self._lock:
            if session is not None and session in self._sessions:
                return "You already have a check running; wait for its result, then try again."
            if self._waiting >= self.max_queued and not self._free_slots:
                return (
                    f"The code checker is busy ({self.max_running} checks running, {self._waiting} waiting); "
                    "try again in a few seconds."
                )
            if session is not None:
                self._sessions.add(session)
            self._waiting += 1
            return None

    @property
    def uids(self) -> set[int]:
        """The unprivileged uids a root server gives its checks (one per check in flight)."""
        return {self.base_uid - i for i in range(self.max_running + self.max_parked)}

    def _acquire_slot(self, job_id: str) -> int | None:
        """A CPU slot and a uid index for job_id (None: waited QUEUE_WAIT_S in vain)."""
        deadline = time.monotonic() + QUEUE_WAIT_S
        with self._lock:
            try:
                while not self._free_slots or not self._free_uids:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._lock.wait(left)
                self._holding[job_id] = self._free_slots.pop(0)
                return self._free_uids.pop(0)
            finally:
                self._waiting -= 1

    def _park(self, job_id: str) -> None:
        """The worker says job_id sits idle: its CPU slot goes to the next check in the queue
        while the idle one waits to be ended (at most max_parked at once)."""
        with self._lock:
            if job_id in self._holding and len(self._parked) < self.max_parked:
                self._free_slots.append(self._holding.pop(job_id))
                self._parked.add(job_id)
                self._lock.notify_all()

    def _release(self, session: str | None, job_id: str, uid_index: int | None) -> None:
        with self._lock:
            if session is not None:
                self._sessions.discard(session)
            if job_id in self._holding:
                self._free_slots.append(self._holding.pop(job_id))
            self._parked.discard(job_id)
            if uid_index is not None:
                self._free_uids.append(uid_index)
            self._free_slots.sort()
            self._free_uids.sort()
            self._lock.notify_all()

    # --- one job -------------------------------------------------------------------------------
    def run(self, job: Job, *, session: str | None = None, timeout_s: float | None = None) -> RunOutcome:
        t0 = time.perf_counter()
        if self.decision.mode is RunnerMode.OFF:
            return RunOutcome("off", message=self.decision.reason)
        busy = self._admit(session)
        if busy is not None:
            return RunOutcome("busy", message=busy, seconds=time.perf_counter() - t0)
        with self._lock:
            self._seq += 1
            job_id = f"{os.getpid()}-{self._seq}"
        slot = None
        try:
            slot = self._acquire_slot(job_id)
            if slot is None:
                return RunOutcome(
                    "busy", message="The code checker is busy; try again in a few seconds.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            limits = self.limits
            if timeout_s is not None:
                limits = Limits(**{**limits.to_dict(), "cpu_s": timeout_s, "wall_s": timeout_s * 1.5 + 2})
            return self._run_in_worker(job, job_id, limits, slot, t0)
        finally:
            self._release(session, job_id, slot)

    def _run_in_worker(self, job: Job, job_id: str, limits: Limits, slot: int, t0: float) -> RunOutcome:
        root = os.geteuid() == 0
        payload = {
            "op": "run", "id": job_id, "source": job.source, "entry": job.entry,
            "inputs": list(job.inputs), "params": dict(job.params),
            "checkpoint_b64": base64.b64encode(job.checkpoint).decode(),
            "limits": limits.to_dict(),
            "uid": self.base_uid - slot if root else None, "gid": 65534 if root else None,
        }  # fmt: skip
        for _attempt in range(2):  # a worker found dead before taking the job: one restart
            try:
                worker = self._ensure_worker()
            except WorkerDied as exc:
                return RunOutcome(
                    "crashed", message=f"The code checker could not start ({exc}); try again later.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            try:
                fut = worker.submit(job_id, payload)
            except WorkerDied:
                continue
            t0 = time.perf_counter()
            try:
                done = self._wait(worker, fut, limits.wall_s + NO_RESULT_GRACE_S)
            except WorkerDied as exc:
                # Answered, never left hanging: the job may have been the one that killed the
                # worker, so it is not silently run again.
                return RunOutcome(
                    "crashed", message=TRY_AGAIN.format(why=str(exc)[:200]), seconds=time.perf_counter() - t0
                )
            except FutureTimeout:
                worker.kill("a job got no answer in time")
                return RunOutcome(
                    "timeout", message="The code checker did not answer in time; run the check again.",
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            return outcome_from_done(done, limits, job.entry)
        return RunOutcome(
            "crashed", message=TRY_AGAIN.format(why="it stopped twice"), seconds=time.perf_counter() - t0
        )

    @staticmethod
    def _wait(worker: _Worker, fut: Future, timeout_s: float) -> dict[str, Any]:
        """The job's answer; a worker silent for WORKER_SILENT_S (stopped, wedged) is killed,
        which answers its jobs with WorkerDied."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return fut.result(timeout=0.25)
            except FutureTimeout:
                if time.monotonic() > deadline:
                    raise
                if worker.silent_for() > policy.WORKER_SILENT_S and not worker.dead.is_set():
                    worker.kill(f"it stopped answering for {policy.WORKER_SILENT_S:g} s")

    def _restart(self) -> None:
        with self._worker_lock:
            w, self._worker = self._worker, None
        if w is not None:
            w.kill("restart")


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.0f} MB"


def outcome_from_done(done: dict[str, Any], limits: Limits, entry: str) -> RunOutcome:
    """Translate the worker's report (untrusted bytes from the child inside) into an outcome."""
    stdout = base64.b64decode(done.get("stdout_b64", ""))[: limits.stdout_bytes].decode("utf-8", "replace")
    printed = int(done.get("printed_bytes", 0))
    if printed > limits.stdout_bytes:
        stdout += f"\n[... output cut: your code printed {printed:,} bytes, the first {limits.stdout_bytes:,} are shown]"
    seconds = float(done.get("wall_s", 0.0))

    def out(status: str, message: str = "", value: Any = None, tb: str = "") -> RunOutcome:
        return RunOutcome(status, value=value, message=message, traceback=tb, stdout=stdout, seconds=seconds)  # type: ignore[arg-type]

    sig = done.get("signal")
    cpu = float(done.get("cpu_s", 0.0))
    cpu_limit = max(1, int(limits.cpu_s + 0.999))
    if sig == signal.SIGXCPU or (
        sig == signal.SIGKILL and cpu >= cpu_limit - 0.05 and not done.get("timed_out")
    ):
        return out("timeout", f"Your code used more than {cpu_limit} s of CPU time and was stopped.")
    if done.get("setup_error"):
        return out("crashed", "The checker could not set up a process for your code; run the check again.")
    if done.get("idle"):
        idle = float(limits.idle_s)
        return out(
            "timeout",
            f"Your code sat idle (almost no CPU for {idle:g} s: sleeping or waiting) and was stopped, "
            "so that others' checks can run.",
        )
    if done.get("shut_down"):
        return out("crashed", "The code checker was shut down while your code ran; run the check again.")
    if done.get("timed_out"):
        return out(
            "timeout", f"Your code ran for more than {limits.wall_s:g} s (wall clock) and was stopped."
        )
    if done.get("result_too_large"):
        return out(
            "output", f"Your function returned more than {_mb(limits.result_bytes)} of data; return less."
        )
    if done.get("printed_too_much"):
        return out(
            "output",
            f"Your code printed more than {_mb(policy.PRINT_KILL_BYTES)} and was stopped; print less.",
        )
    raw = base64.b64decode(done.get("result_b64", ""))
    if not raw:
        if sig is not None:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            hint = " (deep recursion does this)" if sig == signal.SIGSEGV else ""
            return out("crashed", f"Your code crashed the Python process with signal {name}{hint}.")
        if done.get("exit_code") in SETUP_EXIT_CODES:
            return out(
                "crashed", "The checker could not set up the process for your code; run the check again."
            )
        return out("error", "Your code exited (sys.exit or os._exit) before returning a value.")
    try:
        header, value = decode_message(raw)
    except (BadMessage, ValueError, UnicodeDecodeError) as exc:
        return out("error", f"Your function's return value could not be read back ({exc}).")
    kind = header["kind"]
    tb = str(header.get("traceback", ""))[-8000:]
    if kind == "ok":
        return out("ok", value=value)
    if kind == "memory":
        return out(
            "memory",
            f"Your code tried to use more than {limits.memory_mb} MB of memory and was stopped.",
            tb=tb,
        )
    if kind == "exited":
        return out("error", "Your code exited (sys.exit or os._exit) before returning a value.")
    if kind == "no_entry":
        return out("error", f"Your code defines no function named `{entry}`.")
    if kind == "unsupported":
        what = str(header.get("what", "something else"))[:200]
        return out("error", f"Your function returned {what}; return a tensor, a number or a list.")
    if kind == "encode_error":
        return out("error", "Your function's return value could not be converted to plain data.", tb=tb)
    if kind == "fixture_error":
        return out(
            "crashed",
            f"The checker could not prepare your function's inputs: {str(header.get('message'))[:500]}",
        )
    if kind == "exception":
        last = tb.strip().splitlines()[-1] if tb.strip() else "an exception"
        if last.startswith("BlockingIOError"):
            return out(
                "error",
                f"Your code tried to start too many processes or threads (limit {limits.processes}).",
                tb=tb,
            )
        if "File too large" in last:
            return out("output", f"Your code wrote a file larger than {_mb(limits.file_size_bytes)}.", tb=tb)
        if last.startswith("RecursionError"):
            return out("error", "Your code recursed too deeply (RecursionError).", tb=tb)
        return out("error", f"Your code raised {last[:300]}", tb=tb)
    return out("error", "Your code sent back something the checker does not understand.")


_RUNNER: Runner | None = None
_RUNNER_LOCK = threading.Lock()


def default_runner() -> Runner:
    """The process-wide runner (created on first use, from the environment)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = Runner()
            atexit.register(_RUNNER.close)  # the worker and the private temp dir go with us
        return _RUNNER


def run_job(job: Job, *, session: str | None = None, timeout_s: float = 10.0) -> RunOutcome:
    """Run a learner's function through the process-wide runner; blocks; always answers.
    `session`: the learner key (at most one check per key, running or queued)."""
    return default_runner().run(job, session=session, timeout_s=timeout_s)
