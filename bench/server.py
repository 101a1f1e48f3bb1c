"""Start and stop `streamlit run app.py` as a subprocess on a free port.

    with StreamlitServer(ctx.env) as server:   # returns once /_stcore/health answers "ok"
        server.health_s, server.url, server.rss()

The server is always stopped (terminate, then kill) when the block exits, whatever happened.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from .common import ROOT

HEALTH_PATH = "/_stcore/health"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    pass


class StreamlitServer:
    """`streamlit run <script>` headless on 127.0.0.1:<free port>, from the repository root (so
    `.streamlit/config.toml` applies). `t0` is taken just before the process is spawned."""

    def __init__(
        self,
        env: dict[str, str],
        script: str | Path = "app.py",
        cwd: Path = ROOT,
        timeout: float = 120.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.env = env
        self.script = str(script)
        self.cwd = cwd
        self.timeout = timeout
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.t0 = 0.0
        self.health_s: float | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="bench-streamlit-", suffix=".log", delete=False)

    def start(self) -> StreamlitServer:
        # The app as it is deployed: `python -m sortlist_app.server.serve` (`streamlit run app.py` with
        # the first page's work started in the background); any other script as Streamlit runs it.
        launch = (
            ["sortlist_app.server.serve"] if self.script == "app.py" else ["streamlit", "run", self.script]
        )
        args = [
            sys.executable, "-m", *launch,
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
            *self.extra_args,
        ]  # fmt: skip
        env = dict(self.env, PYTHONUNBUFFERED="1")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(args, cwd=self.cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = self.t0 + self.timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"streamlit exited with code {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        self.health_s = time.perf_counter() - self.t0
                        return self
            except OSError:
                pass
            time.sleep(0.02)
        raise ServerError(f"no healthy answer from {self.url}{HEALTH_PATH} within {self.timeout:.0f} s")

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
        out = {
            "server_rss": 0,
            "server_pss": 0,
            "server_uss": 0,
            "worker_rss": 0,
            "worker_pss": 0,
            "worker_uss": 0,
        }
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

    def log_tail(self, n: int = 2000) -> str:
        try:
            self._log.flush()
            return Path(self._log.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        try:
            os.unlink(self._log.name)
        except OSError:
            pass

    def __enter__(self) -> StreamlitServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
