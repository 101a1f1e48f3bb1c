"""Start and stop the app (or any Streamlit script) as a subprocess on a free port.

    with StreamlitServer(log_path, env) as server:   # returns once /_stcore/health answers "ok"
        server.url, server.health_s, server.rss(), server.memory_parts(), server.log_tail()

- `env` is laid over this process's environment (less any `STREAMLIT_*` and `$SORTLIST_MODEL_PATH`,
  so the caller decides the model); a value of None removes that variable.
- `launch` is what runs as `python -m <launch...>`: `STREAMLIT_RUN` (`streamlit run app.py`),
  `SERVE` (the deployed launcher) or `streamlit_run(script)` for another script.
- Without a `log_path` the log goes to a temporary file that `stop()` deletes.
- The server runs in its own process group; `stop()` (also on leaving the block, whatever
  happened) terminates, then kills, the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import psutil

from .ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_PATH_ENV = "SORTLIST_MODEL_PATH"  # read by the app: the default model's checkpoint
HEALTH_PATH = "/_stcore/health"

# Generous: 2 shared CPU cores, and the deployed launcher warm-starts the first page.
SERVER_START_S = 120.0
# Short, so that `health_s` (measured by the bench) is not rounded up by the polling.
HEALTH_POLL_S = 0.02
# `free_port()` only finds a port that was free a moment ago: a client socket (the browser's, a
# previous server's connection in TIME_WAIT) can take it before Streamlit binds it. Streamlit
# then logs "Port N is not available" and exits with 1, so start() tries a fresh port.
PORT_TAKEN_MARK = "is not available"
PORT_ATTEMPTS = 3

STREAMLIT_RUN = ("streamlit", "run", "app.py")
SERVE = ("sortlist_app.server.serve",)  # the deployed launcher: the same, with the first page warm-started


def streamlit_run(script: str | Path) -> tuple[str, ...]:
    """`launch` for `streamlit run <script>`."""
    return ("streamlit", "run", str(script))


class ServerError(AssertionError):
    """The server exited or never answered its health check (an AssertionError, so that a test
    reports it as a failure with the server's log)."""


class StreamlitServer:
    """`python -m <launch...>` headless on 127.0.0.1:<free port>, from `cwd` (the repository
    root, so `.streamlit/config.toml` applies). `t0` is taken just before the process is
    spawned, `health_s` once its health check first answers "ok"."""

    def __init__(
        self,
        log_path: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        *,
        launch: tuple[str, ...] = STREAMLIT_RUN,
        cwd: Path = REPO_ROOT,
        timeout: float = SERVER_START_S,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.launch = launch
        self.cwd = cwd
        self.timeout = timeout
        self.extra_args = extra_args
        self._owns_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="sortlist-streamlit-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
        self.env.pop(MODEL_PATH_ENV, None)
        self.env.update(PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        for key, value in (env or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        self.proc: subprocess.Popen | None = None
        self.t0 = 0.0
        self.health_s: float | None = None

    def start(self) -> StreamlitServer:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                return self._start_once()
            except ServerError:
                taken = (
                    self.proc is not None
                    and self.proc.poll() is not None
                    and PORT_TAKEN_MARK in self.log_text()
                )
                if not taken or attempt == PORT_ATTEMPTS:
                    raise
                self._close_log()
                self.proc = None
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        raise AssertionError("unreachable")

    def _start_once(self) -> StreamlitServer:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        args = [
            sys.executable,
            "-m",
            *self.launch,
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            "--browser.gatherUsageStats=false",
            "--logger.enableRich=false",  # plain tracebacks in the log
            *self.extra_args,
        ]
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            args,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills the whole group
        )
        deadline = self.t0 + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=5) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        self.health_s = time.perf_counter() - self.t0
                        return self
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise ServerError(f"streamlit not healthy after {self.timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(HEALTH_POLL_S)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    # the leader is gone; kill stragglers of the group (if any) too
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
                break
        self._close_log()
        if self._owns_log:
            self.log_path.unlink(missing_ok=True)

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss(self) -> int:
        """Resident set size of the server process and any children, in bytes."""
        return sum(self.rss_parts())

    def rss_parts(self) -> tuple[int, int]:
        """(the server process, its children: the code-exercise worker and its checks), in bytes."""
        proc = psutil.Process(self.pid)
        children = 0
        for child in proc.children(recursive=True):
            try:
                children += child.memory_info().rss
            except psutil.Error:
                pass
        return proc.memory_info().rss, children

    def memory_parts(self) -> dict[str, int]:
        """Bytes, server and children (the code worker, any check running): RSS, PSS (shared
        pages split between the processes that map them) and USS (pages only that process has)."""
        out = {f"{who}_{kind}": 0 for who in ("server", "worker") for kind in ("rss", "pss", "uss")}
        proc = psutil.Process(self.pid)
        for who, procs in (("server", [proc]), ("worker", proc.children(recursive=True))):
            for p in procs:
                try:
                    full = p.memory_full_info()
                except psutil.Error:
                    continue
                out[f"{who}_rss"] += full.rss
                out[f"{who}_pss"] += full.pss
                out[f"{who}_uss"] += full.uss
        return out

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 60) -> str:
        """The log's last `n` lines."""
        return "\n".join(self.log_text().splitlines()[-n:])

    def __enter__(self) -> StreamlitServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
