"""The instructor's aggregates and access check as pure functions, and the progress package's
independence from Streamlit."""

from __future__ import annotations

import ast
import csv
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sortlist_progress import instructor
from sortlist_progress.store import ClassAttempt, ClassLearner

PACKAGE = Path(__file__).resolve().parents[1] / "sortlist_progress"


def attempt(ref, ex, answer, passed, minute, kind="answer", name=None):
    at = datetime(2026, 12, 1, 9, minute, tzinfo=UTC)
    return ClassAttempt(ref, name, "fp", ex, kind, answer, passed, at)


def test_token_check_needs_a_configured_token_and_compares_exactly():
    assert instructor.instructor_token({}) is None
    assert instructor.instructor_token({"SORTLIST_INSTRUCTOR_TOKEN": "  "}) is None
    token = instructor.instructor_token({"SORTLIST_INSTRUCTOR_TOKEN": "s3cret-token"})
    assert instructor.token_matches("s3cret-token", token)
    assert instructor.token_matches(" s3cret-token\n", token)  # pasted with whitespace
    for wrong in ("", None, "s3cret-toke", "S3CRET-TOKEN", "s3cret-token2"):
        assert not instructor.token_matches(wrong, token)
    assert not instructor.token_matches("", None) and not instructor.token_matches("anything", None)


def test_csv_export_has_every_attempt_and_defuses_spreadsheet_formulas():
    rows = [
        attempt("r1", "q1", '=HYPERLINK("http://x")', False, 1, name="@evil"),
        attempt("r1", "q1", "-3", False, 2),
        attempt("r2", "q1", "+1+1", True, 3),
        attempt("r2", "code", "def f():\n    return 1", True, 4, kind="code"),
    ]
    parsed = list(csv.reader(io.StringIO(instructor.attempts_csv(rows))))
    assert parsed[0] == list(instructor.CSV_COLUMNS)
    assert len(parsed) == 1 + len(rows)
    body = [dict(zip(parsed[0], r)) for r in parsed[1:]]
    assert body[0]["answer"] == '\'=HYPERLINK("http://x")' and body[0]["display_name"] == "'@evil"
    assert body[1]["answer"] == "-3"  # a negative number stays a number
    assert body[2]["answer"] == "'+1+1" and body[2]["passed"] == "yes"
    assert body[3]["answer"] == "def f():\n    return 1" and body[3]["kind"] == "code"
    assert body[0]["time_utc"] == "2026-12-01T09:01:00+00:00"


def test_wrong_answers_rank_by_learners_then_times_and_skip_code_and_right_answers():
    rows = [
        attempt("a", "q", "7", False, 1),
        attempt("a", "q", "7", False, 2),
        attempt("a", "q", "7", False, 3),
        attempt("b", "q", "8", False, 4),
        attempt("c", "q", " 8", False, 5),
        attempt("c", "q", "9", True, 6),
        attempt("c", "q", "print(1)", False, 7, kind="code"),
    ]
    (top_two) = instructor.common_wrong_answers(rows, limit=2)["q"]
    assert [(w.answer, w.learners, w.times) for w in top_two] == [("8", 2, 2), ("7", 1, 3)]


def test_attempts_to_solve_counts_up_to_the_first_pass_only():
    rows = [
        attempt("a", "q", "x", False, 1),
        attempt("a", "q", "y", True, 2),
        attempt("a", "q", "z", False, 3),
    ]
    rows += [attempt("b", "q", "y", True, 4), attempt("c", "q", "x", False, 5)]
    (stats,) = instructor.exercise_stats(rows)
    assert (stats.learners_tried, stats.learners_solved, stats.attempts) == (3, 2, 5)
    assert stats.solve_rate == 2 / 3
    assert (stats.median_attempts_to_solve, stats.mean_attempts_to_solve) == (1.5, 1.5)


def test_stalled_learners_respect_seen_since_and_tell_stuck_from_idle():
    t = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()
    learners = [
        ClassLearner("stuck", "Sam", datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(t + 1800, UTC)),
        ClassLearner(
            "yesterday", None, datetime.fromtimestamp(t - 86400, UTC), datetime.fromtimestamp(t - 86000, UTC)
        ),
    ]
    rows = [attempt("stuck", "q", "1", True, 1)] + [
        attempt("stuck", "q2", str(i), False, 10 + i) for i in range(5)
    ]
    now = t + 3600
    all_stalled = instructor.stalled_learners(rows, learners, minutes=30, now=now)
    assert [s.learner_ref for s in all_stalled] == ["yesterday", "stuck"]
    (sam,) = instructor.stalled_learners(rows, learners, minutes=30, now=now, seen_since=t)
    assert sam.label == "Sam (stuck)" and sam.attempts_since_progress == 5 and sam.solved == 1


def test_the_progress_package_imports_neither_streamlit_nor_the_app():
    paths = sorted(PACKAGE.glob("*.py"))
    assert len(paths) > 5, PACKAGE  # the package was read, not a moved-away folder
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not any(n.split(".")[0] in {"streamlit", "torch", "sortlist_app"} for n in names), (
                f"{path.name}: {names}"
            )


def test_importing_the_progress_package_and_its_cli_loads_neither_streamlit_nor_the_app():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, sortlist_progress, sortlist_progress.__main__; print(*sys.modules)",
        ],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "sortlist_progress.factory" in loaded
    assert not [m for m in loaded if m.split(".")[0] in {"streamlit", "sortlist_app"}]


def test_sql_is_never_built_from_values():
    """Every execute() in the package gets a constant query (or a name holding one built from
    constant fragments): no f-string, % or .format() inside the call."""
    calls = 0
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"execute", "_execute"}:
                calls += 1
                query = node.args[1] if node.func.attr == "_execute" else node.args[0]
                assert not isinstance(query, ast.JoinedStr | ast.BinOp), f"{path.name}:{node.lineno}"
                assert not (isinstance(query, ast.Call) and getattr(query.func, "attr", "") == "format"), (
                    f"{path.name}:{node.lineno}"
                )
    assert calls > 10
