"""nginx started by a test: the site config rendered by deploy/nginx/render_conf.py (the same
command the README gives), inside a minimal main config, all in a temp dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "deploy" / "nginx" / "render_conf.py"

_MAIN = """\
worker_processes 1;
daemon off;
pid {base}/nginx.pid;
error_log {base}/error.log info;
{user}
events {{ worker_connections 512; }}
http {{
    access_log {base}/access.log;
    client_body_temp_path {base}/tmp/body;
    proxy_temp_path {base}/tmp/proxy;
    fastcgi_temp_path {base}/tmp/fastcgi;
    uwsgi_temp_path {base}/tmp/uwsgi;
    scgi_temp_path {base}/tmp/scgi;
    include {base}/sortlist.conf;
}}
"""


DEFAULT_ACCESS_LOG = "/var/log/nginx/access.log"  # render_conf.py's default


def render_site(upstreams: list[str], listen: str, access_log: str | None = None) -> str:
    """`python3 deploy/nginx/render_conf.py --listen L --upstream U ...`, as in the README."""
    cmd = [sys.executable, str(RENDER), "--listen", listen]
    if access_log:
        cmd += ["--access-log", access_log]
    for up in upstreams:
        cmd += ["--upstream", up]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


class Nginx:
    def __init__(self, binary: str, upstreams: list[str]) -> None:
        self.binary = binary
        self.upstreams = upstreams
        self.base = Path(tempfile.mkdtemp(prefix="sortlist-nginx-"))
        os.chmod(self.base, 0o755)  # workers (nobody, under root) read nothing else from here
        (self.base / "tmp").mkdir()
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def write_config(self, port: int, site: str | None = None) -> Path:
        """The main config around `site` (default: rendered for our upstreams on `port`)."""
        self.port = port
        log = str(self.base / "access.log")
        # the site's access log goes to this nginx's own directory (the README's default path
        # is the host's /var/log/nginx, which a non-root test run cannot open)
        site = (
            site.replace(DEFAULT_ACCESS_LOG, log)
            if site
            else render_site(self.upstreams, f"127.0.0.1:{port}", log)
        )
        (self.base / "sortlist.conf").write_text(site)
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        conf = self.base / "nginx.conf"
        conf.write_text(_MAIN.format(base=self.base, user=user))
        return conf

    def test_config(self, site: str | None = None) -> subprocess.CompletedProcess:
        """`nginx -t` (checks syntax and upstreams; binds no port)."""
        conf = self.write_config(self.port or free_port(), site)
        return subprocess.run(
            [self.binary, "-t", "-p", str(self.base), "-c", str(conf)], capture_output=True, text=True
        )

    def start(self) -> None:
        for _ in range(3):  # a free port can be taken between choosing and binding it
            conf = self.write_config(free_port())
            self.proc = subprocess.Popen(
                [self.binary, "-p", str(self.base), "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                wait_for_port(self.port, timeout=15, proc=self.proc)
                return
            except RuntimeError:
                continue
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def error_log(self) -> str:
        try:
            return (self.base / "error.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)
