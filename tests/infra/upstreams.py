"""Tiny replicas for the nginx tests: `echo_upstream.py` processes that each name themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("echo_upstream.py")


class Upstream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.proc.kill()
            raise RuntimeError(f"upstream {name} did not start: {self.proc.stderr.read()}")
        self.port = int(line)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL, as a crashed replica."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
