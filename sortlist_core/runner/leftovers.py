"""What a check may leave behind, and its removal: directory trees (possibly deep, possibly
made unreadable), SysV IPC objects, and files of its uid in the shared temp directories.
Only called once the check's processes are dead (nothing renames under it)."""

from __future__ import annotations

import ctypes
import os
import stat

from . import policy

_IPC_RMID = 0
SysvObject = tuple[str, int, int, int]  # (kind, id, creator uid, creator pid or -1)


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


def sysv_objects() -> list[SysvObject]:
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


def remove_sysv(objects: list[SysvObject], as_uid: int | None) -> None:
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


def remove_files_of_uid(uid: int) -> None:
    """Every entry owned by `uid` at the top of the shared temp directories (a check without
    namespaces but with a uid of its own wrote there)."""
    for tmp in policy.CHILD_SCRATCH_MOUNTS:
        try:
            entries = list(os.scandir(tmp))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    remove_tree(entry.path)
            except OSError:
                continue
