"""The progress schema as an ordered list of versioned migrations.

Each migration has the same meaning on SQLite and PostgreSQL, written once per dialect (types
and identity columns differ). `schema_version` holds one row per applied version. The backends
apply the pending ones inside one transaction that first takes a lock (SQLite: `BEGIN
IMMEDIATE`; PostgreSQL: an advisory transaction lock), so replicas starting at once apply each
migration exactly once. Never edit a released migration: append a new one.

Times are seconds since the Unix epoch (UTC) as floating point in both dialects, so the two
backends compare and sort them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


SCHEMA_VERSION_DDL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at REAL NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)",
}

# Learners are stored by the sha256 of their key: the key is a bearer secret and never
# leaves the learner's browser except to be hashed here.
_V1_SQLITE = (
    """CREATE TABLE learners (
        id INTEGER PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        display_name TEXT,
        created_at REAL NOT NULL,
        last_seen_at REAL NOT NULL)""",
    """CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        attempt_uid TEXT NOT NULL UNIQUE,
        learner_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
        model_fp TEXT NOT NULL,
        exercise_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('answer', 'code')),
        answer TEXT NOT NULL,
        passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
        created_at REAL NOT NULL)""",
    "CREATE INDEX attempts_by_learner ON attempts (learner_id, model_fp, exercise_id, created_at)",
    "CREATE INDEX attempts_by_model ON attempts (model_fp, created_at)",
    """CREATE TABLE solved (
        learner_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
        model_fp TEXT NOT NULL,
        exercise_id TEXT NOT NULL,
        solved_at REAL NOT NULL,
        PRIMARY KEY (learner_id, model_fp, exercise_id))""",
)

_V1_POSTGRES = (
    """CREATE TABLE learners (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        display_name TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        attempt_uid TEXT NOT NULL UNIQUE,
        learner_id BIGINT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
        model_fp TEXT NOT NULL,
        exercise_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('answer', 'code')),
        answer TEXT NOT NULL,
        passed BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX attempts_by_learner ON attempts (learner_id, model_fp, exercise_id, created_at)",
    "CREATE INDEX attempts_by_model ON attempts (model_fp, created_at)",
    """CREATE TABLE solved (
        learner_id BIGINT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
        model_fp TEXT NOT NULL,
        exercise_id TEXT NOT NULL,
        solved_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (learner_id, model_fp, exercise_id))""",
)

# The instructor page's aggregates read (model, exercise, learner, time, verdict, kind) of every
# attempt of a model; with this index they read it alone, never the rows, whose answers (up to
# 100 kB of code, stored before `passed` and `created_at`) SQLite would otherwise walk through.
_V2 = (
    "CREATE INDEX attempts_for_class ON attempts (model_fp, exercise_id, learner_id, created_at, passed, kind)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "learners, attempts and solved exercises", _V1_SQLITE, _V1_POSTGRES),
    Migration(2, "index for the instructor page's aggregates", _V2, _V2),
)


def latest_version(migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    return migrations[-1].version if migrations else 0


def pending(current: int, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[Migration]:
    """The migrations after `current`, in order; checks the list is strictly increasing."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migration versions must be strictly increasing: {versions}")
    return [m for m in migrations if m.version > current]
