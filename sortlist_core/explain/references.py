"""Ready-made hypotheses, written as the learner would write them, with every model-dependent
number (which head handles which values) read off the loaded model's own copying analysis
(`circuits.head_responsibility`): the same reference fits the lesson, strong, original and a
heads-swapped model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from ..checkpoint import LoadedModel
from ..circuits import head_responsibility
from .breakdown import value_runs
from .hypothesis import Hypothesis

NEXT_VALUE_ATTENTION = '''
import torch


def attention(tokens, head):
    """Each query in the sorted half attends to the smallest value above its own in the unsorted
    half; SEP attends to the smallest value; the largest value (nothing above it) attends to
    itself. The unsorted half predicts nothing, so it attends uniformly."""
    batch, seq = tokens.shape
    list_len = (seq - 1) // 2
    keys = tokens[:, :list_len]  # the unsorted values, one key each
    pattern = torch.tril(torch.ones(seq, seq)).repeat(batch, 1, 1)
    pattern = pattern / pattern.sum(-1, keepdim=True)  # uniform over the visible keys
    rows = torch.arange(batch)
    for q in range(list_len, seq):
        # SEP (q == list_len) sits below every value: its "next value up" is the minimum
        current = tokens[:, q] if q > list_len else torch.full((batch,), -1)
        above = keys > current[:, None]
        nearest = torch.where(above, keys, torch.full_like(keys, 10**6)).argmin(-1)
        row = torch.zeros(batch, seq)
        row[rows, nearest] = 1.0
        none_above = ~above.any(-1)
        row[none_above] = 0.0
        row[none_above, q] = 1.0
        pattern[:, q] = row
    return pattern
'''

UNIFORM_ATTENTION = '''
import torch


def attention(tokens, head):
    """Every query spreads its attention evenly over itself and every earlier token."""
    batch, seq = tokens.shape
    pattern = torch.tril(torch.ones(seq, seq))
    return (pattern / pattern.sum(-1, keepdim=True)).repeat(batch, 1, 1)
'''


@dataclass(frozen=True)
class ReferenceHypothesis:
    key: str
    title: str
    source: str


def _ranges_literal(values: list[int]) -> str:
    parts = [str(a) if a == b else f"*range({a}, {b + 1})" for a, b in value_runs(values)]
    return "[" + ", ".join(parts) + "]"


def handles_source(model: LoadedModel) -> str:
    """`HANDLES` and `handles(head)` from the model's copying analysis (which head's OV circuit
    copies each value most strongly)."""
    resp = head_responsibility(model)
    names = model.config.head_names
    from .breakdown import format_runs

    summary = "; ".join(f"head {names[h]} copies {format_runs(resp.ranges_of(h))}" for h in range(len(names)))
    lines = [f"    {h}: {_ranges_literal(resp.copies[h])}," for h in range(len(names))]
    return (
        f"\n# On this model's OV circuits, {summary}.\n"
        "HANDLES = {\n" + "\n".join(lines) + "\n}\n\n\n"
        "def handles(head):\n"
        '    """The values this head is responsible for predicting: elsewhere its output is\n'
        '    replaced by its mean."""\n'
        "    return set(HANDLES[head])\n"
    )


def reference_hypotheses(model: LoadedModel) -> tuple[ReferenceHypothesis, ...]:
    """The write-up's algorithm (next value up + this model's routing), next value up in every
    head, and uniform attention; `source` is ready for the editor."""
    header = "# The write-up's algorithm: attend back to (and copy) the smallest value above me;\n"
    header += "# the heads split the values between them.\n"
    return (
        ReferenceHypothesis(
            "writeup", "The write-up's algorithm", header + NEXT_VALUE_ATTENTION + handles_source(model)
        ),
        ReferenceHypothesis(
            "next_value",
            "Attend to the next value up, both heads",
            "# Every head attends to the next value up; no routing.\n" + NEXT_VALUE_ATTENTION,
        ),
        ReferenceHypothesis("uniform", "Uniform attention", "# A null hypothesis.\n" + UNIFORM_ATTENTION),
    )


def reference(model: LoadedModel, key: str) -> ReferenceHypothesis:
    for ref in reference_hypotheses(model):
        if ref.key == key:
            return ref
    raise KeyError(key)


def reference_hypothesis(model: LoadedModel, key: str, toks: Tensor) -> Hypothesis:
    """A reference's pieces computed in this process: its text is ours (trusted) and uses no
    TransformerLens model, so no sandbox is needed."""
    namespace: dict = {}
    exec(compile(reference(model, key).source, "<reference>", "exec"), namespace)  # noqa: S102 - our own text
    heads = range(model.config.n_heads)
    patterns = np.stack([namespace["attention"](toks, h).numpy() for h in heads]).astype(np.float32)
    handles = tuple(frozenset(namespace["handles"](h)) for h in heads) if "handles" in namespace else None
    return Hypothesis(patterns=patterns, handles=handles)


def reference_results(prep) -> tuple:
    """(reference, Explanation) for every reference on the prepared evaluation set."""
    from .breakdown import explain

    return tuple(
        (ref, explain(prep, reference_hypothesis(prep.model, ref.key, prep.ctx.toks)))
        for ref in reference_hypotheses(prep.model)
    )
