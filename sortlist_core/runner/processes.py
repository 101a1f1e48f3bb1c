"""What the worker sees of processes, read from /proc: each one's parent, uid, state and CPU
time, and the descendants of a process (so a check's strays can be found and killed, and its
CPU use sampled, even after it called setsid())."""

from __future__ import annotations

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")  # the unit of the CPU times in /proc/<pid>/stat
ProcTable = dict[int, tuple[int, int, str, int]]


def proc_table() -> ProcTable:
    """pid -> (parent pid, real uid, state letter, CPU ticks incl. reaped children) of every
    process this worker can see."""
    table: ProcTable = {}
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


def descendants(root: int, table: ProcTable | None = None) -> dict[int, int]:
    """pid -> real uid of every live descendant of `root` (orphans of our children are
    re-parented to us: we are a child subreaper, so they stay descendants)."""
    table = proc_table() if table is None else table
    out: dict[int, int] = {}
    for pid in table:
        p, seen = pid, 0
        while p in table and seen < 4096:
            p, seen = table[p][0], seen + 1
            if p == root:
                out[pid] = table[pid][1]
                break
    return out
