"""Typed failures of the progress store.

Every failure the app must survive is a `ProgressStoreError` with a `user_message` a page can
show as it is ("Progress is not being saved: ..."). The subclasses say what went wrong, so the
app (and an instructor reading the log) can tell a database that is down from a disk that is
full; none of them carries a learner key or a database password.
"""

from __future__ import annotations


class ProgressStoreError(Exception):
    """Progress could not be read or saved; the app keeps working without it."""

    user_message = "Progress is not being saved right now."

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.user_message} ({self.detail})"


class StoreUnavailable(ProgressStoreError):
    """The database cannot be reached (down, refused, timed out, connection lost)."""

    user_message = "Progress is not being saved: the progress database cannot be reached."


class StoreLocked(ProgressStoreError):
    """Another process held the database lock for longer than the busy timeout."""

    user_message = "Progress is not being saved: the progress database is busy (locked)."


class StoreCorrupt(ProgressStoreError):
    """The SQLite file is not a database or is damaged."""

    user_message = "Progress is not being saved: the progress file is damaged."


class StoreFull(ProgressStoreError):
    """The disk (or the database's quota) is full."""

    user_message = "Progress is not being saved: the disk holding it is full."


class SchemaTooNew(ProgressStoreError):
    """The database was migrated by a newer sortlist than this one."""

    user_message = "Progress is not being saved: the progress database needs a newer sortlist."


class InvalidLearnerKey(ValueError):
    """A learner key that `new_learner_key` cannot have made (wrong length or characters)."""
