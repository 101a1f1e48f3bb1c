"""Attacks on the code runner by learner code that knows how the runner works, each followed by
an honest learner's check that must still be answered correctly. Shared by the root tests
(`tests/test_runner.py`, in process) and the non-root run (this file as a script, in a
subprocess under an unprivileged uid, printing its findings as JSON).

Every attack goes through the real runner (worker process, forked children, namespaces,
bubblewrap): `attack_*(runner, ctx)` returns the list of ways the attacker got through (empty:
the attack failed) and checks the honest learner afterwards."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HONEST = "def f(k):\n    return k * 3\n"
BUSY_1S = "import time\ndef f():\n    t = time.time()\n    while time.time() - t < 1.2:\n        pass\n    return 5\n"
SHM_KEY = (
    0x5EED0000 + (uuid.uuid4().int % 0xFFFF) * 4
)  # fresh each run: leftovers of a failed run do not count


@dataclass(frozen=True)
class Context:
    secret: str  # in the server's environment; must never reach learner code
    namespaces: bool  # the worker gives each check its own namespaces
    server_root: bool
    server_pid: int

    @property
    def shared_uid(self) -> bool:
        """Checks run as the server's own uid with nothing between them (non-root, no namespaces)."""
        return not self.namespaces and not self.server_root


def _job(source: str, entry: str = "f", inputs: tuple = (), params: dict | None = None):
    from sortlist_core.paths import BUNDLED_MODEL_PATH
    from sortlist_core.runner import Job

    return Job(
        source=source,
        entry=entry,
        inputs=inputs,
        params=params or {},
        checkpoint=BUNDLED_MODEL_PATH.read_bytes(),
    )


def honest(runner, k: int = 7) -> list[str]:
    out = runner.run(_job(HONEST, "f", ("k",), {"k": k}))
    return (
        []
        if out.status == "ok" and out.value == 3 * k
        else [f"the honest check after it: {out.status} {out.message} {out.value!r}"]
    )


def _worker_host_pid(runner) -> int | None:
    """The worker's pid here: the Popen'ed process (process mode) or the Python process under
    bubblewrap's two (sandbox mode), not one of the checks it forked (same command line)."""
    w = runner._worker
    if w is None or w.proc is None:
        return None
    parent: dict[int, int] = {}
    python: set[int] = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
                parent[int(name)] = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if b"sortlist_core.runner.worker" in argv and not argv[0].endswith(b"bwrap"):
                python.add(int(name))
    for pid in sorted(python):
        if parent.get(pid) in python:
            continue  # a check forked from the worker
        p = pid
        while p in parent and p != w.proc.pid:
            p = parent[p]
        if p == w.proc.pid:
            return pid
    return None


# --- the worker's pipes: read the next job, inject jobs, forge another learner's "done" --------
FD_ATTACK = r"""
import base64, json, os, struct
def f(server_pid):
    me = os.getpid()
    head = json.dumps({"kind": "ok", "encoding": "json", "value": 999, "sizes": []}).encode()
    result = base64.b64encode(struct.pack("!I", len(head)) + head).decode()
    lines = []
    for pid in [server_pid] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        for seq in range(1, 200):
            lines.append(json.dumps({"op": "done", "id": f"{pid}-{seq}", "result_b64": result}))
    forged = ("\n".join(lines) + "\n").encode()
    job = json.dumps({"op": "run", "id": "x", "source": "def f():\n    return 1\n", "entry": "f", "inputs": [],
                      "params": {}, "checkpoint_b64": "", "limits": {"cpu_s": 600, "wall_s": 600}}) + "\n"
    opened = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        for where in ("fd", "cwd", "root"):
            try:
                os.listdir(f"/proc/{pid}/{where}")
                opened.append(f"{pid}/{where} listed")
            except OSError:
                pass
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            for mode in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
                try:
                    h = os.open(f"/proc/{pid}/fd/{fd}", mode)
                except OSError:
                    continue
                opened.append(f"{pid}/fd/{fd}")
                try:
                    if mode & os.O_WRONLY:
                        os.write(h, forged[:60000])
                        os.write(h, job.encode())
                    else:
                        os.read(h, 65536)
                except OSError:
                    pass
                os.close(h)
    return opened
"""


def attack_worker_pipes(runner, ctx: Context) -> list[str]:
    out = runner.run(_job(FD_ATTACK, "f", ("server_pid",), {"server_pid": ctx.server_pid}))
    found = (
        []
        if out.status == "ok" and out.value == []
        else [f"opened another process's files: {out.value or out.message}"]
    )
    # the next learner's wrong answer must not come back as the forged 999
    wrong = runner.run(_job("def f(k):\n    return k + 1\n", "f", ("k",), {"k": 1}))
    if not (wrong.status == "ok" and wrong.value == 2):
        found.append(f"another learner's answer was replaced: {wrong.status} {wrong.value!r}")
    return found + honest(runner)


# --- signals: SIGSTOP (or kill) the worker, the server, other checks -------------------------------
SIGNAL_ATTACK = r"""
import os, signal
def f(server_pid, everyone):
    me = os.getpid()
    hit = []
    targets = [server_pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    for pid in targets:
        if not everyone:
            try:
                if b"sortlist_core.runner.worker" not in open(f"/proc/{pid}/cmdline", "rb").read():
                    continue
            except OSError:
                continue
        try:
            os.kill(pid, signal.SIGSTOP)
            hit.append(pid)
        except OSError:
            pass
    if everyone:
        try:
            os.kill(-1, signal.SIGSTOP)
            hit.append(-1)
        except OSError:
            pass
    return hit
"""


def attack_signals(runner, ctx: Context) -> list[str]:
    """SIGSTOP everything visible. Where checks share the server's uid with no namespaces (the
    README's weakest case) only the worker is targeted, since the server itself could be stopped
    there; the server must then notice the silent worker and replace it, answering every check."""
    answers: list = []
    started = time.monotonic()
    bystander = threading.Thread(target=lambda: answers.append(runner.run(_job(BUSY_1S))))
    bystander.start()
    time.sleep(0.3)
    out = runner.run(
        _job(
            SIGNAL_ATTACK,
            "f",
            ("server_pid", "everyone"),
            {"server_pid": ctx.server_pid, "everyone": ctx.namespaces},
        )
    )
    bystander.join(60)
    took = time.monotonic() - started
    found = []
    hit = out.value if out.status == "ok" else []
    if hit and not ctx.shared_uid:
        found.append(f"signalled {hit}")
    if bystander.is_alive() or not answers:
        found.append("a check in flight was left hanging")
    elif not (answers[0].status == "ok" and answers[0].value == 5) and not (
        answers[0].status == "crashed" and "again" in answers[0].message
    ):
        found.append(f"the check in flight got {answers[0].status}: {answers[0].message}")
    if took > 20:
        found.append(f"answers took {took:.1f} s")
    return found + honest(runner)


def stop_the_worker_from_outside(runner, ctx: Context) -> list[str]:
    """What any attack that reaches the worker could do: SIGSTOP it while a check is in flight.
    The check is answered "try again" within seconds and the next one is correct."""
    pid = _worker_host_pid(runner)
    if pid is None:
        return ["no worker found to stop"]
    answers: list = []
    t = threading.Thread(target=lambda: answers.append(runner.run(_job(BUSY_1S))))
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    t.join(60)
    took = time.monotonic() - t0
    found = []
    if t.is_alive() or not answers:
        found.append("the check in flight was left hanging")
    elif answers[0].status != "crashed" or "again" not in answers[0].message:
        found.append(f"the check in flight got {answers[0].status}: {answers[0].message}")
    if took > 15:
        found.append(f"it was answered after {took:.1f} s")
    return found + honest(runner)


# --- other processes' environ and command lines ----------------------------------------------------
SPY_ATTACK = r"""
import os
def f():
    me, seen = os.getpid(), {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != me:
            for what in ("environ", "cmdline", "maps", "mem"):
                try:
                    with open(f"/proc/{pid}/{what}", "rb") as fh:
                        text = fh.read(100000).decode("latin-1")
                    if text:  # kernel threads have empty ones, readable by all
                        seen[f"{pid}/{what}"] = text
                except OSError:
                    pass
    return seen
"""


def attack_spy(runner, ctx: Context) -> list[str]:
    out = runner.run(_job(SPY_ATTACK))
    if out.status != "ok":
        return [f"the spy check failed: {out.message}"]
    found = []
    if ctx.secret in json.dumps(out.value):
        found.append("read the server's secret")
    private = [k for k in out.value if not k.endswith("/cmdline")]
    if private:
        found.append(f"read another process's environ/maps/mem: {private[:5]}")
    if ctx.namespaces and out.value:
        found.append(f"saw other processes: {sorted(out.value)[:5]}")
    return found + honest(runner)


# --- what one check leaves for the next ------------------------------------------------------------
SHM_MAKE = r"""
import ctypes
def f():
    libc = ctypes.CDLL(None, use_errno=True)
    made = [libc.shmget(KEY + i, 64 << 20, 0o1000 | 0o666) for i in range(4)]
    sem = libc.semget(KEY, 1, 0o1000 | 0o666)
    msg = libc.msgget(KEY, 0o1000 | 0o666)
    return made + [sem, msg]
""".replace("KEY", str(SHM_KEY))
SHM_FIND = r"""
import ctypes
def f():
    libc = ctypes.CDLL(None)
    return [libc.shmget(KEY + i, 0, 0) for i in range(4)] + [libc.semget(KEY, 0, 0), libc.msgget(KEY, 0)]
""".replace("KEY", str(SHM_KEY))


def attack_ipc_leftovers(runner, ctx: Context) -> list[str]:
    made = runner.run(_job(SHM_MAKE))
    if made.status != "ok" or -1 in made.value:
        return [f"could not even make the objects: {made.status} {made.message} {made.value}"]
    found = []
    seen = runner.run(_job(SHM_FIND))
    if seen.status != "ok" or seen.value != [-1] * 6:
        found.append(f"the next check found them: {seen.value}")
    time.sleep(0.3)
    key_hex = f"{SHM_KEY:d}"
    for kind in ("shm", "sem", "msg"):
        rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        if any(r.split()[0] in (key_hex, str(SHM_KEY + 1), str(SHM_KEY + 2), str(SHM_KEY + 3)) for r in rows):
            found.append(f"a {kind} object outlived the check on the host")
    return found + honest(runner)


LITTER = r"""
import os
def f(tag, files):
    made, written = [], 0
    for d in ("/tmp", "/var/tmp", "/dev/shm", "."):
        for i in range(files):
            try:
                with open(os.path.join(d, f"{tag}-{i}"), "wb") as fh:
                    fh.write(b"x" * (4 << 20))
                    written += 4 << 20
            except OSError:
                break
        made.append(os.path.abspath(os.path.join(d, tag)))
    path = "."
    for i in range(1200):
        path = os.path.join(path, "d")
        try:
            os.mkdir(path)
        except OSError:
            break
    os.chmod(".", 0o500)
    return {"made": made, "written": written, "depth": i}
"""


def attack_litter(runner, ctx: Context) -> list[str]:
    """Fill the scratch space, leave files everywhere writable and 1,200 nested directories:
    the worker survives, the next check is answered, nothing is left on the host."""
    from sortlist_core.runner import policy

    starts = runner.worker_starts
    tag = f"sortlist-litter-{uuid.uuid4().hex[:8]}"
    # with namespaces try 400 MB per place (capped at SCRATCH_BYTES); without, 32 MB of real disk
    files = 100 if ctx.namespaces else 8
    out = runner.run(_job(LITTER, "f", ("tag", "files"), {"tag": tag, "files": files}))
    found = []
    if out.status not in ("ok", "output"):
        found.append(f"the litter check got {out.status}: {out.message}")
    if (
        ctx.namespaces
        and out.status == "ok"
        and out.value["written"] > 4 * (policy.SCRATCH_BYTES + (4 << 20))
    ):
        found.append(f"wrote {out.value['written'] >> 20} MB: scratch is not capped")
    found += honest(runner)
    if runner.worker_starts != starts:
        found.append("the worker died from what the check left")
    if not ctx.shared_uid:  # without namespaces the worker removes them in the background
        deadline = time.monotonic() + 5
        while (
            left := [str(p) for d in ("/tmp", "/var/tmp", "/dev/shm") for p in Path(d).glob(f"{tag}*")]
        ) and (time.monotonic() < deadline):
            time.sleep(0.2)
        if left:
            found.append(f"left on the host: {left}")
    return found


def attack_idle(runner, ctx: Context) -> list[str]:
    t0 = time.monotonic()
    out = runner.run(_job("import time\ndef f():\n    time.sleep(600)\n"))
    took = time.monotonic() - t0
    found = []
    if out.status != "timeout" or "idle" not in out.message:
        found.append(f"a sleeping check got {out.status}: {out.message}")
    if took > runner.limits.idle_s + 4:
        found.append(f"it held its slot for {took:.1f} s")
    return found + honest(runner)


WRITE_OUT = r"""
import os
def f(targets):
    wrote = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
        targets.append(f"/proc/{pid}/cwd/escaped-cwd.txt")
    for t in targets:
        try:
            with open(t, "w") as fh:
                fh.write("pwned")
            wrote.append(t)
        except OSError:
            pass
    return wrote
"""


def attack_write_out(runner, ctx: Context) -> list[str]:
    """Write into the worker's cwd (the app directory in process mode), the app itself, and a
    directory the server's own uid may write (SORTLIST_TEST_WRITABLE, set by the non-root run)."""
    if ctx.shared_uid:
        return honest(runner)  # README: without namespaces, code runs as the server's own user
    name = f"escaped-{uuid.uuid4().hex[:8]}.txt"
    targets = [str(REPO_ROOT / name), str(REPO_ROOT / "sortlist_core" / name)]
    if os.environ.get("SORTLIST_TEST_WRITABLE"):
        targets.append(os.path.join(os.environ["SORTLIST_TEST_WRITABLE"], name))
    out = runner.run(_job(WRITE_OUT, "f", ("targets",), {"targets": targets}))
    found = [] if out.status == "ok" and out.value == [] else [f"wrote {out.value or out.message}"]
    for t in targets:
        if Path(t).exists():
            Path(t).unlink()
            found.append(f"{t} exists")
    return found + honest(runner)


FORGED_FRAME = r"""
import os, struct
def f():
    head = b'{"kind": "ok", "encoding": "json", "value": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    os.write(3, struct.pack("!I", len(head)) + head)
    os._exit(0)
"""


def attack_deep_frame(runner, ctx: Context) -> list[str]:
    out = runner.run(_job(FORGED_FRAME))
    found = (
        []
        if out.status == "error" and "could not be read back" in out.message
        else [f"{out.status}: {out.message}"]
    )
    return found + honest(runner)


ATTACKS = {
    "worker_pipes": attack_worker_pipes,
    "signals": attack_signals,
    "spy": attack_spy,
    "ipc_leftovers": attack_ipc_leftovers,
    "litter": attack_litter,
    "idle": attack_idle,
    "write_out": attack_write_out,
    "deep_frame": attack_deep_frame,
    "stopped_worker": stop_the_worker_from_outside,
}


# A worker stopped from outside is handled by the server the same way in every mode (and each
# costs a cold worker start): tested in the sandbox and where checks share the server's uid.
SAME_IN_EVERY_MODE = {"stopped_worker"}


def run_all(runner, secret: str, skip: set[str] = frozenset()) -> dict[str, list[str]]:
    runner.warm_up()
    ctx = Context(
        secret=secret,
        namespaces=bool(runner.isolation.get("namespaces")),
        server_root=os.geteuid() == 0,
        server_pid=os.getpid(),
    )
    return {name: attack(runner, ctx) for name, attack in ATTACKS.items() if name not in skip}


def main() -> None:
    """As a script (the non-root run): every attack in each mode given on the command line."""
    from sortlist_core.runner import Limits, Runner, RunnerMode
    from sortlist_core.runner.mode import ModeDecision

    secret = os.environ["SORTLIST_TEST_SECRET"]
    report = {"uid": os.getuid(), "results": {}}
    for spec in sys.argv[1:]:
        mode, _, ns = spec.partition("+")
        limits = Limits(cpu_s=2, wall_s=8, memory_mb=512, processes=32, open_files=64, idle_s=2.5)
        runner = Runner(
            ModeDecision(RunnerMode(mode), "test"),
            limits,
            max_running=2,
            max_queued=4,
            child_namespaces=ns == "ns",
        )
        try:
            runner.warm_up()
            skip = SAME_IN_EVERY_MODE if ns == "ns" else set()
            report["results"][spec] = {"isolation": runner.isolation, "found": run_all(runner, secret, skip)}
        finally:
            runner.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
