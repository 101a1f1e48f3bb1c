"""PostgreSQL backend (psycopg 3), used when `SORTLIST_DATABASE_URL` is set; replicas share it.

One connection per store (per process), opened on first use with a short connect timeout and
TCP keepalives, so a database that is down or unreachable costs a page at most a few seconds
and surfaces as `StoreUnavailable`. A connection that breaks (database restarted, network
blip) is dropped and the call retried once on a new one: writes are idempotent by attempt id,
so a retry never stores an attempt twice. Migrations run under an advisory transaction lock,
so replicas starting together migrate once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from .errors import ProgressStoreError, StoreFull, StoreLocked, StoreUnavailable
from .sql_store import SqlProgressStore

# pg_advisory_xact_lock key for migrations: the bytes of "sortlist" as a signed 64-bit integer.
MIGRATION_LOCK_KEY = int.from_bytes(b"sortlist", "big", signed=True)
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")
_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1***@", url))


class PostgresStore(SqlProgressStore):
    backend = dialect = "postgres"
    placeholder = "%s"
    default_reconnect_interval = 5.0  # a connect attempt can cost the whole connect_timeout

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: int = 5,
        statement_timeout_ms: int = 15_000,
        lock_timeout_ms: int = 5_000,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.connect_timeout = max(2, int(connect_timeout))  # libpq's minimum
        self.statement_timeout_ms = int(statement_timeout_ms)
        self.lock_timeout_ms = int(lock_timeout_ms)

    def describe(self) -> str:
        return f"PostgreSQL {redact(self.url)}"

    def _open_connection(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=self.connect_timeout,
            application_name="sortlist",
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=15_000,  # ms: a dead peer fails the call instead of hanging it
        )
        try:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", (str(self.statement_timeout_ms),)
            )
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (str(self.lock_timeout_ms),))
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def _write_transaction(self, conn: psycopg.Connection) -> Iterator[psycopg.Cursor]:
        with conn.transaction(), conn.cursor() as cur:
            yield cur

    _read_cursor = _write_transaction  # reads get their own (read committed) transaction too

    def _lock_for_migrations(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))

    def _close_connection(self, conn: psycopg.Connection) -> None:
        conn.close()

    def _retryable(self, error: ProgressStoreError) -> bool:
        return isinstance(error, StoreUnavailable)

    def _translate(self, exc: BaseException) -> ProgressStoreError | None:
        where = redact(self.url)
        if isinstance(exc, pg_errors.DiskFull | pg_errors.OutOfMemory):
            return StoreFull(f"{where}: {_first_line(exc)}")
        if isinstance(exc, pg_errors.LockNotAvailable | pg_errors.QueryCanceled | pg_errors.DeadlockDetected):
            return StoreLocked(f"{where}: {_first_line(exc)}")
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StoreUnavailable(f"{where}: {_first_line(exc)}")
        if isinstance(
            exc,
            pg_errors.InsufficientPrivilege | pg_errors.InvalidCatalogName | pg_errors.ReadOnlySqlTransaction,
        ):
            return StoreUnavailable(f"{where}: {_first_line(exc)}")
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0]) if text else type(exc).__name__
