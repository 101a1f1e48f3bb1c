"""pytest fixtures for the real components (registered in tests/conftest.py).

A missing PostgreSQL or nginx is a failure under CI (`scripts/test.sh` installs both) and a
skip elsewhere, like the reference checkpoint.
"""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

from harness.postgres import PostgresCluster, pg_bindir

_db_names = itertools.count(1)


def require_tool(found, what: str, install: str):
    if not found:
        message = f"{what} not found; install it with: {install} (scripts/test.sh does this)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def postgres_cluster():
    """One PostgreSQL cluster for the test session (initdb costs ~2 s); tests get databases."""
    require_tool(pg_bindir(), "PostgreSQL (initdb, pg_ctl)", "apt-get install postgresql")
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return postgres_cluster.create_database(f"sortlist_test_{os.getpid()}_{next(_db_names)}")


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    return require_tool(
        shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None),
        "nginx",
        "apt-get install nginx",
    )
