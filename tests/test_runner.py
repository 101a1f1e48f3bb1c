"""The code runner against hostile learner code, through the REAL runner (worker process, forked
children, namespaces, rlimits, bubblewrap): no mocks. Process mode always; sandbox mode where
bubblewrap can run (a failure under CI=true); process mode without per-check namespaces (what a
kernel that refuses them gives); and every attack of `tests/runner_attacks.py` again under an
unprivileged uid, in a subprocess. Limits are short (2 s CPU) to keep this fast."""

from __future__ import annotations

import os
import shlex
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from sortlist_core.paths import BUNDLED_MODEL_PATH
from sortlist_core.runner import Job, Limits, Runner, RunnerMode, runner_mode
from sortlist_core.runner import sandbox as sandbox_mod
from sortlist_core.runner.codec import BadMessage, decode_message, frame
from sortlist_core.runner.mode import ModeDecision

from . import runner_attacks

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = f"sortlist-secret-{uuid.uuid4().hex}"
LIMITS = Limits(cpu_s=2, wall_s=8, memory_mb=512, processes=32, open_files=64, idle_s=2.5)
NO_NS_BASE_UID = "62000"  # the no-namespace runner's checks: uids no other process uses
IS_ROOT = os.geteuid() == 0
CHECKPOINT = BUNDLED_MODEL_PATH.read_bytes()

FULL_OV = """
import torch
def full_ov(model):
    print("computing")
    return model.W_E @ model.W_V[0] @ model.W_O[0] @ model.W_U
"""


def job(source: str, entry: str = "f", inputs: tuple[str, ...] = (), params: dict | None = None) -> Job:
    return Job(source=source, entry=entry, inputs=inputs, params=params or {}, checkpoint=CHECKPOINT)


def runner_uids(runner: Runner) -> set[int]:
    return runner.uids


def processes_of(uids: set[int]) -> list[int]:
    """Host pids whose real uid is one of the runner's (zombies included)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            uid = int(status.split("Uid:")[1].split()[0])
            if uid in uids:
                found.append(int(name))
    return found


def assert_nothing_survives(runner: Runner) -> None:
    if not IS_ROOT:
        return  # without our own uid per slot there is no uid to look for (see README)
    deadline = time.monotonic() + 5
    while processes_of(runner_uids(runner)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(runner_uids(runner)) == []


def expected_full_ov() -> np.ndarray:
    """Trusted side: the same quantity from sortlist_core's own weights, in this process."""
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.model import to_transformer_lens

    loaded = load_checkpoint(CHECKPOINT)
    tl = to_transformer_lens(loaded.state_dict, loaded.config)
    return (tl.W_E @ tl.W_V[0] @ tl.W_O[0] @ tl.W_U).detach().numpy()


@pytest.fixture(scope="module", autouse=True)
def server_secret():
    os.environ["SORTLIST_TEST_SECRET"] = SECRET  # must never reach learner code
    yield
    os.environ.pop("SORTLIST_TEST_SECRET", None)


MODES = ["process", "sandbox"]


@pytest.fixture(scope="module", params=MODES)
def runner(request, server_secret):
    mode = RunnerMode(request.param)
    if mode is RunnerMode.SANDBOX:
        works, why = sandbox_mod.probe()
        if not works:
            if os.environ.get("CI") == "true":  # scripts/test.sh installs bubblewrap
                pytest.fail(f"bubblewrap cannot run under CI: {why}")
            pytest.skip(f"bubblewrap cannot run here: {why}")
    r = Runner(ModeDecision(mode, "test"), LIMITS, max_running=2, max_queued=4)
    r.warm_up()
    if os.environ.get("CI") == "true":  # the CI machine allows them (scripts/test.sh)
        assert r.isolation["namespaces"], r.isolation
    yield r
    proc = r._worker.proc if r._worker is not None else None
    r.close()
    assert proc is None or proc.poll() is not None, "the worker outlived close()"
    assert_nothing_survives(r)


@pytest.fixture(scope="module")
def runner_without_namespaces(server_secret):
    """Process mode as a kernel that refuses per-check namespaces leaves it (README)."""
    env = {"SORTLIST_RUNNER_UID": NO_NS_BASE_UID}
    r = Runner(
        ModeDecision(RunnerMode.PROCESS, "test"), LIMITS, max_running=2, max_queued=4, env=env,
        child_namespaces=False,
    )  # fmt: skip
    r.warm_up()
    assert r.isolation == {"namespaces": False, "proc": "shared", "why": "turned off"}
    yield r
    r.close()
    assert_nothing_survives(r)


@pytest.fixture
def probe():
    """A health probe in the server process: a thread that must keep answering within 1 s."""
    gaps: list[float] = []
    stop = threading.Event()

    def loop() -> None:
        last = time.monotonic()
        while not stop.is_set():
            time.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield gaps
    stop.set()
    t.join()
    assert max(gaps) < 1.0, f"the server thread stalled for {max(gaps):.2f} s"


# --- correct code -------------------------------------------------------------------------
def test_correct_solution_returns_the_models_full_ov(runner):
    out = runner.run(job(FULL_OV, "full_ov", ("model",)))
    assert out.status == "ok", out
    assert type(out.value) is np.ndarray and out.value.shape == (2, 52, 52)
    np.testing.assert_allclose(out.value, expected_full_ov(), rtol=1e-4, atol=1e-5)
    assert out.stdout == "computing\n"


def test_plain_params_lists_and_json_values_come_back(runner):
    src = "import torch\ndef f(head, k):\n    return [torch.arange(3) * head, torch.ones(2, k)], {'a': [1, 2.5, None]}\n"
    out = runner.run(job(src, "f", ("head", "k"), {"head": 2, "k": 4}))
    assert out.status == "error" and "return a tensor" in out.message  # a mixed tuple is not supported
    src = "import torch\ndef f(head):\n    return (torch.arange(3) * head, torch.ones(2))\n"
    out = runner.run(job(src, "f", ("head",), {"head": 2}))
    assert out.status == "ok" and isinstance(out.value, tuple)
    assert out.value[0].tolist() == [0, 2, 4] and out.value[1].tolist() == [1.0, 1.0]
    out = runner.run(job("def f():\n    return {'lists': [[1, 2], [3]], 'x': 0.5}\n"))
    assert out.status == "ok" and out.value == {"lists": [[1, 2], [3]], "x": 0.5}


def test_the_child_is_locked_down(runner):
    src = """
import os, resource
def f():
    caps = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
    return {"pid": os.getpid(), "caps": caps, "uid": os.getuid(), "cwd_files": os.listdir("."), "fds": sorted(os.listdir("/proc/self/fd")),
            "env": dict(os.environ), "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
            "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0], "nice": os.nice(0), "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
"""
    out = runner.run(job(src))
    assert out.status == "ok", out
    v = out.value
    assert v["uid"] != 0
    assert v["cwd_files"] == []
    if runner.isolation["namespaces"]:  # PID 1 of its own namespace, no capability in it
        assert (v["pid"], v["caps"]) == (1, "0000000000000000"), v
    assert set(v["fds"]) <= {"0", "1", "2", "3", "4"}  # stdin, stdout, stderr, result pipe, listdir's own
    assert "SORTLIST_TEST_SECRET" not in v["env"] and SECRET not in str(v["env"])
    assert (v["fsize"], v["nofile"]) == (LIMITS.file_size_bytes, LIMITS.open_files)
    assert v["nice"] >= 10  # below the server's own threads
    # as root each slot has its own uid; otherwise the allowance is on top of the user's threads
    assert v["nproc"] == LIMITS.processes if IS_ROOT else v["nproc"] >= LIMITS.processes


# --- runaway resources --------------------------------------------------------------------
def test_infinite_loop_ignoring_signals_is_stopped(runner, probe):
    src = (
        "import signal\ndef f():\n    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU):\n"
        "        signal.signal(s, signal.SIG_IGN)\n    while True:\n        pass\n"
    )
    out = runner.run(job(src))
    assert out.status == "timeout" and ("CPU" in out.message or "wall clock" in out.message), out
    assert_nothing_survives(runner)


def test_allocating_20_gb_is_a_memory_error(runner):
    for src in (
        "import torch\ndef f():\n    return torch.ones(20 * 2**30, dtype=torch.uint8)\n",
        "def f():\n    return len(bytearray(20 * 2**30))\n",
    ):
        out = runner.run(job(src))
        assert out.status == "memory", out
        assert "512 MB" in out.message


def test_500_sleep_subprocesses_and_a_fork_loop_leave_nothing_behind(runner, probe):
    sleeps = "import subprocess\ndef f():\n    return [subprocess.Popen(['sleep', '100']).pid for _ in range(500)]\n"
    out = runner.run(job(sleeps))
    assert out.status == "error" and "too many processes" in out.message, out
    assert_nothing_survives(runner)
    fork_loop = """
import os, time
def f():
    if os.fork() == 0:
        os.setsid()  # tries to leave the process group the runner kills
        time.sleep(100)
    forked = 0
    for _ in range(300):
        try:
            if os.fork() == 0:
                time.sleep(100)
            forked += 1
        except OSError:
            pass
    return forked
"""
    out = runner.run(job(fork_loop))
    assert out.status == "ok" and 0 < out.value < LIMITS.processes, out
    assert_nothing_survives(runner)


def test_printing_100_mb_is_capped(runner, probe):
    out = runner.run(
        job("def f():\n    for _ in range(100):\n        print('x' * (1 << 20))\n    return 1\n")
    )
    assert out.status == "output" and "printed more than" in out.message, out
    assert len(out.stdout) < 20_000


def test_writing_a_huge_file_is_stopped(runner):
    out = runner.run(job("def f():\n    open('big', 'wb').write(b'0' * (64 << 20))\n"))
    assert out.status == "output" and "wrote a file larger than 16 MB" in out.message, out


def test_deep_recursion(runner):
    out = runner.run(job("def f(n=0):\n    return f(n + 1)\n"))
    assert out.status == "error" and "recursed too deeply" in out.message
    assert out.traceback.count('File "<your code>"') >= 1 and "runner" not in out.traceback
    unlimited = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n=0):\n    return f(n + 1)\n"
    out = runner.run(job(unlimited))  # ends on the CPU, memory or stack limit, with a message
    assert out.status in ("timeout", "memory", "crashed") and out.message, out


# --- escape and exfiltration ----------------------------------------------------------------
def test_shell_and_subprocess_run_as_the_unprivileged_user(runner):
    src = "import os, subprocess\ndef f():\n    return [os.system('true'), subprocess.run(['id', '-u'], capture_output=True, text=True).stdout]\n"
    out = runner.run(job(src))
    assert out.status == "ok", out
    assert out.value[1].strip() != "0"


def test_server_secrets_and_files_are_not_readable(runner, tmp_path):
    app = tmp_path / "app"
    (app / ".streamlit").mkdir(parents=True)
    secrets = app / ".streamlit" / "secrets.toml"
    secrets.write_text(f'password = "{SECRET}"\n')
    sandboxed = runner.decision.mode is RunnerMode.SANDBOX
    # the sandbox does not mount it at all, so even a world-readable secrets.toml is safe there;
    # process mode relies on the other uid and file permissions (README)
    secrets.chmod(0o644 if sandboxed else 0o600)
    files = [str(secrets), f"/proc/{os.getpid()}/environ", "/proc/1/environ"]
    if not sandboxed and not IS_ROOT:
        files = []  # same uid as the server: only the scrubbed environment is guaranteed (README)
    src = f"""
import glob, os
def f():
    seen = []
    paths = {files!r} + (glob.glob("/proc/*/environ") if {bool(files)} else [])
    for p in paths:
        try:
            with open(p, "rb") as fh:
                seen.append(fh.read().decode("latin-1"))
        except OSError as e:
            seen.append(type(e).__name__)
    return [str(os.environ)] + seen
"""
    out = runner.run(job(src))
    assert out.status == "ok", out
    assert SECRET not in "".join(out.value) + out.stdout


def test_sandbox_hides_the_app_tmp_and_network(runner, tmp_path):
    if runner.decision.mode is not RunnerMode.SANDBOX:
        pytest.skip("process mode does not hide world-readable files, /tmp or the network (README)")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    marker = tmp_path / "outside.txt"
    marker.write_text("outside")
    src = f"""
import os, socket
def f():
    out = {{}}
    for p in [{str(REPO_ROOT / "README.md")!r}, {str(REPO_ROOT / ".streamlit" / "config.toml")!r}, {str(marker)!r}]:
        out[p] = os.path.exists(p)
    open("/tmp/escaped.txt", "w").write("pwned")  # its own /tmp: the next check must not see it
    for p in [{str(REPO_ROOT / "escaped.txt")!r}, {str(marker)!r}, "/opt/sortlist/sortlist_core/x.py"]:
        try:
            open(p, "w").write("pwned")
            out["wrote " + p] = True
        except OSError:
            out["wrote " + p] = False
    for addr in [("127.0.0.1", {port}), ("10.0.0.1", 80)]:
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(addr)
            out["connected " + str(addr)] = True
        except OSError:
            out["connected " + str(addr)] = False
    return out
"""
    try:
        out = runner.run(job(src))
    finally:
        listener.close()
    assert out.status == "ok", out
    assert not any(out.value.values()), out.value
    assert marker.read_text() == "outside"
    assert not (REPO_ROOT / "escaped.txt").exists()
    seen = runner.run(job("import os\ndef f():\n    return os.path.exists('/tmp/escaped.txt')\n"))
    assert seen.status == "ok" and seen.value is False, seen


def test_the_app_directory_is_not_writable(runner):
    if not IS_ROOT and runner.decision.mode is RunnerMode.PROCESS:
        pytest.skip("as a non-root server, process mode runs learner code as the server's own user")
    target = REPO_ROOT / f"escaped-{uuid.uuid4().hex}.txt"
    out = runner.run(job(f"def f():\n    open({str(target)!r}, 'w').write('x')\n"))
    assert out.status == "error" and any(
        e in out.message for e in ("PermissionError", "FileNotFoundError", "Read-only file system")
    ), out
    assert not target.exists()


# --- attacks on the runner ------------------------------------------------------------------
def test_killing_the_parent_then_the_next_check_still_works(runner):
    out = runner.run(job("import os\ndef f():\n    os.kill(os.getppid(), 9)\n    return 1\n"))
    # refused (other uid), or its parent is outside its PID namespace: getppid() is 0 there
    assert out.status in ("error", "crashed") or (runner.isolation["namespaces"] and out.ok), out
    assert runner.run(job(FULL_OV, "full_ov", ("model",))).status == "ok"


def test_a_dead_worker_is_restarted_transparently(runner):
    if runner.decision.mode is not RunnerMode.SANDBOX and sandbox_mod.probe()[0]:
        pytest.skip("the restart path is the same in both modes; tested once, in the sandbox (slow)")
    worker = runner._worker
    assert worker is not None and worker.proc is not None
    starts = runner.worker_starts
    os.killpg(worker.proc.pid, 9)  # what a learner with the worker's uid could do
    worker.proc.wait()
    out = runner.run(job(FULL_OV, "full_ov", ("model",)))
    assert out.status == "ok", out
    assert runner.worker_starts == starts + 1


def test_exiting_before_returning(runner):
    for src in ("import sys\ndef f():\n    sys.exit(0)\n", "import os\ndef f():\n    os._exit(3)\n"):
        out = runner.run(job(src))
        assert out.status == "error" and "exited" in out.message, out


def test_exception_traceback_is_trimmed_to_learner_frames(runner):
    out = runner.run(job("def helper(x):\n    return x / 0\n\ndef f():\n    return helper(1)\n"))
    assert out.status == "error" and "ZeroDivisionError" in out.message
    assert out.traceback.count('File "<your code>"') == 2 and "child.py" not in out.traceback
    out = runner.run(job("def f(:\n"))
    assert out.status == "error" and "SyntaxError" in out.message
    out = runner.run(job("def g():\n    return 1\n"))
    assert out.status == "error" and "no function named `f`" in out.message


# --- attacks on the checker -----------------------------------------------------------------
def test_hostile_return_values_come_back_as_plain_data_or_not_at_all(runner):
    src = """
import numpy as np, torch
class Evil(torch.Tensor):
    def __eq__(self, other): return True
    def __array__(self, *a, **k): return np.zeros(3)
    def __reduce__(self): return (print, ("pwned",))
    def numpy(self): return np.zeros(3)
def f():
    return torch.arange(3).as_subclass(Evil)
"""
    out = runner.run(job(src))
    assert out.status == "ok" and type(out.value) is np.ndarray and out.value.tolist() == [0, 1, 2], out
    for body in (
        "class E:\n    def __eq__(self, o): return True\n    def __reduce__(self): return (print, ('x',))\ndef f():\n    return E()\n",
        "class I(int):\n    def __eq__(self, o): return True\ndef f():\n    return I(3)\n",
        "import numpy as np\ndef f():\n    return np.array([object()])\n",
        "import torch\ndef f():\n    return torch.ones(2, dtype=torch.complex64)\n",
    ):
        out = runner.run(job(body))
        assert out.status == "error" and "return a tensor" in out.message, (body, out)


def test_monkeypatching_torch_and_numpy_in_the_child_does_not_fool_the_trusted_side(runner):
    src = """
import numpy as np, torch
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.Tensor.__eq__ = lambda *a, **k: True
def full_ov(model):
    return torch.zeros(2, 52, 52)
"""
    out = runner.run(job(src, "full_ov", ("model",)))
    assert out.status == "ok"
    assert not np.allclose(out.value, expected_full_ov())  # the comparison runs here, untouched


# --- load and caps --------------------------------------------------------------------------
def test_20_sessions_at_once_are_all_answered(runner, probe):
    results: list = [None] * 20

    def submit(i: int) -> None:
        results[i] = runner.run(job("def f(k):\n    return k * 2\n", "f", ("k",), {"k": i}), session=f"s{i}")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = [r.status for r in results]
    assert set(statuses) <= {"ok", "busy"}, statuses
    assert statuses.count("ok") >= runner.max_running
    assert all(r.value == i * 2 for i, r in enumerate(results) if r.status == "ok")
    assert all("busy" in r.message for r in results if r.status == "busy")


def test_one_check_at_a_time_per_session(runner):
    slow = job("import time\ndef f():\n    time.sleep(1.5)\n    return 1\n")
    first: list = []
    t = threading.Thread(target=lambda: first.append(runner.run(slow, session="same")))
    t.start()
    time.sleep(0.5)
    second = runner.run(slow, session="same")
    t.join()
    assert first[0].status == "ok"
    assert second.status == "busy" and "already have a check running" in second.message


# --- modes and the codec (unit) ---------------------------------------------------------------
def test_mode_selection(monkeypatch):
    monkeypatch.setattr(sandbox_mod, "probe", lambda: (True, ""))
    assert runner_mode({}).mode is RunnerMode.SANDBOX
    assert runner_mode({"SORTLIST_CODE_EXERCISES": "process"}).mode is RunnerMode.PROCESS
    assert runner_mode({"SORTLIST_CODE_EXERCISES": "off"}).mode is RunnerMode.OFF
    assert runner_mode({"SORTLIST_CODE_EXERCISES": "bogus"}).mode is RunnerMode.OFF
    hosted = runner_mode({"SORTLIST_HOSTED": "1", "SORTLIST_CODE_EXERCISES": "process"})
    assert hosted.mode is RunnerMode.OFF and "sandbox" in hosted.reason
    monkeypatch.setattr(sandbox_mod, "probe", lambda: (False, "no user namespaces"))
    assert runner_mode({}).mode is RunnerMode.PROCESS
    off = runner_mode({"SORTLIST_HOSTED": "1"})
    assert off.mode is RunnerMode.OFF and "no user namespaces" in off.reason
    assert runner_mode({"SORTLIST_CODE_EXERCISES": "sandbox"}).mode is RunnerMode.OFF
    r = Runner(off)
    assert r.run(job("def f():\n    return 1\n")).status == "off"


def test_codec_rejects_pickles_and_malformed_frames():
    import io
    import pickle
    import struct

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        decode_message(frame({"kind": "ok", "encoding": "npy"}, [buf.getvalue()]))
    with pytest.raises(BadMessage):
        decode_message(struct.pack("!I", 10**9) + b"{}")
    with pytest.raises(BadMessage):
        decode_message(frame({"kind": "ok", "encoding": "npy"}, [b"x" * 10])[:-3])
    with pytest.raises((BadMessage, ValueError)):
        decode_message(struct.pack("!I", 5) + pickle.dumps(1)[:5])
    header, value = decode_message(frame({"kind": "ok", "encoding": "json", "value": [1, 2]}))
    assert value == [1, 2]


# --- attacks by learner code that knows the runner (tests/runner_attacks.py) ---------------------
@pytest.mark.parametrize("attack", sorted(runner_attacks.ATTACKS))
def test_attack_fails_and_the_honest_check_is_answered(runner, attack):
    if attack in runner_attacks.SAME_IN_EVERY_MODE and runner.decision.mode is RunnerMode.PROCESS:
        pytest.skip("the server handles it the same in every mode: tested in the sandbox and non-root")
    ctx = runner_attacks.Context(SECRET, bool(runner.isolation["namespaces"]), IS_ROOT, os.getpid())
    assert runner_attacks.ATTACKS[attack](runner, ctx) == []
    assert_nothing_survives(runner)


@pytest.mark.parametrize("attack", sorted(runner_attacks.ATTACKS))
def test_attack_without_per_check_namespaces(runner_without_namespaces, attack):
    """The weakest isolation there is for a root server: no namespaces, one uid per slot."""
    if attack in runner_attacks.SAME_IN_EVERY_MODE:
        pytest.skip("the server handles it the same in every mode: tested in the sandbox and non-root")
    ctx = runner_attacks.Context(SECRET, False, IS_ROOT, os.getpid())
    assert runner_attacks.ATTACKS[attack](runner_without_namespaces, ctx) == []


def test_a_stray_process_that_leaves_the_group_does_not_survive(runner):
    src = "import os\ndef f():\n    if os.fork() == 0:\n        os.setsid()\n        os.execvp('sleep', ['sleep', '4242'])\n    return 1\n"
    assert runner.run(job(src)).status == "ok"
    time.sleep(0.5)
    sleepers = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == b"sleep\x004242\x00"]
    assert sleepers == []


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


NON_ROOT_UID = 23456  # no passwd entry, no other process: kill(-1) by it reaches only this run


def _bwrap_works_unprivileged() -> bool:
    import subprocess

    probe = [sys.executable, "-c", "from sortlist_core.runner import sandbox; print(sandbox.probe()[0])"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        _as_unprivileged_uid(probe, None), capture_output=True, text=True, timeout=60, env=env
    )
    return out.stdout.strip().endswith("True")


def _as_unprivileged_uid(argv: list[str], writable: Path | None) -> list[str]:
    """argv run as NON_ROOT_UID (a real unprivileged uid, no capability), in a private mount
    namespace where the interpreter under /root (0700 here) is reachable."""
    base = os.path.realpath(sys.base_prefix)
    script = "set -e\n"
    if base.startswith("/root/"):
        top = "/root/" + base.split("/")[2]
        script += (
            f"mkdir -p /tmp/.sortlist-nonroot-stage && mount --bind {top} /tmp/.sortlist-nonroot-stage\n"
            f"mount -t tmpfs -o mode=0755 tmpfs /root && mkdir -p {top}\n"
            f"mount --bind /tmp/.sortlist-nonroot-stage {top}\n"
        )
    quoted = " ".join(shlex.quote(a) for a in argv)
    script += f"exec setpriv --reuid {NON_ROOT_UID} --regid {NON_ROOT_UID} --clear-groups --inh-caps=-all {quoted}\n"
    if writable is not None:
        os.chown(writable, NON_ROOT_UID, NON_ROOT_UID)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


@pytest.mark.slow  # a server process as another uid, one warm worker per mode: ~1-2 min
def test_every_attack_fails_as_an_unprivileged_server_too():
    """CI runs as root; the Docker image and most hosts do not. The same attacks, a real
    unprivileged uid, process mode with and without per-check namespaces."""
    import shutil

    if not IS_ROOT or shutil.which("setpriv") is None or shutil.which("unshare") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run this as root with setpriv and unshare (util-linux)")
        pytest.skip("needs root (to become an unprivileged uid) and setpriv/unshare")
    # outside /tmp (a check's /tmp is its own anyway), where the server's uid may write
    writable = REPO_ROOT / "tests" / f".nonroot-{uuid.uuid4().hex[:8]}"
    writable.mkdir()
    try:
        _run_attacks_unprivileged(writable)
    finally:
        shutil.rmtree(writable)


def _run_attacks_unprivileged(writable: Path) -> None:
    import json
    import subprocess

    specs = ["process+ns", "process+no"] + (["sandbox+ns"] if _bwrap_works_unprivileged() else [])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SORTLIST_")},
        "SORTLIST_TEST_SECRET": SECRET, "SORTLIST_TEST_WRITABLE": str(writable), "PYTHONPATH": str(REPO_ROOT),
        "HOME": str(writable),
    }  # fmt: skip
    argv = [sys.executable, "-m", "tests.runner_attacks", *specs]
    proc = subprocess.run(
        _as_unprivileged_uid(argv, writable),
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["uid"] == NON_ROOT_UID
    assert report["results"]["process+ns"]["isolation"]["namespaces"] is True, report
    found = {spec: {k: v for k, v in r["found"].items() if v} for spec, r in report["results"].items()}
    assert found == {spec: {} for spec in specs}
    assert list(writable.iterdir()) == []


# --- codec, CLI and settings ------------------------------------------------------------------------
def test_a_deeply_nested_frame_is_a_bad_message_not_a_recursion_error():
    import struct

    head = b'{"kind": "ok", "encoding": "json", "value": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    with pytest.raises(BadMessage, match="nested too deeply"):
        decode_message(struct.pack("!I", len(head)) + head)


def test_the_cli_shows_its_exit_code_not_a_traceback(runner, tmp_path, monkeypatch, capsys):
    """`python -m sortlist_core exercises check` with a file that forges a deeply nested result."""
    from sortlist_core.cli import main
    from sortlist_core.runner import server

    monkeypatch.setattr(server.DEFAULT_RUNNER, "instance", runner)
    solution = tmp_path / "forged.py"
    solution.write_text(runner_attacks.FORGED_FRAME.replace("def f():", "def full_ov(model):"))
    code = main(["exercises", "check", "circuits.full_ov", str(solution)])
    printed = capsys.readouterr()
    assert code == 0 and "FAILED" in printed.out and "could not be read back" in printed.out, printed
    assert "Traceback" not in printed.err


def test_hosted_spelled_true_keeps_code_in_the_sandbox(monkeypatch):
    monkeypatch.setattr(sandbox_mod, "probe", lambda: (False, "no user namespaces"))
    for word in ("1", "true", "YES", "on"):
        decision = runner_mode({"SORTLIST_HOSTED": word})
        assert decision.mode is RunnerMode.OFF and "sandbox" in decision.reason, word
        assert (
            runner_mode({"SORTLIST_HOSTED": word, "SORTLIST_CODE_EXERCISES": "process"}).mode
            is RunnerMode.OFF
        )
    assert runner_mode({"SORTLIST_HOSTED": "false"}).mode is RunnerMode.PROCESS


def test_a_worker_that_cannot_start_gives_a_clear_message(tmp_path, monkeypatch):
    r = Runner(ModeDecision(RunnerMode.PROCESS, "test"), LIMITS)
    monkeypatch.setattr(r, "_worker_argv", lambda: ([str(tmp_path / "no-such-python")], {}, "/"))
    out = r.run(job("def f():\n    return 1\n"))
    r.close()
    assert out.status == "crashed" and "could not start" in out.message, out


def test_the_docker_image_is_hosted_by_default():
    """Under a plain `docker run` (no user namespaces) learner code must not run next to the
    server's environment: SORTLIST_HOSTED=1 turns code exercises off there instead."""
    from sortlist_core import settings

    from .test_deploy import dockerfile_instructions

    env: dict[str, str] = {}
    for instr, args in dockerfile_instructions((REPO_ROOT / "Dockerfile").read_text()):
        if instr == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(args) if "=" in part)
    assert settings.hosted(env), env


def test_scratch_never_hides_the_checks_own_code():
    """A CI clone or venv under /tmp must stay visible: the private tmpfs skips a place that holds it."""
    from sortlist_core.runner import namespaces

    assert namespaces._hides("/tmp", {"/tmp/fc/main"})
    assert namespaces._hides("/tmp", {"/tmp"})
    assert not namespaces._hides("/tmp", {"/tmpfoo/main", "/work/main"})
    assert not namespaces._hides("/var/tmp", {"/tmp/fc/main"})
    here = str(Path(namespaces.__file__).resolve().parents[2])
    assert here in namespaces._code_roots()
