"""deploy/nginx/sortlist.conf in a real nginx in front of two tiny replicas: the config is
valid, browsers stick to one replica by cookie and spread over both, WebSocket upgrades pass
through, and a killed replica's browsers move to the other."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import shlex
import subprocess
import sys
import urllib.request
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import tornado.httpclient
import tornado.websocket

from harness.nginx import Nginx, render_site
from tests.infra.upstreams import Upstream

ROOT = Path(__file__).resolve().parents[1]


def test_render_conf_writes_every_replica_and_the_port():
    text = render_site(["127.0.0.1:9101", "10.0.0.7:8501"], "8088")
    assert "server 127.0.0.1:9101 max_fails=2 fail_timeout=10s;" in text
    assert (
        "server 10.0.0.7:8501 max_fails=2" in text and "8502" not in text.split("upstream")[1].split("}")[0]
    )
    assert "    listen 8088;  # LISTEN" in text


def test_upstream_connections_are_not_reused():
    # Reused upstream connections waited ~40 ms per request for a delayed ACK (bench/concurrency.py
    # through nginx: /_stcore/health 44 ms vs 0.9 ms with a fresh connection), see sortlist.conf.
    text = render_site(["127.0.0.1:9101", "127.0.0.1:9102"], "8088")
    upstream = text.split("upstream sortlist_replicas")[1].split("}")[0]
    assert "server 127.0.0.1:9101" in upstream and not re.search(r"^\s*keepalive\b", upstream, re.M)
    assert re.search(r'""\s+close;', text), "non-WebSocket requests must close the upstream connection"


def test_nginx_accepts_the_rendered_config(nginx_binary):
    nginx = Nginx(nginx_binary, ["127.0.0.1:9101", "127.0.0.1:9102"])
    try:
        result = nginx.test_config()
        assert result.returncode == 0, result.stderr
        assert "test is successful" in result.stderr
    finally:
        nginx.stop()


def test_the_readme_command_writes_a_config_nginx_accepts(nginx_binary):
    readme = (ROOT / "README.md").read_text()
    (line,) = [
        ln.strip()
        for ln in readme.splitlines()
        if ln.strip().startswith("python3 deploy/nginx/render_conf.py")
    ]
    command, _, target = line.partition(" > ")
    assert target == "/etc/nginx/conf.d/sortlist.conf"
    argv = shlex.split(command)
    site = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert site.count("    server 127.0.0.1:85") == 2 and "listen 80;" in site
    nginx = Nginx(nginx_binary, [])
    try:
        result = nginx.test_config(site)
        assert result.returncode == 0, result.stderr
    finally:
        nginx.stop()


@pytest.fixture
def proxied(nginx_binary):
    """Replicas A and B behind nginx; yields (nginx, {name: upstream})."""
    replicas = {name: Upstream(name) for name in ("A", "B")}
    nginx = Nginx(nginx_binary, [r.address for r in replicas.values()])
    try:
        nginx.start()
        yield nginx, replicas
    finally:
        nginx.stop()
        for r in replicas.values():
            r.kill()


def get(port: int, path: str = "/", cookie: str | None = None) -> tuple[dict | str, str | None]:
    """(body, the routing cookie nginx set or None)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if cookie:
        request.add_header("Cookie", f"sortlist_route={cookie}")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
        set_cookie = SimpleCookie(response.headers.get("Set-Cookie", ""))
    route = set_cookie["sortlist_route"].value if "sortlist_route" in set_cookie else None
    return (json.loads(body) if body.startswith("{") else body), route


def new_browser(port: int) -> tuple[str, str]:
    """A browser's first visit: (its routing cookie, the replica that served it)."""
    body, route = get(port)
    assert route, "nginx must set the routing cookie on a first visit"
    return route, body["replica"]


def test_browsers_stick_to_one_replica_by_cookie_and_spread_over_both(proxied):
    nginx, _ = proxied
    browsers = [new_browser(nginx.port) for _ in range(30)]
    for route, replica in browsers:
        for _ in range(3):
            body, again = get(nginx.port, cookie=route)
            assert body["replica"] == replica
            assert again is None  # the cookie is set once, not on every response
            assert f"sortlist_route={route}" in body["cookie"]  # passed through to the replica
    spread = Counter(replica for _, replica in browsers)
    assert set(spread) == {"A", "B"}, spread  # 30 browsers all on one replica: p < 1e-4
    assert get(nginx.port, "/healthz")[0] == "ok"


async def ws_exchange(port: int, route: str, message: str) -> tuple[str, str]:
    request = tornado.httpclient.HTTPRequest(
        f"ws://127.0.0.1:{port}/_stcore/stream", headers={"Cookie": f"sortlist_route={route}"}
    )
    conn = await asyncio.wait_for(tornado.websocket.websocket_connect(request), 10)
    try:
        greeting = await asyncio.wait_for(conn.read_message(), 10)
        await conn.write_message(message)
        echo = await asyncio.wait_for(conn.read_message(), 10)
        return greeting, echo
    finally:
        conn.close()


def test_websocket_upgrade_reaches_the_sticky_replica(proxied):
    nginx, _ = proxied
    route, replica = new_browser(nginx.port)
    greeting, echo = _run_async(ws_exchange(nginx.port, route, "ping"))
    assert greeting == f"hello from {replica}" and echo == f"{replica}:ping"


def test_a_killed_replicas_browsers_move_to_the_other_one(proxied):
    nginx, replicas = proxied
    browsers = [new_browser(nginx.port) for _ in range(20)]
    on = {name: [route for route, r in browsers if r == name] for name in replicas}
    victim, survivor = ("A", "B") if on["A"] else ("B", "A")
    assert on[victim]

    replicas[victim].kill()
    for route in on[victim]:
        assert get(nginx.port, cookie=route)[0]["replica"] == survivor
        greeting, _ = _run_async(ws_exchange(nginx.port, route, "again"))
        assert greeting == f"hello from {survivor}"
    for route in on[survivor]:  # the survivor's own browsers are undisturbed
        assert get(nginx.port, cookie=route)[0]["replica"] == survivor
    assert get(nginx.port, "/healthz")[0] == "ok"


def test_the_test_script_installs_the_real_components_when_missing():
    script = (ROOT / "scripts" / "test.sh").read_text()
    for package in ("nginx", "postgresql", "bubblewrap", "chromium"):
        assert re.search(rf"missing\+=\({package}[ )]", script), package
    assert 'apt-get install -y -qq --no-install-recommends "${missing[@]}"' in script


def _run_async(coro):
    """asyncio.run in a thread of its own: an earlier test (Playwright's sync API) may have left an
    event loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
