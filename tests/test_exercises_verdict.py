"""The TA-style comparison on synthetic arrays, and turning runner outcomes into verdicts."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sortlist_core.exercises import get_exercise
from sortlist_core.exercises.check import verdict_from_outcome
from sortlist_core.exercises.verdict import compare

AXES = ("head", "source token", "prediction")


@pytest.fixture(scope="module")
def ref() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(2, 5, 5)).astype(np.float32)


def test_exact_match_passes(ref):
    v = compare(ref.copy(), ref, AXES)
    assert v.passed and v.message.startswith("Correct")


def test_float32_noise_passes(ref):
    assert compare(ref + 1e-6, ref, AXES).passed


def test_wrong_length_names_the_axis(ref):
    v = compare(ref[:, :4], ref, AXES)
    assert not v.passed
    assert "4 instead of 5 along the source token axis (off by one" in v.message


def test_transposed_names_axes(ref):
    v = compare(ref.transpose(0, 2, 1), ref, AXES)
    assert "Transposed: your axes are (head, prediction, source token)" in v.message


def test_transposed_with_different_lengths():
    ref = np.arange(12.0).reshape(3, 4)
    v = compare(ref.T, ref, ("query position", "key token"))
    assert "Transposed" in v.message and "(key token, query position)" in v.message


def test_wrong_sign(ref):
    assert "Wrong sign" in compare(-ref, ref, AXES).message


def test_named_constant_factor(ref):
    factors = {"1/sqrt(d_head)": 1 / math.sqrt(48)}
    v = compare(ref / math.sqrt(48), ref, AXES, factors=factors)
    assert "0.1443 times" in v.message and "1/sqrt(d_head)" in v.message


def test_unnamed_constant_factor(ref):
    assert "Off by a constant factor: your values are 3 times" in compare(3 * ref, ref, AXES).message


def test_percentage_instead_of_a_fraction_names_the_factor_100():
    v = compare(97.0, np.array(0.97))
    assert not v.passed
    assert "factor of 100" in v.message and "percentage (97)" in v.message and "(0.97)" in v.message
    # a value 100 times a reference that is not a fraction is an ordinary constant factor
    assert "factor of 100" not in compare(300.0, np.array(3.0)).message


def test_layer_axis_left_in(ref):
    v = compare(ref[None], ref, AXES)
    assert "layer axis" in v.message and "model.W_V[0]" in v.message
    assert "Apart from that axis your values are right" in v.message


def test_summed_over_an_axis(ref):
    v = compare(ref.sum(0), ref, AXES)
    assert "You summed over the head axis" in v.message


def test_missing_axis(ref):
    assert "no head axis" in compare(ref[0] + 5, ref, AXES).message


def test_nan_located(ref):
    bad = ref.copy()
    bad[1, 2, 3] = np.nan
    v = compare(bad, ref, AXES)
    assert "NaN" in v.message and "[head 1, source token 2, prediction 3]" in v.message


def test_largest_error_located(ref):
    bad = ref.copy()
    bad[0, 4, 1] += 0.5
    bad[1, 1, 1] += 0.1
    v = compare(bad, ref, AXES)
    assert "2 of 50 values differ" in v.message
    assert "largest error is 0.5 at [head 0, source token 4, prediction 1]" in v.message


def test_per_slice_factor(ref):
    v = compare(ref * np.array([2.0, 3.0])[:, None, None], ref, AXES)
    assert "Each head is off by its own factor (between 2 and 3)" in v.message


def test_alternative_message_wins(ref):
    other = ref[::-1].copy()
    v = compare(other, ref, AXES, alternatives={"Heads swapped.": other})
    assert v.message == "Heads swapped."


def test_scalar():
    v = compare(0.5, np.array(0.75))
    assert not v.passed and "you got 0.5, expected 0.75" in v.message
    assert compare(np.float32(0.75), np.array(0.75)).passed


def test_not_numbers():
    assert "returned str" in compare("abc", np.zeros(3), ("x",)).message
    assert "returned dict" in compare({"a": 1}, np.zeros(3), ("x",)).message


def test_exact_counts_differences():
    v = compare(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), ("value token",), exact=True)
    assert "1 of 4 values are wrong, e.g. at [value token 2]: yours 1, expected 0" in v.message


def _outcome(status, value=None, message="", traceback=""):
    return SimpleNamespace(
        status=status, value=value, message=message, traceback=traceback, stdout="", seconds=0.1
    )


def test_outcome_error_shows_trimmed_traceback(bundled):
    ex = get_exercise("circuits.full_ov")
    tb = 'File "<your code>", line 3, in full_ov\nZeroDivisionError: division by zero'
    v = verdict_from_outcome(
        ex, bundled, {}, _outcome("error", message="Your code raised ZeroDivisionError.", traceback=tb)
    )
    assert not v.passed and "ZeroDivisionError" in v.message and "<your code>" in v.message


def test_outcome_timeout_message(bundled):
    ex = get_exercise("circuits.full_ov")
    v = verdict_from_outcome(
        ex, bundled, {}, _outcome("timeout", message="Your code ran for more than 10 s.")
    )
    assert v.message == "Your code ran for more than 10 s."


def test_outcome_ok_is_checked(bundled):
    from sortlist_core.circuits import full_ov

    ex = get_exercise("circuits.full_ov")
    assert verdict_from_outcome(ex, bundled, {}, _outcome("ok", value=full_ov(bundled))).passed
    assert not verdict_from_outcome(ex, bundled, {}, _outcome("ok", value={"x": [1, 2]})).passed


def test_outcome_unreadable_value_is_a_verdict_not_a_crash(bundled):
    ex = get_exercise("adversarial.fool_model")
    v = verdict_from_outcome(ex, bundled, ex.params(bundled), _outcome("ok", value="lists"))
    assert not v.passed and "return a list of lists" in v.message


@pytest.fixture(scope="module")
def bundled():
    from sortlist_core.paths import load_bundled_model

    return load_bundled_model()


def test_one_slice_alone_is_named(ref):
    v = compare(ref[1], ref, AXES)
    assert "reference for head 1 alone: return every head" in v.message


def test_outcome_not_implemented_is_the_starter_message(bundled):
    ex = get_exercise("circuits.full_ov")
    tb = 'Traceback (most recent call last):\n  File "<your code>", line 11, in full_ov\nNotImplementedError'
    v = verdict_from_outcome(
        ex, bundled, {}, _outcome("error", message="Your code raised NotImplementedError", traceback=tb)
    )
    assert v.message.startswith("Not implemented yet")


def test_code_longer_than_the_limit_is_refused_before_it_runs(monkeypatch):
    """Bad input: a pasted 200,000-character file gets a sentence naming the limit, and the runner
    is never asked (the progress store could not keep such an answer either)."""
    from sortlist_core import runner
    from sortlist_core.checkpoint import load_checkpoint
    from sortlist_core.exercises import get_exercise
    from sortlist_core.exercises.check import MAX_SOURCE_CHARS, run_submission
    from sortlist_core.paths import BUNDLED_MODEL_PATH

    def never(*args, **kwargs):
        raise AssertionError("the runner must not be called")

    monkeypatch.setattr(runner, "run_job", never)
    source = "x = 1\n" * (MAX_SOURCE_CHARS // 6 + 1)
    verdict, outcome = run_submission(
        get_exercise("circuits.full_ov"), load_checkpoint(BUNDLED_MODEL_PATH), source
    )
    assert not verdict.passed and outcome.status == "error"
    assert f"{len(source):,} characters" in verdict.message and f"{MAX_SOURCE_CHARS:,}" in verdict.message
