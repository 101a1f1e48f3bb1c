"""The hosted set-up, started locally: PostgreSQL, N replicas (the README's run command), nginx.

The same real components as `tests/test_classroom_scaleout.py` (harness/), in temp dirs on
free ports, torn down on exit:

    with classroom_deployment(ctx, replicas=2) as d:
        d.base_url, d.replicas, d.database_url
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .common import Context


@dataclass
class Deployment:
    base_url: str  # nginx
    database_url: str
    replicas: list  # harness.app_learners.AppReplica


@contextmanager
def classroom_deployment(
    ctx: Context, replicas: int = 2, database: str = "sortlist_bench", env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """The set-up, torn down on exit; `env` adds to every replica's environment."""
    from harness.app_learners import AgentLearner, AppReplica
    from harness.nginx import Nginx
    from harness.postgres import PostgresCluster, pg_bindir
    from sortlist_progress import new_learner_key

    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    if pg_bindir() is None:
        raise RuntimeError("PostgreSQL (initdb, pg_ctl) not found: apt-get install postgresql")
    cluster = PostgresCluster()
    started: list = []
    nginx = None
    try:
        cluster.init()
        cluster.start()
        url = cluster.create_database(database)
        replica_env = {k: v for k, v in ctx.env.items() if not k.startswith("STREAMLIT_")}
        replica_env.update(
            env or {},
            SORTLIST_DATABASE_URL=url,
            STREAMLIT_SERVER_COOKIE_SECRET=secrets.token_hex(32),
            OMP_NUM_THREADS="1",  # one replica per core: torch must not spread over both
        )
        started = [AppReplica(replica_env) for _ in range(replicas)]
        for r in started:
            r.start()
        for r in started:
            AgentLearner(f"http://{r.address}", new_learner_key()).open()  # warm, as readiness would
        nginx = Nginx(nginx_bin, [r.address for r in started])
        nginx.start()
        yield Deployment(f"http://127.0.0.1:{nginx.port}", url, started)
    finally:
        if nginx is not None:
            nginx.stop()
        for r in started:
            r.kill()
        cluster.destroy()
