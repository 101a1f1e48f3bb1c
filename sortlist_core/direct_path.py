"""The mystery's direct-path experiment: remove the direct path `W_E W_U` (final LayerNorm
scale frozen at its real value) and see whether lists holding d, d+1 and d+2 become
adversarial, against controls holding d and d+1 without d+2."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checkpoint import LoadedModel
from .config import ModelConfig
from .data import tokens_from_unsorted
from .model import run

# When removing the direct path "makes lists with d, d+1, d+2 adversarial": at least this share of
# them predict d+2 at d, or they fail at least this much (percentage points / 100) more often than
# the controls. The Mystery page states both in its question, solution and prose.
ADVERSARIAL_MISTAKE = 0.10
ADVERSARIAL_EXTRA = 0.10


@dataclass(frozen=True)
class DirectPathExperiment:
    """The prediction made at d (correct: d+1), with the model intact and with the direct path
    `W_E W_U` removed (final LayerNorm scale frozen at its real value).

    cluster: lists holding d, d+1 and d+2; control: lists holding d and d+1 but not d+2, so the
    only difference is the close third value. `*_pred_next` is the share predicting d+2 (cluster)
    or the value after d+1 (control): the mistake the mystery is about.
    """

    cluster_acc_with: float
    cluster_acc_without: float
    cluster_pred_next_without: float
    control_acc_with: float
    control_acc_without: float
    control_pred_next_without: float
    n_per_group: int

    @property
    def cluster_fail_without(self) -> float:
        return 1.0 - self.cluster_acc_without

    @property
    def control_fail_without(self) -> float:
        return 1.0 - self.control_acc_without

    @property
    def extra_failures(self) -> float:
        """How much more often cluster lists fail than controls without the direct path (a
        fraction: 0.023 = 2.3 percentage points; negative when they fail less often)."""
        return self.cluster_fail_without - self.control_fail_without

    @property
    def becomes_adversarial(self) -> bool:
        """The rule (stated to the learner, `ADVERSARIAL_MISTAKE` / `ADVERSARIAL_EXTRA`): without
        the direct path, the mystery's mistake (predicting d+2 at d) shows up in at least 10% of
        cluster lists, or they fail at least 10 percentage points more often than controls."""
        return (
            self.cluster_pred_next_without >= ADVERSARIAL_MISTAKE or self.extra_failures >= ADVERSARIAL_EXTRA
        )

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {
            "becomes_adversarial": self.becomes_adversarial
        }


def _lists_around(cfg: ModelConfig, ds: torch.Tensor, with_d2: bool, g: torch.Generator) -> torch.Tensor:
    """Random lists containing d and d+1, and d+2 exactly when `with_d2`."""
    V = cfg.max_value + 1
    values = torch.arange(V)[None, :]
    forced = (values == ds[:, None]) | (values == ds[:, None] + 1)
    if with_d2:
        forced |= values == ds[:, None] + 2
    excluded = values == ds[:, None] + 2
    keys = torch.rand(len(ds), V, generator=g)
    keys = torch.where(excluded & ~forced, 2.0, keys)
    keys = torch.where(forced, -1.0, keys)
    chosen = keys.argsort(-1)[:, : cfg.list_len]
    return chosen.gather(1, torch.rand(chosen.shape, generator=g).argsort(-1))


@torch.inference_mode()
def direct_path_experiment(model: LoadedModel, n_per_d: int = 40, seed: int = 0) -> DirectPathExperiment:
    cfg = model.config
    L = cfg.list_len
    g = torch.Generator().manual_seed(seed)
    w = model.weights
    ds = torch.arange(0, cfg.max_value - 1).repeat_interleave(n_per_d)  # d with d+2 <= max_value

    def measure(unsorted: torch.Tensor) -> tuple[float, float, float]:
        toks = tokens_from_unsorted(unsorted, cfg.max_value)
        fwd = run(w, toks, per_head=False)
        without = fwd.logits - (w.W_E[toks] / fwd.final_scale) @ w.W_U  # drop the W_E W_U term
        d_pos = L + 1 + (toks[:, L + 1 :] < ds[:, None]).sum(-1)  # where d sits in the sorted half
        idx = torch.arange(len(ds))
        # the sorted value after d+1 (-1 where d+1 is the largest: no such mistake possible)
        has_next = d_pos + 2 <= 2 * L
        after_next = torch.where(has_next, toks[idx, (d_pos + 2).clamp(max=2 * L)], -1)
        pred_with = fwd.logits[idx, d_pos].argmax(-1)
        pred_without = without[idx, d_pos].argmax(-1)
        return (
            float((pred_with == ds + 1).float().mean()),
            float((pred_without == ds + 1).float().mean()),
            float((pred_without == after_next).float().mean()),
        )

    cluster = measure(_lists_around(cfg, ds, True, g))
    control = measure(_lists_around(cfg, ds, False, g))
    return DirectPathExperiment(*cluster, *control, n_per_group=len(ds))
