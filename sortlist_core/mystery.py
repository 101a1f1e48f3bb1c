"""The `[d, d+1, d+2]` mystery: why lists with three close values are not adversarial even
when d attends more to d+2 than to d+1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from jaxtyping import Float

from .checkpoint import LoadedModel
from .circuits import HeadResponsibility, full_ov, head_responsibility
from .data import CustomSortedListDataset, InvalidListError
from .direct_path import (  # noqa: F401 - re-exported: the Mystery page reads the whole mystery here
    ADVERSARIAL_EXTRA,
    ADVERSARIAL_MISTAKE,
    DirectPathExperiment,
    direct_path_experiment,
)
from .model import run

# The write-up's four lists and their (x, y, z); its 5th example was lost. The head is not
# listed: it is whichever head copies y in the loaded model.
DEFAULT_MYSTERY_LISTS: list[tuple[list[int], tuple[int, int, int]]] = [
    ([0, 5, 14, 15, 17, 25, 30, 35, 40, 45], (14, 15, 17)),
    ([0, 5, 10, 15, 20, 25, 26, 27, 40, 45], (25, 26, 27)),
    ([0, 5, 10, 15, 20, 25, 30, 31, 32, 45], (30, 31, 32)),
    ([0, 5, 10, 15, 20, 25, 30, 31, 34, 45], (30, 31, 34)),
]


@dataclass(frozen=True)
class MysteryCase:
    """Direct logit attribution at destination x (in the sorted half) in one head.

    dla[i][j]: effect on the logit of prediction i (0 = y, 1 = z) of the head's output moved
    from source token j (0 = y, 1 = z), divided by the final LayerNorm scale as in the write-up.
    attention[j]: the head's attention from x to source j. The model's prediction at x is
    `predicted` (correct is y).
    """

    unsorted: list[int]
    x: int
    y: int
    z: int
    head: int
    dla: np.ndarray
    attention: np.ndarray
    predicted: int
    prob_y: float
    prob_z: float

    @property
    def total_to_y(self) -> float:
        return float(self.dla[0].sum())

    @property
    def total_to_z(self) -> float:
        return float(self.dla[1].sum())

    @property
    def push_to_y(self) -> float:
        """Net push of the head towards the right answer: total to y − total to z."""
        return self.total_to_y - self.total_to_z

    def to_dict(self) -> dict:
        return {
            "unsorted": self.unsorted,
            "xyz": [self.x, self.y, self.z],
            "head": self.head,
            "dla_pred_by_src": np.round(self.dla, 4).tolist(),
            "attention_to_y_z": np.round(self.attention, 4).tolist(),
            "total_to_y": round(self.total_to_y, 4),
            "total_to_z": round(self.total_to_z, 4),
            "predicted": self.predicted,
            "prob_y": round(self.prob_y, 4),
            "prob_z": round(self.prob_z, 4),
        }


@dataclass(frozen=True)
class CasesTally:
    """How many of the analysed lists show each part of the write-up's explanation.

    z_more_attention: x attends more to z than to y; zy_positive: attention to z lifts y's logit
    (dla z→y > 0); yz_negative: attention to y lowers z's (dla y→z < 0); y_total_larger: y gets
    the larger total; predicted_y: the model predicts y (right); zz_bigger: the copying term
    z→z beats y→y (on their own, copying would favour z).
    """

    n_cases: int
    z_more_attention: int
    zy_positive: int
    yz_negative: int
    y_total_larger: int
    predicted_y: int
    zz_bigger: int

    @property
    def explanation_holds(self) -> bool:
        """The cross terms have the explanation's signs and y wins in every list."""
        n = self.n_cases
        return self.zy_positive == n and self.yz_negative == n and self.y_total_larger == n


def tally_cases(cases: Sequence[MysteryCase]) -> CasesTally:
    return CasesTally(
        n_cases=len(cases),
        z_more_attention=sum(float(c.attention[1]) > float(c.attention[0]) for c in cases),
        zy_positive=sum(float(c.dla[0][1]) > 0 for c in cases),
        yz_negative=sum(float(c.dla[1][0]) < 0 for c in cases),
        y_total_larger=sum(c.total_to_y > c.total_to_z for c in cases),
        predicted_y=sum(c.predicted == c.y for c in cases),
        zz_bigger=sum(float(c.dla[1][1]) > float(c.dla[0][0]) for c in cases),
    )


def check_xyz(unsorted: Sequence[int], x: int, y: int, z: int) -> None:
    """x < y < z must all be in the list, with y the value right after x in sorted order."""
    for name, value in (("x", x), ("y", y), ("z", z)):
        if value not in unsorted:
            raise InvalidListError(f"{name} = {value} is not in the list")
    if not x < y < z:
        raise InvalidListError(f"need x < y < z, got ({x}, {y}, {z})")
    successor = min(v for v in unsorted if v > x)
    if successor != y:
        raise InvalidListError(f"y must be the value right after x in sorted order ({successor}), got {y}")


def dla_yz(
    model: LoadedModel, unsorted: Sequence[int], x: int, y: int, z: int, head: int | None = None
) -> MysteryCase:
    """The write-up's 2×2 DLA (source y/z → prediction y/z) at destination x.

    `head` defaults to the head whose OV circuit copies y most strongly in this model.
    """
    cfg = model.config
    toks = CustomSortedListDataset([list(unsorted)], cfg.max_value).toks
    check_xyz(list(unsorted), x, y, z)
    if head is None:
        head = head_responsibility(model).owner[y]
    if not 0 <= head < cfg.n_heads:
        raise InvalidListError(f"head must be in 0..{cfg.n_heads - 1}, got {head}")
    fwd = run(model.weights, toks)
    L = cfg.list_len
    row = toks[0].tolist()
    x_pos = L + 1 + sorted(unsorted).index(x)
    src_pos = [row.index(y), row.index(z)]  # first occurrence: the unsorted half
    w = model.weights
    out = fwd.v[0, :, head] @ w.W_O[head]  # [src d_model]: what each source writes if attended
    attn = fwd.pattern[0, head, x_pos, src_pos]  # [2]
    contrib = attn[:, None] * out[src_pos] / fwd.final_scale[0, x_pos]  # [2 d_model]
    dla_src_pred = contrib @ w.W_U[:, [y, z]]  # [src pred]
    probs = fwd.logits[0, x_pos].softmax(-1)
    return MysteryCase(
        unsorted=list(unsorted),
        x=x,
        y=y,
        z=z,
        head=head,
        dla=dla_src_pred.T.numpy().copy(),
        attention=attn.numpy().copy(),
        predicted=int(probs.argmax()),
        prob_y=float(probs[y]),
        prob_z=float(probs[z]),
    )


@dataclass(frozen=True)
class OffsetProfile:
    """Mean of the full OV matrix along diagonals: offset = predicted token − source token.

    mean_all[h, i]: over every source value; mean_owned[h, i]: over the values head h copies
    (where it is the copying head, which is what matters for the mystery); NaN if none.
    """

    offsets: list[int]
    mean_all: np.ndarray
    mean_owned: np.ndarray

    @property
    def relative_owned(self) -> np.ndarray:
        """mean_owned as a fraction of the head's own diagonal (offset 0): the raw values are
        tiny because LayerNorm rescales the embeddings, so the shape is what to read."""
        zero = self.offsets.index(0)
        return self.mean_owned / self.mean_owned[:, zero : zero + 1]

    def to_dict(self) -> dict:
        def clean(a: np.ndarray) -> list:
            return [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in a]

        return {
            "offsets": self.offsets,
            "mean_all": clean(self.mean_all),
            "mean_owned": clean(self.mean_owned),
            "relative_owned": clean(self.relative_owned),
        }


def ov_offset_profile(model: LoadedModel, max_offset: int = 5) -> OffsetProfile:
    n = model.config.max_value + 1
    ov = full_ov(model)[:, :n, :n]
    owner = np.array(head_responsibility(model).owner)
    offsets = list(range(-max_offset, max_offset + 1))
    H = ov.shape[0]
    mean_all = np.full((H, len(offsets)), np.nan)
    mean_owned = np.full((H, len(offsets)), np.nan)
    for j, o in enumerate(offsets):
        src = np.arange(max(0, -o), min(n, n - o))
        vals = ov[:, src, src + o]  # [head n_src]
        mean_all[:, j] = vals.mean(1)
        for h in range(H):
            mine = owner[src] == h
            if mine.any():
                mean_owned[h, j] = vals[h, mine].mean()
    return OffsetProfile(offsets, mean_all, mean_owned)


@dataclass(frozen=True)
class HeadOffsetShape:
    """One head's relative OV profile (`OffsetProfile.relative_owned`) around the tokens it copies:
    what attending to s does to the logits of s − k .. s + k, as a fraction of its boost to s.

    below_mean / above_mean: mean over offsets −k..−1 / +1..+k (NaN offsets skipped; NaN if all
    are); just_below / just_above: offsets −1 and +1.
    """

    below_mean: float
    above_mean: float
    just_below: float
    just_above: float

    @property
    def boosts_smaller_suppresses_larger(self) -> bool:
        """The write-up's pattern: tokens just below s go up, tokens just above s go down."""
        return self.below_mean > 0 and self.above_mean < 0


@dataclass(frozen=True)
class OffsetShapes:
    """Per head (index = head), its `HeadOffsetShape`, or None where the head is the stronger
    copier of no token (no profile). max_below / max_above: the profile's offsets run from
    −max_below to +max_above."""

    heads: tuple[HeadOffsetShape | None, ...]
    max_below: int
    max_above: int

    @property
    def pattern_heads(self) -> int:
        """How many heads show the write-up's pattern."""
        return sum(1 for s in self.heads if s is not None and s.boosts_smaller_suppresses_larger)


def offset_shapes(profile: OffsetProfile) -> OffsetShapes:
    rel = profile.relative_owned  # [head offset]
    offsets = np.array(profile.offsets)
    below, above = offsets < 0, offsets > 0
    heads: list[HeadOffsetShape | None] = []
    for row in rel:
        if np.all(np.isnan(row)):
            heads.append(None)
            continue
        heads.append(
            HeadOffsetShape(
                below_mean=float(np.nanmean(row[below])),
                above_mean=float(np.nanmean(row[above])) if np.any(~np.isnan(row[above])) else float("nan"),
                just_below=float(row[offsets == -1][0]),
                just_above=float(row[offsets == 1][0]),
            )
        )
    return OffsetShapes(tuple(heads), int(-offsets.min()), int(offsets.max()))


@dataclass(frozen=True)
class PuzzleExample:
    """Destination d, the head that copies d+1, and that head's QK scores for sources d+1, d+2."""

    dest: int
    head: int
    score_next: float
    score_after_next: float


@dataclass(frozen=True)
class QkPuzzle:
    """The mystery's premise in the QK circuit: for destination tokens d = 0 .. max_value−2, in
    the head that copies d+1 (the head that should find it), the d whose score for d+2 is at least
    its score for d+1. example: the middle such d, or None if there is none."""

    hits: tuple[int, ...]
    n_dest: int
    example: PuzzleExample | None


def qk_puzzle(full_qk: Float[np.ndarray, "head dest src"], resp: HeadResponsibility) -> QkPuzzle:
    """`full_qk: [head dest src]` over the whole vocabulary (`circuits.full_qk`)."""
    n_values = len(resp.owner)
    ds = list(range(n_values - 2))
    hits = tuple(
        d for d in ds if full_qk[resp.owner[d + 1], d, d + 2] >= full_qk[resp.owner[d + 1], d, d + 1]
    )
    example = None
    if hits:
        d = hits[len(hits) // 2]
        h = resp.owner[d + 1]
        example = PuzzleExample(d, h, float(full_qk[h, d, d + 1]), float(full_qk[h, d, d + 2]))
    return QkPuzzle(hits, len(ds), example)


def _fits(unsorted: Sequence[int], list_len: int, max_value: int) -> bool:
    return len(unsorted) == list_len and all(0 <= v <= max_value for v in unsorted)


def default_cases(list_len: int, max_value: int) -> list[tuple[tuple[int, ...], tuple[int, int, int]]]:
    """The write-up's four lists when they fit the model's task; otherwise lists built the same
    way (evenly spread values with a close triple x < y < z inserted) for its range."""
    cases = [(tuple(lst), xyz) for lst, xyz in DEFAULT_MYSTERY_LISTS if _fits(lst, list_len, max_value)]
    if cases:
        return cases
    m, L = max_value, list_len
    if L < 3 or m < 4:
        return []
    built = []
    for frac, gaps in ((0.3, (1, 2)), (0.5, (1, 1)), (0.6, (1, 1)), (0.6, (1, 3))):
        x = max(0, min(int(frac * m), m - sum(gaps)))
        triple = [x, x + gaps[0], x + gaps[0] + gaps[1]]
        others = [
            v
            for v in np.linspace(0, m, L + 6).round().astype(int).tolist()
            if v not in range(x - 1, triple[2] + 2)
        ]
        values = sorted(set(others))[: L - 3]
        if len(values) < L - 3:
            continue
        lst = tuple(sorted(values + triple))
        try:
            check_xyz(lst, *triple)
        except InvalidListError:
            continue
        built.append((lst, tuple(triple)))
    return built


CaseSpec = tuple[Sequence[int], tuple[int, int, int], int]  # (unsorted list, (x, y, z), attributed head)


def other_heads_push(model: LoadedModel, cases: Sequence[CaseSpec]) -> list[float]:
    """`push_to_y` of every head other than each case's attributed head (explanation 1: is it
    the less important head?), case by case, heads in order."""
    return [
        dla_yz(model, list(unsorted), *xyz, head=h).push_to_y
        for unsorted, xyz, head in cases
        for h in range(model.config.n_heads)
        if h != head
    ]
