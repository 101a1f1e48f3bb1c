"""`open_store()`: the store this deployment is configured with.

It lives apart from `store` (the interface) because it imports the backends, which themselves
import the interface: keeping the choice here leaves no import cycle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sortlist_core import settings

from .sqlite_store import SqliteStore
from .store import DATABASE_URL_ENV, SQLITE_FILENAME, ProgressStore, default_data_dir


def open_store(env: Mapping[str, str] | None = None, **options) -> ProgressStore:
    """The configured store. Opening never fails: connecting (and migrating) happens on first
    use, so an app whose database is down still starts and reports it on the first call."""
    env = os.environ if env is None else env
    url = settings.text(DATABASE_URL_ENV, env=env)
    if url:
        # Imported only when configured: psycopg costs ~0.27 s of start-up that a SQLite
        # deployment never needs. (Not a cycle: postgres_store does not import this module.)
        from .postgres_store import PostgresStore

        return PostgresStore(url, **options)
    return SqliteStore(default_data_dir(env) / SQLITE_FILENAME, **options)
