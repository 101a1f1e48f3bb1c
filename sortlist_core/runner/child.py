"""The submission child: forked from the worker, it locks itself down, then runs learner code.

Order matters: new session, die with the worker, stdout to the capped pipe, every other file
descriptor closed, empty working directory, resource limits, no new privileges, then the
unprivileged uid; only then are the fixtures built and the learner's source executed.
"""

from __future__ import annotations

import ctypes
import linecache
import os
import resource
import signal
import sys
import traceback
import types
from typing import Any

from .codec import Unsupported, encode_value, frame

LEARNER_FILENAME = "<your code>"
RESULT_FD = 3
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
SAFE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _prctl(option: int, arg: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _vm_size_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _threads_of_uid(uid: int) -> int:
    """Threads already running under uid: RLIMIT_NPROC counts them all, so without a uid of its
    own the child's allowance comes on top of the server user's existing count."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    total += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                continue
    return total


def lock_down(
    *,
    worker_pid: int,
    stdout_fd: int,
    result_fd: int,
    workdir: str,
    limits: dict,
    uid: int | None,
    gid: int | None,
) -> None:
    """Everything between fork and learner code (runs as the worker's uid, before the drop)."""
    os.setsid()  # own session and process group: the worker kills the whole group
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the line above
        os._exit(70)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stdout_fd, 2)
    os.dup2(result_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if uid is not None:
        os.chown(workdir, uid, gid)
    os.chmod(workdir, 0o700)
    os.chdir(workdir)
    os.umask(0o077)
    vm = _vm_size_bytes()
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    for which, soft, hard in (
        (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU first, then SIGKILL a second later
        (resource.RLIMIT_AS, vm + limits["memory_mb"] * (1 << 20), None),
        (resource.RLIMIT_FSIZE, limits["file_size_bytes"], None),
        (
            resource.RLIMIT_NPROC,
            limits["processes"] + (0 if uid is not None else _threads_of_uid(os.getuid())),
            None,
        ),
        (resource.RLIMIT_NOFILE, limits["open_files"], None),
        (resource.RLIMIT_CORE, 0, None),
    ):
        resource.setrlimit(which, (soft, soft if hard is None else hard))
    os.nice(10)  # the server's own pages win the CPU over learner code (it cannot undo this)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(71)
    if os.getuid() == 0:  # never run learner code as root, whatever the caller asked
        os._exit(71)
    os.environ.clear()
    os.environ.update(SAFE_ENV)


def _send(header: dict[str, Any], blobs: list[bytes] = ()) -> None:
    data = frame(header, list(blobs))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(RESULT_FD, view) :]
    except OSError:
        pass


def _trimmed_traceback(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == LEARNER_FILENAME]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8000:]


def _is_memory_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and ("allocate memory" in text or "not enough memory" in text)
    )


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - a learner may have replaced or closed them
            pass


def run_submission(job: dict[str, Any], checkpoint_path: str) -> None:
    """Build the fixtures, run the learner's function, send the framed result; never returns."""
    try:
        import torch

        torch.set_num_threads(1)
        from sortlist_core.exercises.fixtures import build_inputs

        names = tuple(job["inputs"])
        inputs = build_inputs(names, dict(job["params"]), checkpoint_path)
    except BaseException as exc:  # noqa: BLE001
        _send({"kind": "fixture_error", "message": f"{type(exc).__name__}: {exc}"[:2000]})
        os._exit(0)
    source = job["source"]
    linecache.cache[LEARNER_FILENAME] = (len(source), None, source.splitlines(True), LEARNER_FILENAME)
    try:
        module = types.ModuleType("learner")
        module.__file__ = LEARNER_FILENAME
        sys.modules["learner"] = module
        exec(compile(source, LEARNER_FILENAME, "exec"), module.__dict__)  # noqa: S102 - the sandboxed child's job
        fn = getattr(module, job["entry"], None)
        if not callable(fn):
            _flush()
            _send({"kind": "no_entry", "entry": job["entry"]})
            os._exit(0)
        value = fn(*[inputs[n] for n in names])
    except SystemExit:
        _flush()
        _send({"kind": "exited"})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - the learner's exception, reported to them
        _flush()
        tb = _trimmed_traceback(exc)
        kind = "memory" if _is_memory_error(exc) else "exception"
        del exc
        _send({"kind": kind, "exc_type": kind, "traceback": tb})
        os._exit(0)
    _flush()
    try:
        header, blobs = encode_value(value)
    except Unsupported as exc:
        _send({"kind": "unsupported", "what": str(exc)[:200]})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - e.g. a hostile __array__ raising
        _send({"kind": "encode_error", "traceback": _trimmed_traceback(exc)})
        os._exit(0)
    _send(header, blobs)
    os._exit(0)
