"""The sandbox policy in one place: per-check limits, the environments the worker and each
check get, the namespaces, the scratch space, the watchdogs and the exit codes the child uses
when its lock-down fails. The worker, the child, the bubblewrap command line and the server
all read these; README "Code exercises" describes the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Defaults suit a shared 2-core server; tests shorten them."""

    cpu_s: float = 10.0  # RLIMIT_CPU (the check's own CPU seconds)
    wall_s: float = 15.0  # wall clock, then the check's processes are killed
    memory_mb: int = 2048  # address space the learner may add on top of the pre-imported worker
    file_size_bytes: int = 16 << 20  # RLIMIT_FSIZE: largest file the code may write
    processes: int = 32  # RLIMIT_NPROC (threads count too)
    open_files: int = 128  # RLIMIT_NOFILE
    stdout_bytes: int = 10_000  # kept from what the code prints; the rest is read and dropped
    result_bytes: int = 32 << 20  # largest encoded return value
    idle_s: float = 4.0  # this long with (almost) no CPU and never runnable: ended as idle

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- what each check may use besides the Limits ---------------------------------------------
PRINT_KILL_BYTES = 8 << 20  # printing more than this ends the check
SCRATCH_BYTES = 64 << 20  # each private tmpfs of a check: its cwd (/tmp), /var/tmp, /dev/shm
SCRATCH_INODES = 4096  # files and directories per private tmpfs
NICE = 10  # the server's own threads win the CPU over learner code
IDLE_CPU_FRACTION = 0.05  # below this share of one core over `Limits.idle_s`: idle
PARK_AFTER_S = 1.0  # idle this long: the check gives its CPU slot to the next one in the queue

# --- environments (allow-lists: nothing else of the server's environment passes) -------------
WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

# --- namespaces ---------------------------------------------------------------------------
# The worker (sandbox mode): bubblewrap's own namespaces around the whole runner.
SANDBOX_NAMESPACE_ARGS = (
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "--die-with-parent", "--new-session",
)  # fmt: skip
# Capabilities the worker keeps when the server is root (uid 0 inside bubblewrap): enough to
# switch each child to its unprivileged uid and to clean up after it; the child loses all.
WORKER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
SANDBOX_TMPFS_BYTES = 512 << 20  # the worker's /tmp inside the sandbox (its per-check files)
# Each check, after dropping to its unprivileged uid: a user namespace of its own (it maps only
# that uid), and in it new PID (the check is PID 1: its processes die with it), IPC (SysV and
# POSIX message queues vanish with it) and mount namespaces (its own /proc where the kernel
# allows one, private size-capped tmpfs scratch).
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CHILD_NAMESPACES = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS
CHILD_SCRATCH_MOUNTS = ("/tmp", "/var/tmp", "/dev/shm")  # each a private tmpfs; cwd is /tmp

# --- the child's exit codes when the lock-down fails (before any learner code ran) -----------
EXIT_WORKER_GONE = 70  # the worker died before the child could tie its life to it
EXIT_STILL_ROOT = 71  # the uid switch left the child root: refuse to run learner code
EXIT_SETUP_FAILED = 72  # anything else in the lock-down raised
EXIT_NAMESPACES_FAILED = 73  # the namespaces the worker found working could not be made
SETUP_EXIT_CODES = (EXIT_WORKER_GONE, EXIT_STILL_ROOT, EXIT_SETUP_FAILED, EXIT_NAMESPACES_FAILED)

# --- the server's watchdogs ---------------------------------------------------------------------
DEFAULT_BASE_UID = 65534  # first unprivileged uid (one per slot) when the server is root
CHILD_GID = 65534
WORKER_START_S = 180.0  # importing torch + TransformerLens on a busy machine
HEARTBEAT_S = 0.5  # the worker says it is alive this often
WORKER_SILENT_S = 5.0  # no heartbeat for this long: the worker is killed and replaced
PIPE_WRITE_S = 5.0  # a job not written to the worker in this time: the worker is replaced
WORKER_SEND_S = 10.0  # the worker gives up (exits) when the server reads nothing for this long
QUEUE_WAIT_S = 60.0
NO_RESULT_GRACE_S = 30.0  # beyond the wall limit, how long the server waits for an answer
