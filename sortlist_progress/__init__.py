"""Learner progress that survives reloads, restarts and replicas (no Streamlit imports).

- `store`: the `ProgressStore` interface, its records and `new_learner_key()`.
- `factory`: `open_store()`, the configured backend (SQLite file by default, PostgreSQL when
  `SORTLIST_DATABASE_URL` is set).
- `sqlite_store`, `postgres_store`: the two backends over the shared SQL in `sql_store`, which
  runs on the shared connection handling (typed errors, retry, migrations) of `sql_connection`.
- `migrations`: the versioned schema.
- `errors`: the typed failures (`StoreUnavailable`, `StoreLocked`, `StoreCorrupt`,
  `StoreFull`, `SchemaTooNew`), each with a `user_message`.
- `recorder`: `ProgressRecorder`, what a page calls; queues and retries when the store fails.
- `instructor`: class aggregates and the CSV export, and the instructor-token check.
"""

from .errors import (
    InvalidLearnerKey,
    ProgressStoreError,
    SchemaTooNew,
    StoreCorrupt,
    StoreFull,
    StoreLocked,
    StoreUnavailable,
)
from .factory import open_store
from .recorder import ProgressRecorder, SaveResult
from .store import (
    Attempt,
    ClassAttempt,
    ClassLearner,
    CodeHistory,
    LearnerInfo,
    ProgressStore,
    new_learner_key,
)

__all__ = [
    "Attempt",
    "ClassAttempt",
    "ClassLearner",
    "CodeHistory",
    "InvalidLearnerKey",
    "LearnerInfo",
    "ProgressRecorder",
    "ProgressStore",
    "ProgressStoreError",
    "SaveResult",
    "SchemaTooNew",
    "StoreCorrupt",
    "StoreFull",
    "StoreLocked",
    "StoreUnavailable",
    "new_learner_key",
    "open_store",
]
