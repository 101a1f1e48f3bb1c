"""The SQL shared by both backends: every query of the progress store.

Queries are written once with `?` placeholders (the PostgreSQL backend rewrites them to `%s`)
and always take their values as parameters. The connection they run on (locking, typed errors,
retry, migrations) is `sql_connection.SqlConnection`.
"""

from __future__ import annotations

from typing import Any

from .sql_connection import SqlConnection
from .store import (
    LEARNER_REF_CHARS,
    MAX_ATTEMPTS_PER_EXERCISE,
    MAX_ATTEMPTS_PER_LEARNER,
    SHOWN_ANSWER_CHARS,
    Attempt,
    ClassAttempt,
    ClassLearner,
    ClassOverview,
    CodeHistory,
    LearnerExercise,
    LearnerInfo,
    ProgressStore,
    StalledRow,
    ValidAttempt,
    WrongAnswerCount,
    clean_display_name,
    key_hash,
    to_datetime,
)

# Creates the learner or moves its last-seen time forward (never back: retried writes carry
# their original, older times). Portable SQLite >= 3.35 / PostgreSQL upsert with RETURNING.
_UPSERT_LEARNER = (
    "INSERT INTO learners (key_hash, display_name, created_at, last_seen_at) VALUES (?, NULL, ?, ?) "
    "ON CONFLICT (key_hash) DO UPDATE SET last_seen_at = CASE "
    "WHEN excluded.last_seen_at > learners.last_seen_at THEN excluded.last_seen_at "
    "ELSE learners.last_seen_at END RETURNING id"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (attempt_uid, learner_id, model_fp, exercise_id, kind, answer, passed, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (attempt_uid) DO NOTHING"
)
# The learner's latest attempt at this exercise, to recognise an identical resubmission.
_LATEST_ATTEMPT = (
    "SELECT answer, passed FROM attempts WHERE learner_id = ? AND model_fp = ? AND exercise_id = ? "
    "AND kind = ? ORDER BY created_at DESC, id DESC LIMIT 1"
)
# Keep the newest N: portable (no LIMIT -1 / LIMIT ALL), and uses the attempts_by_learner index.
_PRUNE_EXERCISE = (
    "DELETE FROM attempts WHERE learner_id = ? AND model_fp = ? AND exercise_id = ? AND id NOT IN ("
    "SELECT id FROM attempts WHERE learner_id = ? AND model_fp = ? AND exercise_id = ? "
    "ORDER BY created_at DESC, id DESC LIMIT ?)"
)
_PRUNE_LEARNER = (
    "DELETE FROM attempts WHERE learner_id = ? AND id NOT IN ("
    "SELECT id FROM attempts WHERE learner_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)"
)
# Learners without progress on a model: selected, ordered, counted and paged in SQL.
_STALLED_FROM = (
    "FROM learners l "
    "LEFT JOIN (SELECT learner_id, MAX(solved_at) AS last_solve, COUNT(*) AS n_solved FROM solved "
    "WHERE model_fp = ? GROUP BY learner_id) s ON s.learner_id = l.id "
    "WHERE l.last_seen_at >= ? AND COALESCE(s.last_solve, l.created_at) < ?"
)
_STALLED_COUNT = "SELECT COUNT(*) " + _STALLED_FROM
_STALLED_PAGE = (
    "SELECT l.key_hash, l.display_name, COALESCE(s.last_solve, l.created_at) AS progress, "
    "(SELECT MAX(x.created_at) FROM attempts x WHERE x.learner_id = l.id AND x.model_fp = ?), "
    "(SELECT COUNT(*) FROM attempts x WHERE x.learner_id = l.id AND x.model_fp = ? "
    "AND x.created_at > COALESCE(s.last_solve, l.created_at)), COALESCE(s.n_solved, 0) "
    + _STALLED_FROM
    + " ORDER BY progress, l.key_hash LIMIT ? OFFSET ?"
)
_INSERT_SOLVED = (
    "INSERT INTO solved (learner_id, model_fp, exercise_id, solved_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (learner_id, model_fp, exercise_id) DO UPDATE SET solved_at = CASE "
    "WHEN excluded.solved_at < solved.solved_at THEN excluded.solved_at ELSE solved.solved_at END"
)


class SqlProgressStore(SqlConnection, ProgressStore):
    """The progress store's queries, over one shared connection (`sql_connection`)."""

    max_attempts_per_exercise = MAX_ATTEMPTS_PER_EXERCISE
    max_attempts_per_learner = MAX_ATTEMPTS_PER_LEARNER

    # ------------------------------------------------------------------ learner API

    def _store_attempt(self, attempt: ValidAttempt) -> None:
        when = float(self._clock() if attempt.at is None else attempt.at)
        exercise = (attempt.model_fp, attempt.exercise_id)

        def work(cur: Any) -> None:
            learner_id = self._execute(cur, _UPSERT_LEARNER, (attempt.key_hash, when, when)).fetchone()[0]
            if attempt.passed:
                self._execute(cur, _INSERT_SOLVED, (learner_id, *exercise, when))
            latest = self._execute(cur, _LATEST_ATTEMPT, (learner_id, *exercise, attempt.kind)).fetchone()
            if latest is not None and latest[0] == attempt.answer and bool(latest[1]) == attempt.passed:
                return  # the same answer again: nothing new to keep
            row = (
                attempt.attempt_id,
                learner_id,
                *exercise,
                attempt.kind,
                attempt.answer,
                attempt.passed,
                when,
            )
            self._execute(cur, _INSERT_ATTEMPT, row)
            this = (learner_id, *exercise)  # this learner's attempts at this exercise
            self._execute(cur, _PRUNE_EXERCISE, (*this, *this, self.max_attempts_per_exercise))
            count = self._execute(cur, "SELECT COUNT(*) FROM attempts WHERE learner_id = ?", (learner_id,))
            if count.fetchone()[0] > self.max_attempts_per_learner:
                self._execute(cur, _PRUNE_LEARNER, (learner_id, learner_id, self.max_attempts_per_learner))

        self._run(work, write=True)

    def solved(self, learner_key: str, model_fp: str) -> set[str]:
        digest = key_hash(learner_key)
        rows = self._run(
            lambda cur: self._execute(
                cur,
                "SELECT s.exercise_id FROM solved s JOIN learners l ON l.id = s.learner_id "
                "WHERE l.key_hash = ? AND s.model_fp = ?",
                (digest, model_fp),
            ).fetchall(),
            write=False,
        )
        return {row[0] for row in rows}

    def attempts(self, learner_key: str, model_fp: str, exercise_id: str | None = None) -> list[Attempt]:
        digest = key_hash(learner_key)
        query = (
            "SELECT a.exercise_id, a.kind, a.answer, a.passed, a.created_at FROM attempts a "
            "JOIN learners l ON l.id = a.learner_id WHERE l.key_hash = ? AND a.model_fp = ?"
        )
        params: list[Any] = [digest, model_fp]
        if exercise_id is not None:
            query += " AND a.exercise_id = ?"
            params.append(exercise_id)
        query += " ORDER BY a.created_at, a.id"
        rows = self._run(lambda cur: self._execute(cur, query, params).fetchall(), write=False)
        return [Attempt(ex, kind, ans, bool(ok), to_datetime(t)) for ex, kind, ans, ok, t in rows]

    def code_history(self, learner_key: str, model_fp: str) -> dict[str, CodeHistory]:
        # One query, served by the attempts_by_learner index: per exercise, the count and the
        # newest attempt (latest time, then the later row for attempts stored in one instant).
        digest = key_hash(learner_key)
        query = (
            "SELECT a.exercise_id, a.answer, c.n FROM attempts a "
            "JOIN (SELECT x.learner_id, x.exercise_id, COUNT(*) AS n, MAX(x.created_at) AS last_at "
            "      FROM attempts x JOIN learners l ON l.id = x.learner_id "
            "      WHERE l.key_hash = ? AND x.model_fp = ? AND x.kind = 'code' "
            "      GROUP BY x.learner_id, x.exercise_id) c "
            "ON a.learner_id = c.learner_id AND a.exercise_id = c.exercise_id AND a.created_at = c.last_at "
            "WHERE a.model_fp = ? AND a.kind = 'code' ORDER BY a.id"
        )
        rows = self._run(
            lambda cur: self._execute(cur, query, (digest, model_fp, model_fp)).fetchall(), write=False
        )
        return {exercise_id: CodeHistory(int(n), answer) for exercise_id, answer, n in rows}  # last row wins

    def learner(self, learner_key: str) -> LearnerInfo | None:
        digest = key_hash(learner_key)
        row = self._run(
            lambda cur: self._execute(
                cur,
                "SELECT display_name, created_at, last_seen_at FROM learners WHERE key_hash = ?",
                (digest,),
            ).fetchone(),
            write=False,
        )
        if row is None:
            return None
        return LearnerInfo(row[0], to_datetime(row[1]), to_datetime(row[2]))

    def touch(self, learner_key: str) -> None:
        digest = key_hash(learner_key)
        now = self._clock()
        self._run(lambda cur: self._execute(cur, _UPSERT_LEARNER, (digest, now, now)).fetchone(), write=True)

    def set_display_name(self, learner_key: str, name: str | None) -> str | None:
        digest = key_hash(learner_key)
        name = clean_display_name(name)
        now = self._clock()

        def work(cur: Any) -> None:
            learner_id = self._execute(cur, _UPSERT_LEARNER, (digest, now, now)).fetchone()[0]
            self._execute(cur, "UPDATE learners SET display_name = ? WHERE id = ?", (name, learner_id))

        self._run(work, write=True)
        return name

    # ------------------------------------------------------------------ instructor API

    def class_attempts(self, model_fp: str | None = None, since: float | None = None) -> list[ClassAttempt]:
        query = (
            "SELECT l.key_hash, l.display_name, a.model_fp, a.exercise_id, a.kind, a.answer, a.passed, "
            "a.created_at FROM attempts a JOIN learners l ON l.id = a.learner_id WHERE 1 = 1"
        )
        params: list[Any] = []
        if model_fp is not None:
            query += " AND a.model_fp = ?"
            params.append(model_fp)
        if since is not None:
            query += " AND a.created_at >= ?"
            params.append(float(since))
        query += " ORDER BY a.created_at, a.id"
        rows = self._run(lambda cur: self._execute(cur, query, params).fetchall(), write=False)
        return [
            ClassAttempt(h[:LEARNER_REF_CHARS], name, fp, ex, kind, ans, bool(ok), to_datetime(t))
            for h, name, fp, ex, kind, ans, ok, t in rows
        ]

    def class_learners(self) -> list[ClassLearner]:
        rows = self._run(
            lambda cur: self._execute(
                cur,
                "SELECT key_hash, display_name, created_at, last_seen_at FROM learners ORDER BY created_at, id",
            ).fetchall(),
            write=False,
        )
        return [ClassLearner(h[:LEARNER_REF_CHARS], n, to_datetime(c), to_datetime(s)) for h, n, c, s in rows]

    def class_overview(self) -> ClassOverview:
        def work(cur: Any) -> ClassOverview:
            learners = self._execute(cur, "SELECT COUNT(*) FROM learners").fetchone()[0]
            models = self._execute(
                cur,
                "SELECT model_fp, COUNT(*) AS n FROM attempts GROUP BY model_fp ORDER BY n DESC, model_fp",
            ).fetchall()
            return ClassOverview(
                int(learners), sum(int(n) for _, n in models), tuple((f, int(n)) for f, n in models)
            )

        return self._run(work, write=False)

    def class_exercise_progress(self, model_fp: str) -> list[LearnerExercise]:
        rows = self._run(
            lambda cur: self._execute(
                cur,
                "SELECT a.exercise_id, l.key_hash, COUNT(*), "
                "SUM(CASE WHEN a.created_at <= s.solved_at THEN 1 ELSE 0 END), MAX(s.solved_at) "
                "FROM attempts a JOIN learners l ON l.id = a.learner_id "
                "LEFT JOIN solved s ON s.learner_id = a.learner_id AND s.model_fp = a.model_fp "
                "AND s.exercise_id = a.exercise_id "
                "WHERE a.model_fp = ? GROUP BY a.exercise_id, l.key_hash ORDER BY a.exercise_id, l.key_hash",
                (model_fp,),
            ).fetchall(),
            write=False,
        )
        return [
            LearnerExercise(
                ex, h[:LEARNER_REF_CHARS], int(n), max(1, int(upto)) if solved_at is not None else None
            )
            for ex, h, n, upto, solved_at in rows
        ]

    def class_wrong_answers(self, model_fp: str, limit: int) -> list[WrongAnswerCount]:
        rows = self._run(
            lambda cur: self._execute(
                cur,
                "SELECT exercise_id, shown, times, learners FROM ("
                "SELECT exercise_id, SUBSTR(TRIM(answer), 1, ?) AS shown, COUNT(*) AS times, "
                "COUNT(DISTINCT learner_id) AS learners, ROW_NUMBER() OVER (PARTITION BY exercise_id "
                "ORDER BY COUNT(DISTINCT learner_id) DESC, COUNT(*) DESC, TRIM(answer)) AS answer_rank "
                "FROM attempts WHERE model_fp = ? AND passed = ? AND kind = 'answer' "
                "GROUP BY exercise_id, TRIM(answer)) ranked WHERE answer_rank <= ? ORDER BY exercise_id, answer_rank",
                (SHOWN_ANSWER_CHARS, model_fp, False, int(limit)),
            ).fetchall(),
            write=False,
        )
        return [WrongAnswerCount(ex, shown, int(times), int(n)) for ex, shown, times, n in rows]

    def class_stalled(
        self, model_fp: str, progress_before: float, seen_since: float, limit: int, offset: int = 0
    ) -> tuple[list[StalledRow], int]:
        where = (model_fp, float(seen_since), float(progress_before))

        def work(cur: Any) -> tuple[list, int]:
            total = self._execute(cur, _STALLED_COUNT, where).fetchone()[0]
            rows = self._execute(
                cur,
                _STALLED_PAGE,
                (model_fp, model_fp, *where, int(limit), int(offset)),
            ).fetchall()
            return rows, int(total)

        rows, total = self._run(work, write=False)
        return [
            StalledRow(
                h[:LEARNER_REF_CHARS],
                name,
                to_datetime(progress),
                to_datetime(last) if last is not None else None,
                int(since),
                int(n_solved),
            )
            for h, name, progress, last, since, n_solved in rows
        ], total
