"""The bubblewrap command line for the worker: no network, own PID namespace, a read-only
minimal filesystem (interpreter, packages, a copy of `sortlist_core`), an empty environment.

Nothing of the app's directory, its assets, `.streamlit/` or its data is mounted; /proc is the
namespace's own, so the server's processes (and their environ) are not visible.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from . import policy

VENV_MOUNT = "/opt/venv"
PACKAGE_MOUNT = "/opt/sortlist"
WORKER_ENV = policy.WORKER_ENV  # the names callers used before the policy module


def bwrap_path() -> str | None:
    return shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")


def namespace_args() -> list[str]:
    args = list(policy.SANDBOX_NAMESPACE_ARGS)
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
        for cap in policy.WORKER_CAPS:
            args += ["--cap-add", cap]
    return args


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """(works, why not): run `bwrap ... true` once with the namespaces we need."""
    if not sys.platform.startswith("linux"):
        return False, "bubblewrap needs Linux"
    exe = bwrap_path()
    if exe is None:
        return False, "bubblewrap (bwrap) is not installed"
    cmd = [exe, *namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        proc = subprocess.run(
            cmd, env={}, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["exit status " + str(proc.returncode)])[-1]
        return False, f"bubblewrap cannot create its namespaces here ({detail})"
    return True, ""


def copy_package(dest: Path) -> Path:
    """A code-only copy of `sortlist_core` under dest (what the sandbox mounts read-only)."""
    src = Path(__file__).resolve().parent.parent
    target = dest / "sortlist_core"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pt", "*.json"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o444)
    return target


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def python_mounts() -> tuple[list[str], str]:
    """(bwrap mount args, interpreter path inside) for the interpreter running this server.

    A virtual environment is mounted at /opt/venv (it resolves its prefix from the executable's
    path, so it works there); the base interpreter at its own path; the system dirs read-only.
    """
    args: list[str] = []
    system = ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"]
    for path in system:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/ssl/certs"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    mounted = list(system)
    base = os.path.realpath(sys.base_prefix)
    if not _under(base, mounted):
        args += ["--ro-bind", base, base]
        mounted.append(base)
    prefix = os.path.realpath(sys.prefix)
    if prefix != base:
        args += ["--ro-bind", prefix, VENV_MOUNT]
        python = f"{VENV_MOUNT}/bin/python"
        remapped = [prefix]
    else:
        python = os.path.realpath(sys.executable)
        remapped = []
    for sp in site.getsitepackages():
        real = os.path.realpath(sp)
        if os.path.isdir(real) and not _under(real, mounted + remapped):
            args += ["--ro-bind", real, real]
            mounted.append(real)
    return args, python


def _parent_dirs(mounts: list[str]) -> list[str]:
    """`--perms 0755 --dir` for every parent of a mount point: bwrap would create them 0700,
    which the child's unprivileged uid could not enter."""
    parents: set[str] = set()
    for i, arg in enumerate(mounts):
        if arg in ("--ro-bind", "--symlink", "--bind") and i + 2 < len(mounts):
            parent = os.path.dirname(mounts[i + 2])
            while parent not in ("/", ""):
                parents.add(parent)
                parent = os.path.dirname(parent)
    out: list[str] = []
    for parent in sorted(parents, key=lambda p: (p.count("/"), p)):
        out += ["--perms", "0755", "--dir", parent]
    return out


def worker_command(package_copy_parent: Path, base_inside: str = "/tmp") -> list[str]:
    """The full bwrap argv that starts the worker (to be run with an EMPTY environment)."""
    exe = bwrap_path()
    if exe is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    mounts, python = python_mounts()
    args = [exe, *namespace_args(), *_parent_dirs([*mounts, "--ro-bind", "", PACKAGE_MOUNT]), *mounts]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(policy.SANDBOX_TMPFS_BYTES),
        "--tmpfs",
        "/tmp",
        "--dir",
        "/var/tmp",
    ]
    args += ["--ro-bind", str(package_copy_parent), PACKAGE_MOUNT]
    args += ["--chdir", PACKAGE_MOUNT, "--clearenv"]
    for key, value in policy.WORKER_ENV.items():
        args += ["--setenv", key, value]
    args += ["--", python, "-E", "-s", "-m", "sortlist_core.runner.worker", "--base", base_inside]
    return args
