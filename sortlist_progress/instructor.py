"""The instructor's view of a class, computed from the store's key-free class records.

    # the page: aggregated in SQL, bounded whatever the number of attempts
    stats_from_progress(store.class_exercise_progress(fp), order)   # solve rate, attempts to solve
    wrong_answers_by_exercise(store.class_wrong_answers(fp, 3))     # what the class gets wrong
    stalled_page(store, fp, minutes=15, now=time.time(), page=0)    # who is stuck, one page
    attempts_csv(store.class_attempts())                            # the CSV, built on download only

    # the same from attempt rows (small classes, tests)
    exercise_stats(rows), common_wrong_answers(rows), stalled_learners(rows, learners, 15, now)

Learners appear as their display name or a pseudonymous `learner_ref` (a prefix of the key's
hash), never with their key. Access is the app's job: `instructor_token()` reads the configured
token and `token_matches()` compares in constant time; with no token configured there is no
instructor view at all.
"""

from __future__ import annotations

import csv
import hmac
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sortlist_core import settings

from .store import (
    ClassAttempt,
    ClassLearner,
    LearnerExercise,
    ProgressStore,
    StalledRow,
    WrongAnswerCount,
    to_datetime,
)

INSTRUCTOR_TOKEN_ENV = settings.INSTRUCTOR_TOKEN


def instructor_token(env: Mapping[str, str] | None = None) -> str | None:
    """The configured token, or None (then the instructor view must not exist)."""
    return settings.text(INSTRUCTOR_TOKEN_ENV, env=env) or None


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; never true when no token is configured."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def learner_label(learner_ref: str, display_name: str | None) -> str:
    return f"{display_name} ({learner_ref[:6]})" if display_name else f"learner {learner_ref}"


@dataclass(frozen=True)
class ExerciseStats:
    exercise_id: str
    learners_tried: int
    learners_solved: int
    solve_rate: float  # solved / tried
    attempts: int
    median_attempts_to_solve: float | None  # attempts up to and including the first pass
    mean_attempts_to_solve: float | None


def exercise_stats(attempts: Iterable[ClassAttempt], order: Sequence[str] = ()) -> list[ExerciseStats]:
    """Per exercise: who tried, who solved, and how many attempts solving took. Exercises in
    `order` come first in that order, then the rest by id."""
    verdicts: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for a in attempts:  # oldest first, as the store returns them
        verdicts[a.exercise_id, a.learner_ref].append(a.passed)
    rows = (
        LearnerExercise(ex, ref, len(v), v.index(True) + 1 if True in v else None)
        for (ex, ref), v in verdicts.items()
    )
    return stats_from_progress(rows, order)


def stats_from_progress(rows: Iterable[LearnerExercise], order: Sequence[str] = ()) -> list[ExerciseStats]:
    """`exercise_stats` from the store's per-(exercise, learner) aggregates."""
    per: dict[str, list[LearnerExercise]] = defaultdict(list)
    for row in rows:
        per[row.exercise_id].append(row)
    rank = {ex: i for i, ex in enumerate(order)}
    out = []
    for ex in sorted(per, key=lambda e: (rank.get(e, len(rank)), e)):
        learners = per[ex]
        to_solve = [r.attempts_to_solve for r in learners if r.attempts_to_solve is not None]
        out.append(
            ExerciseStats(
                exercise_id=ex,
                learners_tried=len(learners),
                learners_solved=len(to_solve),
                solve_rate=len(to_solve) / len(learners),
                attempts=sum(r.attempts for r in learners),
                median_attempts_to_solve=statistics.median(to_solve) if to_solve else None,
                mean_attempts_to_solve=statistics.fmean(to_solve) if to_solve else None,
            )
        )
    return out


@dataclass(frozen=True)
class WrongAnswer:
    exercise_id: str
    answer: str
    times: int
    learners: int


def common_wrong_answers(attempts: Iterable[ClassAttempt], limit: int = 5) -> dict[str, list[WrongAnswer]]:
    """Per exercise, its most frequent wrong typed answers (code submissions excluded), by how
    many learners gave them, then how often. Answers are compared with surrounding spaces
    removed."""
    times: dict[str, Counter[str]] = defaultdict(Counter)
    who: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in attempts:
        if a.passed or a.kind != "answer":
            continue
        answer = a.answer.strip()
        times[a.exercise_id][answer] += 1
        who[a.exercise_id, answer].add(a.learner_ref)
    out = {}
    for ex, counter in sorted(times.items()):
        ranked = sorted(counter, key=lambda ans: (-len(who[ex, ans]), -counter[ans], ans))
        out[ex] = [WrongAnswer(ex, ans, counter[ans], len(who[ex, ans])) for ans in ranked[:limit]]
    return out


def wrong_answers_by_exercise(rows: Iterable[WrongAnswerCount]) -> dict[str, list[WrongAnswer]]:
    """`common_wrong_answers`' shape from the store's ranked counts."""
    out: dict[str, list[WrongAnswer]] = defaultdict(list)
    for row in rows:
        out[row.exercise_id].append(WrongAnswer(row.exercise_id, row.answer, row.times, row.learners))
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class StalledLearner:
    learner_ref: str
    label: str
    last_progress_at: datetime  # last exercise solved, or when the learner joined
    last_attempt_at: datetime | None
    attempts_since_progress: int  # > 0: trying and stuck; 0: idle
    solved: int


def stalled_learners(
    attempts: Iterable[ClassAttempt],
    learners: Iterable[ClassLearner],
    minutes: float,
    now: float,
    seen_since: float | None = None,
) -> list[StalledLearner]:
    """Learners who solved nothing in the last `minutes` (counting from when they joined if they
    never solved anything), longest-stalled first. `seen_since` leaves out learners not seen
    since then (e.g. the start of today's class)."""
    cutoff = now - minutes * 60
    last_solve: dict[str, float] = {}
    last_attempt: dict[str, float] = {}
    solved: dict[str, set[str]] = defaultdict(set)
    history: dict[str, list[float]] = defaultdict(list)
    for a in attempts:
        t = a.at.timestamp()
        history[a.learner_ref].append(t)
        last_attempt[a.learner_ref] = max(t, last_attempt.get(a.learner_ref, t))
        if a.passed and a.exercise_id not in solved[a.learner_ref]:
            solved[a.learner_ref].add(a.exercise_id)
            last_solve[a.learner_ref] = max(t, last_solve.get(a.learner_ref, t))
    out = []
    for learner in learners:
        ref = learner.learner_ref
        if seen_since is not None and learner.last_seen_at.timestamp() < seen_since:
            continue
        progress = last_solve.get(ref, learner.created_at.timestamp())
        if progress >= cutoff:
            continue
        out.append(
            StalledLearner(
                learner_ref=ref,
                label=learner_label(ref, learner.display_name),
                last_progress_at=to_datetime(progress),
                last_attempt_at=to_datetime(last_attempt[ref]) if ref in last_attempt else None,
                attempts_since_progress=sum(1 for t in history[ref] if t > progress),
                solved=len(solved[ref]),
            )
        )
    return sorted(out, key=lambda s: (s.last_progress_at, s.learner_ref))


STALLED_PAGE_SIZE = 50


@dataclass(frozen=True)
class StalledPage:
    learners: list[StalledLearner]
    total: int
    page: int
    pages: int


def _stalled(row: StalledRow) -> StalledLearner:
    return StalledLearner(
        learner_ref=row.learner_ref,
        label=learner_label(row.learner_ref, row.display_name),
        last_progress_at=row.last_progress_at,
        last_attempt_at=row.last_attempt_at,
        attempts_since_progress=row.attempts_since_progress,
        solved=row.solved,
    )


def stalled_page(
    store: ProgressStore,
    model_fp: str,
    minutes: float,
    now: float,
    page: int = 0,
    seen_since: float | None = None,
    page_size: int = STALLED_PAGE_SIZE,
) -> StalledPage:
    """One page of `stalled_learners`, selected, ordered and counted by the store. A page past
    the end shows the last one."""
    since = -1e18 if seen_since is None else seen_since
    cutoff = now - minutes * 60
    page = max(0, page)
    rows, total = store.class_stalled(model_fp, cutoff, since, page_size, page * page_size)
    pages = max(1, -(-total // page_size))
    if page >= pages:  # the list shrank since the page was chosen
        page = pages - 1
        rows, total = store.class_stalled(model_fp, cutoff, since, page_size, page * page_size)
    return StalledPage([_stalled(r) for r in rows], total, page, pages)


CSV_COLUMNS = (
    "learner",
    "display_name",
    "model_fingerprint",
    "exercise_id",
    "kind",
    "passed",
    "answer",
    "time_utc",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: str) -> str:
    """Learner text that a spreadsheet would run as a formula gets a leading apostrophe;
    plain numbers such as -3 are left alone."""
    if value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def attempts_csv(attempts: Iterable[ClassAttempt]) -> str:
    """Every attempt as CSV (UTF-8 text, header row first), without learner keys."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in attempts:
        writer.writerow(
            [
                a.learner_ref,
                _spreadsheet_safe(a.display_name or ""),
                a.model_fp,
                a.exercise_id,
                a.kind,
                "yes" if a.passed else "no",
                _spreadsheet_safe(a.answer),
                a.at.isoformat(timespec="seconds"),
            ]
        )
    return buf.getvalue()
