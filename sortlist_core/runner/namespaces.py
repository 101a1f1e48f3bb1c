"""A check's namespaces: after the child dropped to its unprivileged uid, it forks into a user
namespace of its own (mapping only that uid) with new PID, IPC and mount namespaces. There the
process that runs learner code is PID 1, every inherited mount is read-only, it sees its own
/proc (or only itself), works in private size-capped tmpfs scratch, and has no capabilities.

The worker tries these steps once at start (`probe_namespaces`) and gives checks namespaces
only when they work; the child (`child.isolate`) then makes them before any learner code runs.
Also the few ctypes calls the lock-down needs (prctl, mount, capset).
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import signal
import sys

from . import policy

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
_CAP_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(OSError):
    pass


def prctl(option: int, arg: int) -> None:
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


def enter_namespaces() -> str:
    """Fork into new user, PID, IPC and mount namespaces. Only the new process returns (PID 1 of
    its namespace), with how /proc looks to it: "own" (a fresh procfs of its namespace) or
    "self-only" (the kernel refused a fresh one: a read-only /proc holding only its own
    directory, as /proc/self). The process that called this waits for it and leaves with its
    exit status. Raises NamespaceError (before the fork) when the kernel refuses."""
    uid, gid = os.getuid(), os.getgid()
    prctl(PR_SET_DUMPABLE, 1)  # writing our own uid_map needs it; the fork below resets it
    _check(_libc.unshare(policy.CHILD_NAMESPACES), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    prctl(PR_SET_DUMPABLE, 0)
    alive_r, alive_w = os.pipe()  # closes when this process dies: the new one checks it
    pid = os.fork()
    if pid != 0:
        os.close(alive_r)
        _wait_and_leave_like(pid)
    os.close(alive_w)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([alive_r], [], [], 0)[0]:  # our parent died before the line above
        os._exit(policy.EXIT_WORKER_GONE)
    os.close(alive_r)
    prctl(PR_SET_DUMPABLE, 0)
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
            prctl(PR_SET_NO_NEW_PRIVS, 1)
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
