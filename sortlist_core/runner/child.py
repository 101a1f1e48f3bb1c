"""The submission child: forked from the worker, it locks itself down, then runs learner code.

Order matters: new session, die with the worker, stdout to the capped pipe, every other file
descriptor closed, resource limits, no new privileges, the unprivileged uid; then (where the
kernel allows it) a user namespace of its own with new PID, IPC and mount namespaces: the
process that runs learner code is PID 1 there, sees its own /proc (or only itself), works in
private size-capped tmpfs scratch, and has no capabilities (those steps are in `namespaces`). Only then are the fixtures built and
the learner's source executed. Every figure comes from `policy`.
"""

from __future__ import annotations

import linecache
import os
import resource
import signal
import sys
import types
from typing import Any

from ..learner_code import LEARNER_FILENAME, compile_learner_code, trimmed_traceback
from . import policy
from .codec import Unsupported, encode_value, frame
from .namespaces import (
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    NamespaceError,
    drop_capabilities,
    enter_namespaces,
    prctl,
    private_scratch,
)

RESULT_FD = 3


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
    """Everything between fork and the namespaces (runs as the worker's uid, before the drop)."""
    os.setsid()  # own session and process group: the worker kills the whole group
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the line above
        os._exit(policy.EXIT_WORKER_GONE)
    prctl(PR_SET_DUMPABLE, 0)  # no same-uid process may ptrace it or open its /proc files
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
    os.nice(policy.NICE)  # it cannot undo this
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(policy.EXIT_STILL_ROOT)
    if os.getuid() == 0:  # never run learner code as root, whatever the caller asked
        os._exit(policy.EXIT_STILL_ROOT)
    prctl(PR_SET_DUMPABLE, 0)  # the uid switch may have reset it


def isolate(namespaces: bool) -> str:
    """After lock_down: the namespaces (when the worker found them working), then the final
    environment. Returns how /proc looks ("own", "self-only", or "shared" without namespaces)."""
    proc = "shared"
    if namespaces:
        try:
            proc = enter_namespaces()
            private_scratch()
            drop_capabilities()
        except (NamespaceError, OSError):
            os._exit(policy.EXIT_NAMESPACES_FAILED)
    os.environ.clear()
    os.environ.update(policy.CHILD_ENV)
    return proc


def _send(header: dict[str, Any], blobs: list[bytes] = ()) -> None:
    data = frame(header, list(blobs))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(RESULT_FD, view) :]
    except OSError:
        pass


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


def run_submission(job: dict[str, Any], checkpoint: bytes | str) -> None:
    """Build the fixtures, run the learner's function, send the framed result; never returns."""
    try:
        import torch

        torch.set_num_threads(1)
        from sortlist_core.exercises.fixtures import build_inputs

        names = tuple(job["inputs"])
        inputs = build_inputs(names, dict(job["params"]), checkpoint)
    except BaseException as exc:  # noqa: BLE001
        _send({"kind": "fixture_error", "message": f"{type(exc).__name__}: {exc}"[:2000]})
        os._exit(0)
    source = job["source"]
    linecache.cache[LEARNER_FILENAME] = (len(source), None, source.splitlines(True), LEARNER_FILENAME)
    try:
        module = types.ModuleType("learner")
        module.__file__ = LEARNER_FILENAME
        sys.modules["learner"] = module
        exec(compile_learner_code(source), module.__dict__)  # noqa: S102 - the sandboxed child's job
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
        tb = trimmed_traceback(exc)
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
        _send({"kind": "encode_error", "traceback": trimmed_traceback(exc)})
        os._exit(0)
    _send(header, blobs)
    os._exit(0)
