#!/usr/bin/env python3
"""Write deploy/nginx/sortlist.conf for your replicas and port (stdlib only).

    python3 deploy/nginx/render_conf.py --listen 80 \
        --upstream 127.0.0.1:8501 --upstream 127.0.0.1:8502 > /etc/nginx/conf.d/sortlist.conf

Replaces the lines between `# BEGIN replicas` and `# END replicas` with one `server` line per
`--upstream`, the `listen` line marked `# LISTEN` and the access log's path (`# ACCESS_LOG`,
default /var/log/nginx/access.log, logged without query strings); everything else is the file
as shipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("sortlist.conf")
_UPSTREAM = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
_LISTEN = re.compile(r"^([A-Za-z0-9.\-\[\]:]+:)?\d{1,5}$")
_LOG_PATH = re.compile(r"^/[A-Za-z0-9._/\-]+$")
DEFAULT_ACCESS_LOG = "/var/log/nginx/access.log"


def render(
    upstreams: list[str],
    listen: str,
    max_fails: int = 2,
    fail_timeout: int = 10,
    access_log: str = DEFAULT_ACCESS_LOG,
) -> str:
    for up in upstreams:
        if not _UPSTREAM.match(up):
            raise ValueError(f"--upstream must be HOST:PORT, not {up!r}")
    if not _LISTEN.match(listen):
        raise ValueError(f"--listen must be PORT or ADDRESS:PORT, not {listen!r}")
    if not upstreams:
        raise ValueError("give at least one --upstream")
    if not _LOG_PATH.match(access_log):
        raise ValueError(f"--access-log must be an absolute path, not {access_log!r}")
    text = TEMPLATE.read_text(encoding="utf-8")
    servers = "".join(
        f"    server {up} max_fails={max_fails} fail_timeout={fail_timeout}s;\n" for up in upstreams
    )
    text, n = re.subn(
        r"(    # BEGIN replicas[^\n]*\n).*?(    # END replicas\n)",
        lambda m: m[1] + servers + m[2],
        text,
        flags=re.S,
    )
    text, m = re.subn(r"^    listen \S+;(  # LISTEN)", rf"    listen {listen};\1", text, flags=re.M)
    text, k = re.subn(
        r"^    access_log \S+ (sortlist_no_query;  # ACCESS_LOG)",
        rf"    access_log {access_log} \1",
        text,
        flags=re.M,
    )
    if (n, m, k) != (1, 1, 1):
        raise ValueError(f"{TEMPLATE} lost its '# BEGIN replicas', '# LISTEN' or '# ACCESS_LOG' marker")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--upstream", action="append", default=[], metavar="HOST:PORT", help="a replica (repeat)"
    )
    parser.add_argument("--listen", default="80", help="PORT or ADDRESS:PORT nginx listens on (default 80)")
    parser.add_argument("--max-fails", type=int, default=2)
    parser.add_argument("--fail-timeout", type=int, default=10, help="seconds")
    parser.add_argument(
        "--access-log",
        default=DEFAULT_ACCESS_LOG,
        help=f"access log path, no query strings (default {DEFAULT_ACCESS_LOG})",
    )
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(
            render(args.upstream, args.listen, args.max_fails, args.fail_timeout, args.access_log)
        )
    except ValueError as exc:
        print(f"render_conf.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
