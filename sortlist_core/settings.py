"""Every `SORTLIST_*` environment variable, read in one place with one parser per kind.

Why one module: a flag spelled `true` used to cap training (one reader accepted it) while
leaving learner code outside the sandbox (another reader accepted only `1`). Every reader now
goes through `flag()`, which accepts 1/true/yes/on and 0/false/no/off in any case, so the same
spelling means the same thing everywhere.

Each accessor takes the environment as an argument (default `os.environ`) so tests can pass a
dict instead of patching the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

# Names, so a typo is an AttributeError instead of a silently unset variable.
HOSTED = "SORTLIST_HOSTED"
CODE_EXERCISES = "SORTLIST_CODE_EXERCISES"
RUNNER_CONCURRENCY = "SORTLIST_RUNNER_CONCURRENCY"
RUNNER_QUEUE = "SORTLIST_RUNNER_QUEUE"
RUNNER_UID = "SORTLIST_RUNNER_UID"
RUN_GATE = "SORTLIST_RUN_GATE"
MODEL_PATH = "SORTLIST_MODEL_PATH"
MODEL_CACHE_ENTRIES = "SORTLIST_MODEL_CACHE_ENTRIES"
MAX_TRAINING_JOBS = "SORTLIST_MAX_TRAINING_JOBS"
ORIGINAL_URL = "SORTLIST_ORIGINAL_URL"
DATABASE_URL = "SORTLIST_DATABASE_URL"
DATA_DIR = "SORTLIST_DATA_DIR"
INSTRUCTOR_TOKEN = "SORTLIST_INSTRUCTOR_TOKEN"

Env = Mapping[str, str]


def parse_flag(text: str | None, default: bool) -> bool:
    """`1/true/yes/on` → True, `0/false/no/off` → False (any case, surrounding blanks ignored);
    unset, empty or anything else → `default`."""
    word = (text or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return default


def flag(name: str, default: bool = False, env: Env | None = None) -> bool:
    return parse_flag((os.environ if env is None else env).get(name), default)


def integer(name: str, default: int, lo: int, hi: int, env: Env | None = None) -> int:
    """An integer clamped to [lo, hi]; unset or not a number → `default`."""
    text = (os.environ if env is None else env).get(name, "").strip()
    try:
        return min(hi, max(lo, int(text)))
    except ValueError:
        return default


def text(name: str, default: str = "", env: Env | None = None) -> str:
    """A string with surrounding blanks removed; unset → `default`."""
    value = (os.environ if env is None else env).get(name)
    return default if value is None else value.strip()


def hosted(env: Env | None = None) -> bool:
    """A class deployment: learner code only in the sandbox, training capped."""
    return flag(HOSTED, False, env)
