"""One database connection shared under a lock, for both SQL backends: connecting (and
migrating the schema) on first use, every call in a transaction with the driver's exceptions
turned into `errors` types, one retry on a connection that turned out broken, and a pause
before reconnecting to a database that was just unreachable. The queries are in `sql_store`.

A backend supplies connecting, transactions and the translation of its driver's exceptions.
"""

from __future__ import annotations

import abc
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import migrations as _migrations
from .errors import ProgressStoreError, SchemaTooNew, StoreUnavailable


class SqlConnection(abc.ABC):
    """The connection half of a SQL store (`sql_store.SqlProgressStore` adds the queries)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        migrations=_migrations.MIGRATIONS,
        reconnect_interval: float | None = None,
    ):
        self._clock = clock
        self._migrations = migrations
        self._lock = threading.RLock()
        self._conn: Any = None
        # After a failed connect, calls fail at once for this long instead of each waiting
        # for its own connect timeout: 20 sessions must not queue behind a dead database.
        self.reconnect_interval = float(
            self.default_reconnect_interval if reconnect_interval is None else reconnect_interval
        )
        self._unreachable: tuple[float, ProgressStoreError] | None = None

    # ------------------------------------------------------------------ backend hooks

    @abc.abstractmethod
    def _open_connection(self) -> Any:
        """A new connection, configured, or raise the driver's exception."""

    @abc.abstractmethod
    def _write_transaction(self, conn: Any) -> contextlib.AbstractContextManager[Any]:
        """A write transaction yielding a cursor, holding the write lock from its start."""

    @abc.abstractmethod
    def _read_cursor(self, conn: Any) -> contextlib.AbstractContextManager[Any]: ...

    @abc.abstractmethod
    def _lock_for_migrations(self, cur: Any) -> None:
        """Inside the migration transaction: serialise migrating processes."""

    @abc.abstractmethod
    def _translate(self, exc: BaseException) -> ProgressStoreError | None:
        """The typed error for a driver exception (None: not a storage failure, re-raise)."""

    @abc.abstractmethod
    def _close_connection(self, conn: Any) -> None: ...

    dialect: str = ""
    placeholder = "?"
    default_reconnect_interval = 0.0

    def _sql(self, query: str) -> str:
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)

    # ------------------------------------------------------------------ connection handling

    def _connection(self) -> Any:
        if self._conn is None:
            if self._unreachable is not None:
                failed_at, error = self._unreachable
                if time.monotonic() - failed_at < self.reconnect_interval:
                    raise type(error)(f"{error.detail} (not retried for {self.reconnect_interval:g} s)")
            try:
                conn = self._open_connection()
            except Exception as exc:
                typed = self._translate(exc)
                if isinstance(typed, StoreUnavailable):
                    self._unreachable = (time.monotonic(), typed)
                raise
            self._unreachable = None
            try:
                self._migrate(conn)
            except BaseException:
                self._close_connection(conn)
                raise
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._close_connection(self._conn)
            self._conn = None

    def _run(self, work: Callable[[Any], Any], *, write: bool) -> Any:
        """`work(cursor)` in a transaction; typed errors; one retry on a connection that was
        already open and turned out broken (e.g. the database restarted since)."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                try:
                    conn = self._connection()
                    ctx = self._write_transaction(conn) if write else self._read_cursor(conn)
                    with ctx as cur:
                        return work(cur)
                except ProgressStoreError:
                    self._drop_connection()
                    raise
                except Exception as exc:
                    typed = self._translate(exc)
                    if typed is None:
                        raise
                    self._drop_connection()
                    if attempt == 1 and reused and self._retryable(typed):
                        continue
                    raise typed from exc
        raise AssertionError("unreachable")

    def _retryable(self, error: ProgressStoreError) -> bool:
        return False

    def _execute(self, cur: Any, query: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(query), tuple(params))
        return cur

    # ------------------------------------------------------------------ migrations

    _TABLE_EXISTS = {
        "sqlite": "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        "postgres": "SELECT COUNT(*) FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema() AND tablename = 'schema_version'",
    }

    def _current_version(self, cur: Any) -> int:
        if not cur.execute(self._TABLE_EXISTS[self.dialect]).fetchone()[0]:
            return 0
        return cur.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0

    def _migrate(self, conn: Any) -> None:
        """Bring the schema up to date. A read first: an up-to-date database (every connection
        after the first) needs no write lock, so reconnecting works while another writer holds it."""
        latest = _migrations.latest_version(self._migrations)
        with self._read_cursor(conn) as cur:
            current = self._current_version(cur)
        if current == latest:
            return
        with self._write_transaction(conn) as cur:
            self._lock_for_migrations(cur)
            cur.execute(_migrations.SCHEMA_VERSION_DDL[self.dialect])
            current = self._current_version(cur)  # again, under the lock: another may have won
            if current > latest:
                raise SchemaTooNew(
                    f"schema version {current} in {self.describe()}; this sortlist knows up to {latest}"
                )
            for migration in _migrations.pending(current, self._migrations):
                for statement in getattr(migration, self.dialect):
                    cur.execute(statement)
                self._execute(
                    cur,
                    "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.description, self._clock()),
                )

    def schema_version(self) -> int:
        return self._run(
            lambda cur: self._execute(cur, "SELECT MAX(version) FROM schema_version").fetchone()[0],
            write=False,
        )

    def check(self) -> None:
        self._run(lambda cur: self._execute(cur, "SELECT 1").fetchone(), write=False)

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the data goes, for logs and messages (no password)."""
