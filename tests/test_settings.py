"""The one parser every SORTLIST_* flag goes through."""

import pytest

from sortlist_core import settings


@pytest.mark.parametrize("word", ["1", "true", "TRUE", " yes ", "On"])
def test_true_words(word: str) -> None:
    assert settings.parse_flag(word, default=False) is True


@pytest.mark.parametrize("word", ["0", "false", "No", " OFF "])
def test_false_words(word: str) -> None:
    assert settings.parse_flag(word, default=True) is False


@pytest.mark.parametrize("word", [None, "", "maybe", "2"])
def test_anything_else_is_the_default(word: str | None) -> None:
    assert settings.parse_flag(word, default=True) is True
    assert settings.parse_flag(word, default=False) is False


def test_hosted_reads_true_like_one() -> None:
    # The bug this module exists for: "true" meant hosted to one reader and not to another.
    assert settings.hosted({settings.HOSTED: "true"}) is True
    assert settings.hosted({settings.HOSTED: "1"}) is True
    assert settings.hosted({}) is False


def test_integer_clamps_and_falls_back() -> None:
    assert settings.integer("X", 2, 1, 8, env={"X": "50"}) == 8
    assert settings.integer("X", 2, 1, 8, env={"X": "-3"}) == 1
    assert settings.integer("X", 2, 1, 8, env={"X": "two"}) == 2
    assert settings.integer("X", 2, 1, 8, env={}) == 2


def test_text_strips_and_defaults() -> None:
    assert settings.text("X", "d", env={"X": "  a b  "}) == "a b"
    assert settings.text("X", "d", env={}) == "d"
