"""The embedded default: one SQLite file in WAL mode, created with its directory on first use.

WAL lets the pages read while an attempt is being written; `synchronous=FULL` makes a
committed attempt survive a power cut, not only a killed process. A write waits up to
`busy_timeout` seconds for another writer, then raises `StoreLocked`. The first connection of
a process runs `PRAGMA quick_check`, so a damaged file is reported as `StoreCorrupt` at once
(with what to do) rather than as odd failures later.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ProgressStoreError, StoreCorrupt, StoreFull, StoreLocked, StoreUnavailable
from .sql_store import SqlProgressStore

# Primary SQLite result codes (extended codes carry them in their low byte).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class SqliteStore(SqlProgressStore):
    backend = dialect = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    def _open_connection(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._switch_to_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
            if problems != ["ok"]:
                raise StoreCorrupt(f"{self.path}: quick_check found {'; '.join(problems)}; {_CORRUPT_HINT}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _switch_to_wal(self, conn: sqlite3.Connection) -> None:
        """`PRAGMA journal_mode=WAL`, retried: when several processes open a new file at once,
        SQLite answers SQLITE_BUSY at once to all but one (its lock-upgrade deadlock avoidance
        skips the busy timeout), so wait here as a busy timeout would."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF != _BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def journal_mode(self) -> str:
        return self._run(lambda cur: cur.execute("PRAGMA journal_mode").fetchone()[0], write=False)

    @contextlib.contextmanager
    def _write_transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # take the write lock now, not half-way through
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    @contextlib.contextmanager
    def _read_cursor(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _lock_for_migrations(self, cur: Any) -> None:
        pass  # BEGIN IMMEDIATE already holds the database's write lock

    def _close_connection(self, conn: sqlite3.Connection) -> None:
        conn.close()

    def _translate(self, exc: BaseException) -> ProgressStoreError | None:
        where = str(self.path)
        if isinstance(exc, OSError):
            if exc.errno in _FULL_ERRNOS:
                return StoreFull(f"{where}: {exc.strerror}")
            return StoreUnavailable(f"cannot create or open {where}: {exc.strerror or exc}")
        if not isinstance(exc, sqlite3.Error):
            return None
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (_BUSY, _LOCKED):
            return StoreLocked(
                f"{where} stayed locked by another connection for over {self.busy_timeout:g} s"
            )
        if primary in (_CORRUPT, _NOTADB):
            return StoreCorrupt(f"{where}: {exc}; {_CORRUPT_HINT}")
        if primary == _FULL:
            return StoreFull(f"{where}: {exc}; free disk space (SORTLIST_DATA_DIR sets where the file lives)")
        if primary in (_CANTOPEN, _READONLY, _PERM):
            return StoreUnavailable(
                f"cannot write {where}: {exc} (check SORTLIST_DATA_DIR and its permissions)"
            )
        if primary == _IOERR:
            return StoreUnavailable(f"disk error on {where}: {exc}")
        if isinstance(exc, sqlite3.OperationalError):
            return StoreUnavailable(f"{where}: {exc}")
        return None  # IntegrityError, ProgrammingError...: a bug, not the disk


_CORRUPT_HINT = (
    "move the file (and its -wal/-shm files) aside to start with empty progress, or restore a backup"
)
