"""Does a model tell the write-up's story? The lesson-model criteria of assets/TRAINING.md.

Each criterion is measured from the loaded model with the package's existing analyses (ablation,
OV/QK circuits, adversarial families, the QK puzzle) and compared with a threshold fixed before
any lesson-model seed was trained. Thresholds live here as named constants so that the document,
the report and the tests read the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Bool, Int
from torch import Tensor

from .ablation import AblationResult, head_ablation, importance_contrast
from .checkpoint import LoadedModel
from .circuits import full_qk, head_responsibility
from .data import EVAL_SEED, EVAL_SIZE, eval_dataset, tokens_from_unsorted
from .list_families import FAMILIES, generate_family
from .metrics import prediction_slice
from .model import prediction_logits
from .mystery import qk_puzzle

MIN_ABLATION_RATIO = 2.0
MIN_BLOCK_LEN = 5
MAX_STRAY_TOKENS = 1
MIN_SEP_FAIL_HIGH = 0.05
MIN_GAP_FAIL = 0.10
MIN_GAP_OVER_UNIFORM = 5.0
MIN_PUZZLE_FRACTION = 0.25
MAX_CLUSTER_FAIL = 0.05
LOSS_RANGE = (0.02, 0.06)
WRITE_UP_LOSS = 0.039  # ties between candidates go to the loss nearest the write-up's
FAMILY_LISTS = 2000
FAMILY_SEED = 1  # as `adversarial.family_failure_rates`, so the rates match its figures


@dataclass(frozen=True)
class CriterionResult:
    """One criterion: `value` is the measured figure compared with `threshold` (a bound or a
    range, as text), `text` says what was measured in the model's own numbers."""

    name: str
    passed: bool
    value: float
    threshold: str
    text: str

    def to_dict(self) -> dict:
        """JSON-ready: an infinite value (no block fits, nothing fails on uniform lists) is None."""
        out = asdict(self)
        out["value"] = self.value if math.isfinite(self.value) else None
        return out


@dataclass(frozen=True)
class Block:
    """The contiguous run of values start..end (inclusive) closest to a token set, and by how
    many tokens the set differs from it (values outside it plus holes in it)."""

    start: int
    end: int
    strays: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def nearest_block(tokens: Sequence[int], n_values: int, min_len: int = MIN_BLOCK_LEN) -> Block | None:
    """The block of at least `min_len` consecutive values in 0..n_values-1 whose symmetric
    difference with `tokens` is smallest (ties: the longer block, then the lower start); None
    when no block of that length fits in the range."""
    owned = set(tokens)
    best: Block | None = None
    for start in range(n_values):
        for end in range(start + min_len - 1, n_values):
            inside = set(range(start, end + 1))
            block = Block(start, end, len(owned ^ inside))
            key = (block.strays, -block.length, block.start)
            if best is None or key < (best.strays, -best.length, best.start):
                best = block
    return best


@dataclass(frozen=True)
class FamilyFailures:
    """Per family (`adversarial.FAMILIES`): the fraction of lists with at least one wrong
    position, and the fraction whose first prediction (at SEP: the smallest value) is wrong."""

    any_wrong: dict[str, float]
    sep_wrong: dict[str, float]
    n_per_family: int


@torch.inference_mode()
def wrong_positions(model: LoadedModel, unsorted: Int[Tensor, "n list_len"]) -> Bool[Tensor, "n list_len"]:
    """Which of the sorted half's predictions (SEP .. second-to-last) are wrong, per list."""
    cfg = model.config
    toks = tokens_from_unsorted(unsorted, cfg.max_value)
    logits = prediction_logits(model.weights, toks, prediction_slice(cfg.list_len))
    return logits.argmax(-1) != toks[:, cfg.list_len + 1 :]


def family_failures(
    model: LoadedModel, n_per_family: int = FAMILY_LISTS, seed: int = FAMILY_SEED
) -> FamilyFailures:
    """The same lists as `adversarial.family_failure_rates(model, n_per_family, seed)`."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    any_wrong, sep_wrong = {}, {}
    for family in FAMILIES:
        wrong = wrong_positions(model, generate_family(family, n_per_family, cfg.list_len, cfg.max_value, g))
        any_wrong[family] = float(wrong.any(-1).float().mean())
        sep_wrong[family] = float(wrong[:, 0].float().mean())
    return FamilyFailures(any_wrong, sep_wrong, n_per_family)


def _tokens(n: int) -> str:
    return f"{n} token" if n == 1 else f"{n} tokens"


def _dominant_head(ablation: AblationResult) -> CriterionResult:
    contrast = importance_contrast(ablation)
    top, low = contrast.most_important, contrast.least_important
    return CriterionResult(
        "dominant_head",
        contrast.cost_ratio >= MIN_ABLATION_RATIO,
        contrast.cost_ratio,
        f">= {MIN_ABLATION_RATIO:g}",
        f"mean-ablating head {top} raises the loss by {ablation.mean[top]:.3f}, head {low} by "
        f"{ablation.mean[low]:.3f}: a ratio of {contrast.cost_ratio:.2f}",
    )


def _minor_head_block(model: LoadedModel, ablation: AblationResult) -> CriterionResult:
    weak = importance_contrast(ablation).least_important
    resp = head_responsibility(model)
    copies = resp.copies[weak]
    block = nearest_block(copies, len(resp.owner))
    threshold = f"<= {MAX_STRAY_TOKENS} stray token from a block of >= {MIN_BLOCK_LEN} values"
    if block is None:
        return CriterionResult(
            "minor_head_block", False, float("inf"), threshold, "too few values for a block"
        )
    passed = block.strays <= MAX_STRAY_TOKENS
    return CriterionResult(
        "minor_head_block",
        passed,
        float(block.strays),
        threshold,
        f"the weaker head {weak} is the stronger copier of {len(copies)} values; the nearest block "
        f"is {block.start}–{block.end}, {_tokens(block.strays)} off",
    )


def _sep_fails_high(fails: FamilyFailures) -> CriterionResult:
    rate = fails.sep_wrong["high"]
    return CriterionResult(
        "sep_fails_high",
        rate >= MIN_SEP_FAIL_HIGH,
        rate,
        f">= {MIN_SEP_FAIL_HIGH:g}",
        f"SEP predicts the wrong smallest value on {rate:.1%} of {fails.n_per_family:,} lists whose "
        f"values are all high (uniform lists: {fails.sep_wrong['uniform']:.1%})",
    )


def _large_gap_adversarial(fails: FamilyFailures) -> CriterionResult:
    gap, uniform = fails.any_wrong["gap"], fails.any_wrong["uniform"]
    ratio = gap / uniform if uniform > 0 else float("inf")
    return CriterionResult(
        "large_gap_adversarial",
        gap >= MIN_GAP_FAIL and ratio >= MIN_GAP_OVER_UNIFORM,
        gap,
        f">= {MIN_GAP_FAIL:g} and >= {MIN_GAP_OVER_UNIFORM:g} x the uniform rate",
        f"{gap:.1%} of large-gap lists go wrong, against {uniform:.1%} of uniform lists",
    )


def _qk_puzzle(model: LoadedModel) -> CriterionResult:
    puzzle = qk_puzzle(full_qk(model), head_responsibility(model))
    fraction = len(puzzle.hits) / puzzle.n_dest if puzzle.n_dest else 0.0
    return CriterionResult(
        "qk_puzzle",
        fraction >= MIN_PUZZLE_FRACTION,
        fraction,
        f">= {MIN_PUZZLE_FRACTION:g}",
        f"for {len(puzzle.hits)} of {puzzle.n_dest} destinations d, the head that copies d+1 scores "
        "d+2 at least as high as d+1",
    )


def _puzzle_not_adversarial(fails: FamilyFailures) -> CriterionResult:
    rate = fails.any_wrong["cluster"]
    return CriterionResult(
        "puzzle_not_adversarial",
        rate <= MAX_CLUSTER_FAIL,
        rate,
        f"<= {MAX_CLUSTER_FAIL:g}",
        f"{rate:.1%} of lists holding a tight triple x < y < z <= x+4 go wrong",
    )


def _loss_range(ablation: AblationResult) -> CriterionResult:
    lo, hi = LOSS_RANGE
    loss = ablation.base_loss
    return CriterionResult(
        "loss_range",
        lo <= loss <= hi,
        loss,
        f"{lo:g} .. {hi:g}",
        f"loss on the eval set ({EVAL_SIZE} lists, seed {EVAL_SEED}) is {loss:.4f}",
    )


def lesson_criteria(model: LoadedModel) -> list[CriterionResult]:
    """Every criterion of assets/TRAINING.md, in its order."""
    cfg = model.config
    toks = eval_dataset(cfg).toks
    ablation = head_ablation(model, toks)
    fails = family_failures(model)
    return [
        _dominant_head(ablation),
        _minor_head_block(model, ablation),
        _sep_fails_high(fails),
        _large_gap_adversarial(fails),
        _qk_puzzle(model),
        _puzzle_not_adversarial(fails),
        _loss_range(ablation),
    ]


def selection_key(results: Sequence[CriterionResult]) -> tuple[int, float]:
    """Sort key for choosing the lesson model among candidates (smallest first): the most
    criteria met, then the eval loss nearest the write-up's 0.039."""
    loss = next(r.value for r in results if r.name == "loss_range")
    return (-sum(r.passed for r in results), abs(loss - WRITE_UP_LOSS))
