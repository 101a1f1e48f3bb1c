"""The progress store's interface and its records; `factory.open_store()` picks the backend.

    store = open_store()                     # SQLite file, or PostgreSQL if SORTLIST_DATABASE_URL
    key = new_learner_key()                  # kept in the learner's browser, never shown to others
    store.record_attempt(key, model.weights_sha256, "circuits.copier_of_token", "1", passed=True)
    store.solved(key, model.weights_sha256)  # {"circuits.copier_of_token"}

Every method is keyed by the learner key, a bearer secret: there is no internal id to edit.
The store keeps only the key's sha256, a display name the learner chose (optional) and the
attempts. A `record_attempt` that returns has committed (durably: SQLite `synchronous=FULL`,
PostgreSQL commit), which is the point at which the app may tell the learner "saved".
Failures raise `errors.ProgressStoreError` subclasses; see `recorder.ProgressRecorder` for the
retrying wrapper the app uses.

Configuration (environment):
- `SORTLIST_DATABASE_URL`: a PostgreSQL URL (`postgresql://user:password@host:5432/db`). Set it
  for replicas, which must share one database.
- `SORTLIST_DATA_DIR`: where the SQLite file `progress.sqlite3` lives when no database URL is
  set (default `$XDG_DATA_HOME/sortlist`, else `~/.local/share/sortlist`). Created on first use.
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sortlist_core import settings

from .errors import InvalidLearnerKey

DATABASE_URL_ENV = settings.DATABASE_URL
DATA_DIR_ENV = settings.DATA_DIR
SQLITE_FILENAME = "progress.sqlite3"

AttemptKind = Literal["answer", "code"]
KINDS: tuple[str, ...] = ("answer", "code")

# token_urlsafe(24): 192 random bits as 32 URL-safe characters. Keys of 22+ such characters
# (>= 128 bits) are accepted, so a resume link made with another length still works.
_KEY_BYTES = 24
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,128}")
MAX_ANSWER_CHARS = 100_000
MAX_ID_CHARS = 200
MAX_DISPLAY_NAME_CHARS = 40
# Storage stays bounded whatever a learner submits: a resubmission identical to the learner's
# last attempt at that exercise is not a new row, and only the newest attempts are kept, per
# learner, model and exercise, and per learner overall (whether an exercise was solved is kept
# apart, in `solved`, and is never pruned). 100 kB x 50 x exercises, not 5 GB an hour.
MAX_ATTEMPTS_PER_EXERCISE = 50
MAX_ATTEMPTS_PER_LEARNER = 500
# What the instructor sees instead of a key: a prefix of its sha256. It identifies a learner
# in a table but cannot be used to act as one.
LEARNER_REF_CHARS = 10


def new_learner_key() -> str:
    """A fresh random learner key (192 bits, URL-safe)."""
    return secrets.token_urlsafe(_KEY_BYTES)


def key_hash(learner_key: str) -> str:
    """The sha256 (hex) under which a learner is stored; rejects malformed keys."""
    if not isinstance(learner_key, str) or not _KEY_PATTERN.fullmatch(learner_key):
        raise InvalidLearnerKey("not a learner key (expected 22-128 URL-safe characters)")
    return hashlib.sha256(learner_key.encode("ascii")).hexdigest()


def clean_text(value: str, what: str, limit: int) -> str:
    """`value` as stored: NUL (which PostgreSQL text cannot hold) becomes U+FFFD."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{what} is too long ({len(value):,} characters; at most {limit:,})")
    return value.replace("\x00", "\ufffd")


def clean_display_name(name: str | None) -> str | None:
    """Trimmed, control characters removed, at most 40 characters; empty means none."""
    if name is None:
        return None
    name = "".join(ch for ch in str(name) if ch.isprintable()).strip()
    return name[:MAX_DISPLAY_NAME_CHARS] or None


def validate_attempt(
    learner_key: str, model_fp: str, exercise_id: str, answer: str, kind: str
) -> tuple[str, str, str, str]:
    """(key hash, model fingerprint, exercise id, answer) as stored; ValueError if malformed."""
    digest = key_hash(learner_key)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not model_fp or not exercise_id:
        raise ValueError("model fingerprint and exercise id must not be empty")
    return (
        digest,
        clean_text(model_fp, "model fingerprint", MAX_ID_CHARS),
        clean_text(exercise_id, "exercise id", MAX_ID_CHARS),
        clean_text(answer, "answer", MAX_ANSWER_CHARS),
    )


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class ValidAttempt:
    """An attempt as `record_attempt` hands it to a backend: validated and cleaned, keyed by the
    learner key's hash, with its unique id; `at` (epoch seconds) None means now."""

    key_hash: str
    model_fp: str
    exercise_id: str
    answer: str
    passed: bool
    kind: str
    attempt_id: str
    at: float | None


@dataclass(frozen=True)
class Attempt:
    """One submitted answer (or code) and its verdict, as the learner's own history shows it."""

    exercise_id: str
    kind: str
    answer: str
    passed: bool
    at: datetime


@dataclass(frozen=True)
class CodeHistory:
    """A learner's code attempts at one exercise on one model: how many, and the last code sent."""

    attempts: int
    last_code: str


@dataclass(frozen=True)
class LearnerInfo:
    display_name: str | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class ClassAttempt:
    """An attempt as the instructor sees it: a pseudonymous learner ref, never the key."""

    learner_ref: str
    display_name: str | None
    model_fp: str
    exercise_id: str
    kind: str
    answer: str
    passed: bool
    at: datetime


@dataclass(frozen=True)
class ClassLearner:
    learner_ref: str
    display_name: str | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class ClassOverview:
    """The instructor page's header, counted in SQL: learners, attempts, and the models the
    class worked on (fingerprint, attempts), most attempts first."""

    learners: int
    attempts: int
    models: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LearnerExercise:
    """One learner's stored attempts at one exercise of one model, aggregated in SQL."""

    exercise_id: str
    learner_ref: str
    attempts: int
    attempts_to_solve: int | None  # stored attempts up to and including the solve; None: unsolved


@dataclass(frozen=True)
class WrongAnswerCount:
    exercise_id: str
    answer: str  # surrounding spaces removed, cut to `SHOWN_ANSWER_CHARS`
    times: int
    learners: int


@dataclass(frozen=True)
class StalledRow:
    learner_ref: str
    display_name: str | None
    last_progress_at: datetime
    last_attempt_at: datetime | None
    attempts_since_progress: int
    solved: int


SHOWN_ANSWER_CHARS = 200


class ProgressStore(abc.ABC):
    """Durable learner progress. Thread-safe; one instance per process is enough."""

    backend: str  # "sqlite" or "postgres"

    def record_attempt(
        self,
        learner_key: str,
        model_fp: str,
        exercise_id: str,
        answer: str,
        passed: bool,
        kind: AttemptKind = "answer",
        *,
        at: float | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Store one attempt (and the solved flag when `passed`); committed when it returns.

        `at` (epoch seconds) defaults to now; `attempt_id` makes a retried write idempotent
        (the same id is stored once). The learner is created on first use. Bad input raises
        ValueError (or `InvalidLearnerKey`) before the backend is asked."""
        digest, model_fp, exercise_id, answer = validate_attempt(
            learner_key, model_fp, exercise_id, answer, kind
        )
        uid = clean_text(attempt_id or secrets.token_urlsafe(16), "attempt id", MAX_ID_CHARS)
        self._store_attempt(ValidAttempt(digest, model_fp, exercise_id, answer, bool(passed), kind, uid, at))

    @abc.abstractmethod
    def _store_attempt(self, attempt: ValidAttempt) -> None:
        """The backend's half of `record_attempt`: one validated attempt, committed on return."""

    @abc.abstractmethod
    def solved(self, learner_key: str, model_fp: str) -> set[str]:
        """Exercise ids this learner has solved on this model (empty for an unknown key)."""

    @abc.abstractmethod
    def attempts(self, learner_key: str, model_fp: str, exercise_id: str | None = None) -> list[Attempt]:
        """This learner's attempts on this model, oldest first."""

    @abc.abstractmethod
    def code_history(self, learner_key: str, model_fp: str) -> dict[str, CodeHistory]:
        """Per code exercise this learner attempted on this model: the attempt count and the
        last submitted code (what a reload or another device puts back in the editor)."""

    @abc.abstractmethod
    def learner(self, learner_key: str) -> LearnerInfo | None:
        """The learner's display name and times, or None for a key never stored."""

    @abc.abstractmethod
    def touch(self, learner_key: str) -> None:
        """Create the learner if new and mark it seen now (a session opened with this key)."""

    @abc.abstractmethod
    def set_display_name(self, learner_key: str, name: str | None) -> str | None:
        """Set (or clear, with None/"") the learner's display name; returns the stored name."""

    @abc.abstractmethod
    def class_attempts(self, model_fp: str | None = None, since: float | None = None) -> list[ClassAttempt]:
        """Every learner's attempts (optionally one model's, from `since`), oldest first."""

    @abc.abstractmethod
    def class_learners(self) -> list[ClassLearner]:
        """Every learner, without keys."""

    # Aggregates for the instructor page: bounded results, whatever the number of attempts.

    @abc.abstractmethod
    def class_overview(self) -> ClassOverview: ...

    @abc.abstractmethod
    def class_exercise_progress(self, model_fp: str) -> list[LearnerExercise]:
        """One row per (exercise, learner) that tried it on this model."""

    @abc.abstractmethod
    def class_wrong_answers(self, model_fp: str, limit: int) -> list[WrongAnswerCount]:
        """Per exercise, its `limit` most frequent wrong typed answers (code excluded), by how
        many learners gave them, then how often; answers compared without surrounding spaces."""

    @abc.abstractmethod
    def class_stalled(
        self, model_fp: str, progress_before: float, seen_since: float, limit: int, offset: int = 0
    ) -> tuple[list[StalledRow], int]:
        """Learners seen since `seen_since` whose last solve on this model (or their joining) is
        before `progress_before`, longest-stalled first: one page, and how many there are in all."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise a `ProgressStoreError` unless the store can be reached (and is migrated)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the progress goes, for logs and the instructor (no password)."""


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """`SORTLIST_DATA_DIR`, else `$XDG_DATA_HOME/sortlist`, else `~/.local/share/sortlist`."""
    env = os.environ if env is None else env
    configured = settings.text(DATA_DIR_ENV, env=env)
    if configured:
        return Path(configured).expanduser()
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]).expanduser() / "sortlist"
    return Path.home() / ".local" / "share" / "sortlist"
