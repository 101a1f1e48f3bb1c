"""What the app calls to save an attempt: the store, plus a queue for when the store fails.

Policy (documented in the README): an attempt is *acknowledged* only when the store has
committed it. When the store fails (database down, disk full, file locked or damaged) the
attempt is kept in this process's memory, the call returns `SaveResult(saved=False, ...)` with
the typed error, and the app keeps working and shows `result.message` ("progress is not being
saved") with a Retry button that calls `retry()`. Every later `record` or `retry` first writes
the queued attempts, oldest first, with their original times and ids (so a write that did reach
the database before failing is not stored twice). Queued attempts are not durable: a process
that dies loses them, which is why the app must not call them saved. Use one recorder per
process (e.g. `st.cache_resource`): any session's next write then flushes everyone's queue.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from .errors import ProgressStoreError
from .store import AttemptKind, CodeHistory, ProgressStore, validate_attempt


@dataclass(frozen=True)
class PendingAttempt:
    learner_key: str
    model_fp: str
    exercise_id: str
    answer: str
    passed: bool
    kind: AttemptKind
    at: float
    attempt_id: str


@dataclass(frozen=True)
class SaveResult:
    saved: bool  # this attempt (if any) and every earlier queued one are committed
    pending: int  # attempts of this process still waiting to be written
    dropped: int  # attempts given up because the queue was full (since the recorder started)
    error: ProgressStoreError | None = None

    @property
    def message(self) -> str:
        """One line for the page; empty when everything is saved."""
        if self.error is None and not self.pending:
            return ""
        base = self.error.user_message if self.error else "Progress is not being saved right now."
        waiting = f" {self.pending} answer{'s' if self.pending != 1 else ''} waiting to be saved"
        return f"{base}{waiting}; retrying on your next answer (or press Retry)."


class ProgressRecorder:
    def __init__(self, store: ProgressStore, *, max_pending: int = 10_000, clock=None) -> None:
        self.store = store
        self._queue: deque[PendingAttempt] = deque()
        self._max_pending = max_pending
        self._dropped = 0
        self._lock = threading.Lock()
        self._last_error: ProgressStoreError | None = None
        self._clock = clock or getattr(store, "_clock", None)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def record(
        self,
        learner_key: str,
        model_fp: str,
        exercise_id: str,
        answer: str,
        passed: bool,
        kind: AttemptKind = "answer",
    ) -> SaveResult:
        """Save one attempt (after any queued ones). Bad input (a malformed key, an answer
        over the size limit) raises ValueError at once: retrying would not help."""
        validate_attempt(learner_key, model_fp, exercise_id, answer, kind)  # now, not on a retry
        attempt = PendingAttempt(
            learner_key,
            model_fp,
            exercise_id,
            answer,
            bool(passed),
            kind,
            (self._clock or time.time)(),
            secrets.token_urlsafe(16),
        )
        with self._lock:
            self._queue.append(attempt)
            while len(self._queue) > self._max_pending:
                self._queue.popleft()
                self._dropped += 1
            return self._flush()

    def retry(self) -> SaveResult:
        """Write what is queued now (the page's Retry button)."""
        with self._lock:
            return self._flush()

    def status(self) -> SaveResult:
        with self._lock:
            return SaveResult(not self._queue, len(self._queue), self._dropped, self._last_error)

    def solved(self, learner_key: str, model_fp: str) -> set[str]:
        """Solved ids from the store plus this learner's queued passes (raises on store errors)."""
        stored = self.store.solved(learner_key, model_fp)
        with self._lock:
            queued = {
                a.exercise_id
                for a in self._queue
                if a.passed and a.learner_key == learner_key and a.model_fp == model_fp
            }
        return stored | queued

    def code_history(self, learner_key: str, model_fp: str) -> dict[str, CodeHistory]:
        """The store's code history plus this learner's queued code attempts, which come after
        it (raises on store errors)."""
        history = self.store.code_history(learner_key, model_fp)
        with self._lock:
            queued = [
                a
                for a in self._queue
                if a.kind == "code" and a.learner_key == learner_key and a.model_fp == model_fp
            ]
        for a in queued:
            before = history.get(a.exercise_id)
            history[a.exercise_id] = CodeHistory((before.attempts if before else 0) + 1, a.answer)
        return history

    def _flush(self) -> SaveResult:
        while self._queue:
            head = self._queue[0]
            try:
                self.store.record_attempt(
                    head.learner_key,
                    head.model_fp,
                    head.exercise_id,
                    head.answer,
                    head.passed,
                    head.kind,
                    at=head.at,
                    attempt_id=head.attempt_id,
                )
            except ProgressStoreError as exc:
                self._last_error = exc
                return SaveResult(False, len(self._queue), self._dropped, exc)
            self._queue.popleft()
        self._last_error = None
        return SaveResult(True, 0, self._dropped, None)
