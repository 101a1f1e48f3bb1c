"""Claims about weights alone, checked on every (query, key) token pair: no dataset, no sampling.

Each check returns a matrix that is 1 where the claim holds for that pair, 0 where it fails and
NaN where the pair is not part of the claim, plus the share of pairs and of whole query rows where
it holds. The head examined for a value is the head that handles it: the hypothesis's `handles`
when it has them, otherwise the model's copying analysis (which head's OV copies it most).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..circuits import full_ov, full_qk, head_responsibility
from ..model import token_tables


@dataclass(frozen=True)
class PairCheck:
    key: str
    claim: str  # one sentence, in the page's words
    title: str  # a few words, for a figure panel
    query_label: str
    key_label: str
    holds: np.ndarray  # [query key] 1.0 / 0.0 / nan
    failing_rows: tuple[int, ...]  # query tokens for which the claim fails somewhere

    @property
    def fraction(self) -> float:
        applicable = ~np.isnan(self.holds)
        return float(self.holds[applicable].mean()) if applicable.any() else float("nan")

    @property
    def row_fraction(self) -> float:
        rows = [r for r in range(self.holds.shape[0]) if (~np.isnan(self.holds[r])).any()]
        return 1 - len(self.failing_rows) / len(rows) if rows else float("nan")

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "claim": self.claim,
            "fraction": self.fraction,
            "row_fraction": self.row_fraction,
            "failing_rows": list(self.failing_rows),
        }


def owners(model: LoadedModel, handles: tuple[frozenset[int], ...] | None = None) -> np.ndarray:
    """[value] the head examined for each value: the first head whose `handles` has it, else the
    copying analysis's owner."""
    owner = np.array(head_responsibility(model).owner)
    if handles is not None:
        for v in range(len(owner)):
            claimed = [h for h, s in enumerate(handles) if v in s]
            if claimed:
                owner[v] = claimed[0]
    return owner


def _check(key: str, claim: str, title: str, q: str, k: str, holds: np.ndarray) -> PairCheck:
    failing = tuple(int(r) for r in range(holds.shape[0]) if (holds[r] == 0).any())
    return PairCheck(key, claim, title, q, k, holds, failing)


def next_value_top_qk(qk: np.ndarray, owner: np.ndarray) -> PairCheck:
    """For query token d and every other key s: QK(d, d+1) > QK(d, s) in the head handling d+1."""
    n = len(owner)
    holds = np.full((n, n), np.nan)
    for d in range(n - 1):
        row = qk[owner[d + 1], d, :n]
        holds[d] = (row[d + 1] > row).astype(float)
        holds[d, d + 1] = np.nan
    return _check(
        "next_value_qk",
        "the key with the highest QK score is the next value up (in the head that handles it)",
        "QK: the next value up scores highest",
        "query token d",
        "key token s",
        holds,
    )


def ov_copies(ov: np.ndarray, owner: np.ndarray) -> PairCheck:
    """For source s and every other prediction t: OV(s, s) > OV(s, t) in the head handling s."""
    n = len(owner)
    holds = np.full((n, n), np.nan)
    for s in range(n):
        row = ov[owner[s], s, :n]
        holds[s] = (row[s] > row).astype(float)
        holds[s, s] = np.nan
    return _check(
        "ov_copies",
        "attending to a value raises its own logit above every other value's (OV copies)",
        "OV: a value raises its own logit most",
        "source token s",
        "other prediction t",
        holds,
    )


def sep_prefers_smaller(model: LoadedModel, owner: np.ndarray) -> PairCheck:
    """For SEP's query and every pair of values a < b in the unsorted half: a scores higher than b
    in the head handling a (keys averaged over the unsorted positions)."""
    cfg = model.config
    t = token_tables(model.weights)
    L, n = cfg.list_len, cfg.max_value + 1
    with torch.inference_mode():
        q = t.q[L, cfg.sep_token]  # [head d_head]
        k = t.k[:L, :n].mean(0)  # [value head d_head]
        scores = torch.einsum("he,vhe->hv", q, k).numpy()
    holds = np.full((n, n), np.nan)
    for a in range(n):
        row = scores[owner[a]]
        holds[a, a + 1 :] = (row[a] > row[a + 1 :]).astype(float)
    return _check(
        "sep_min",
        "SEP scores a smaller value above a larger one (so it finds the minimum)",
        "SEP: smaller values score higher",
        "smaller value a",
        "larger value b",
        holds,
    )


def pair_checks(
    model: LoadedModel,
    handles: tuple[frozenset[int], ...] | None = None,
    qk: np.ndarray | None = None,
    ov: np.ndarray | None = None,
) -> tuple[PairCheck, ...]:
    """Every check on every token pair. `qk`/`ov` may be passed in when already computed."""
    owner = owners(model, handles)
    qk = full_qk(model) if qk is None else qk
    ov = full_ov(model) if ov is None else ov
    return (next_value_top_qk(qk, owner), ov_copies(ov, owner), sep_prefers_smaller(model, owner))
