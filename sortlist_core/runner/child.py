"""The submission child: forked from the worker, it locks itself down, then runs learner code.

Order matters: new session, die with the worker, stdout to the capped pipe, every other file
descriptor closed, resource limits, no new privileges, the unprivileged uid; then (where the
kernel allows it) a user namespace of its own with new PID, IPC and mount namespaces: the
process that runs learner code is PID 1 there, sees its own /proc (or only itself), works in
private size-capped tmpfs scratch, and has no capabilities. Only then are the fixtures built and
the learner's source executed. Every figure comes from `policy`.
"""

from __future__ import annotations

import ctypes
import linecache
import os
import re
import resource
import select
import signal
import sys
import types
from typing import Any

from ..learner_code import LEARNER_FILENAME, compile_learner_code, trimmed_traceback
from . import policy
from .codec import Unsupported, encode_value, frame

RESULT_FD = 3
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
_CAP_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(OSError):
    pass


def _prctl(option: int, arg: int) -> None:
    if _libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise NamespaceError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )  # fmt: skip


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
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the line above
        os._exit(policy.EXIT_WORKER_GONE)
    _prctl(_PR_SET_DUMPABLE, 0)  # no same-uid process may ptrace it or open its /proc files
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
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(policy.EXIT_STILL_ROOT)
    if os.getuid() == 0:  # never run learner code as root, whatever the caller asked
        os._exit(policy.EXIT_STILL_ROOT)
    _prctl(_PR_SET_DUMPABLE, 0)  # the uid switch may have reset it


def enter_namespaces() -> str:
    """Fork into new user, PID, IPC and mount namespaces. Only the new process returns (PID 1 of
    its namespace), with how /proc looks to it: "own" (a fresh procfs of its namespace) or
    "self-only" (the kernel refused a fresh one: a read-only /proc holding only its own
    directory, as /proc/self). The process that called this waits for it and leaves with its
    exit status. Raises NamespaceError (before the fork) when the kernel refuses."""
    uid, gid = os.getuid(), os.getgid()
    _prctl(_PR_SET_DUMPABLE, 1)  # writing our own uid_map needs it; the fork below resets it
    _check(_libc.unshare(policy.CHILD_NAMESPACES), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _prctl(_PR_SET_DUMPABLE, 0)
    alive_r, alive_w = os.pipe()  # closes when this process dies: the new one checks it
    pid = os.fork()
    if pid != 0:
        os.close(alive_r)
        _wait_and_leave_like(pid)
    os.close(alive_w)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([alive_r], [], [], 0)[0]:  # our parent died before the line above
        os._exit(policy.EXIT_WORKER_GONE)
    os.close(alive_r)
    _prctl(_PR_SET_DUMPABLE, 0)
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount propagates out
    _read_only_everything()
    return _mount_proc()


_MOUNT_FLAGS = {
    "nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": 1024, "nodiratime": 2048,
    "relatime": 1 << 21, "strictatime": 1 << 24, "nosymfollow": 256,
}  # fmt: skip


def _read_only_everything() -> None:
    """Remount every mount we inherited read-only (in our mount namespace only): the code may
    write nowhere but its private scratch, even where the server's uid could (the app's files
    when the server is not root). The flags a mount already has are kept (the kernel refuses to
    clear them from inside a user namespace)."""
    with open("/proc/self/mountinfo") as f:
        rows = f.read().splitlines()
    for row in rows:
        fields = row.split()
        target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # "\\040"
        flags = 0
        for opt in fields[5].split(","):
            flags |= _MOUNT_FLAGS.get(opt, 0)
        try:
            _mount("none", target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)
        except NamespaceError:
            if not target.startswith(("/proc/", "/sys/")):
                raise


def _wait_and_leave_like(pid: int) -> None:
    """The intermediate process: wait for the namespace's PID 1 and exit the way it did."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            signal.signal(-code, signal.SIG_DFL)  # refused for SIGKILL, which needs no reset
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), -code)
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(code)


def _mount_proc() -> str:
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    try:
        _mount("proc", "/proc", "proc", flags)
        return "own"
    except NamespaceError:
        pass
    # The kernel refuses a fresh procfs when the current one has parts covered (bubblewrap
    # covers /proc/sys and others). Show only our own directory, on a read-only tmpfs.
    me = os.readlink("/proc/self")
    roots = _code_roots()
    parent = next(p for p in policy.CHILD_SCRATCH_MOUNTS if os.path.isdir(p) and not _hides(p, roots))
    stage = f"{parent}/.sortlist-proc"
    _mount("tmpfs", parent, "tmpfs", flags, "size=64k,mode=0755")
    os.mkdir(stage, 0o755)
    _mount("tmpfs", stage, "tmpfs", flags, "size=64k,nr_inodes=16,mode=0555")
    os.mkdir(f"{stage}/self", 0o555)
    _mount(f"/proc/{me}", f"{stage}/self", None, _MS_BIND)
    _mount(stage, "/proc", None, _MS_MOVE)
    _mount("none", "/proc", None, _MS_REMOUNT | _MS_RDONLY | flags)
    return "self-only"


def _code_roots() -> set[str]:
    """Where the check's own code lives: the interpreter's prefix, this package's checkout and
    every import path (all resolved)."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [sys.prefix, here, *(p for p in sys.path if p)]
    return {os.path.realpath(p) for p in paths}


def _hides(mount_point: str, roots: set[str]) -> bool:
    top = mount_point.rstrip("/") + "/"
    return any(root == mount_point or root.startswith(top) for root in roots)


def private_scratch() -> None:
    """Private tmpfs, each size-capped, over every place the code may write; cwd is the first.

    A checkout or virtual environment under /tmp (a CI clone, say) would vanish under a tmpfs
    there, so such a place is left as it is: inherited mounts are already read-only here, so the
    check still writes nowhere but its own scratch."""
    flags = _MS_NOSUID | _MS_NODEV
    roots = _code_roots()
    mounted: list[str] = []
    for path in policy.CHILD_SCRATCH_MOUNTS:
        if os.path.isdir(path) and not _hides(path, roots):
            data = f"size={policy.SCRATCH_BYTES},nr_inodes={policy.SCRATCH_INODES},mode=0700"
            _mount("tmpfs", path, "tmpfs", flags, data)
            mounted.append(path)
    if not mounted:
        raise NamespaceError("no place for a private scratch directory")
    os.chdir(mounted[0])


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """No capability left (the namespace's creator holds all of them in it)."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


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


def probe_namespaces(uid: int | None, gid: int | None) -> tuple[bool, str]:
    """(works, how /proc looks or why not): the namespace steps of a check, tried once by the
    worker at start in a throw-away child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            if uid is not None and os.getuid() == 0:
                os.setgroups([])
                os.setgid(gid if gid is not None else uid)
                os.setuid(uid)
            _prctl(_PR_SET_NO_NEW_PRIVS, 1)
            proc = enter_namespaces()
            private_scratch()
            drop_capabilities()
            os.write(w, proc.encode())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - the reason is the probe's answer
            os.write(w, f"{type(exc).__name__}: {exc}"[:300].encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status) == 0 and text in ("own", "self-only"), text


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
