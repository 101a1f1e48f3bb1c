"""Explain it: the learner states how the model sorts as code, and the app tests it causally.

- `hypothesis`: what comes back from the sandbox and the checks with teaching-assistant messages;
- `splice`: the patched forward pass (patterns, mean ablation outside a head's values, OV);
- `score`: loss, accuracy and the fraction of loss recovered, next to the baselines;
- `breakdown`: where it breaks (positions, values, the lists differing most from the model);
- `pair_checks`: claims about weights checked on every (query, key) token pair;
- `references`: ready-made hypotheses with this model's numbers;
- `run`: running a hypothesis's code in the sandboxed runner.
"""

from .breakdown import Explanation, Prepared, WorstList, explain, prepare
from .hypothesis import Hypothesis, HypothesisError
from .pair_checks import PairCheck, pair_checks
from .references import ReferenceHypothesis, reference, reference_hypotheses
from .run import HypothesisRun, hypothesis_in_process, run_hypothesis

__all__ = [
    "Explanation",
    "Hypothesis",
    "HypothesisError",
    "HypothesisRun",
    "PairCheck",
    "Prepared",
    "ReferenceHypothesis",
    "WorstList",
    "explain",
    "hypothesis_in_process",
    "pair_checks",
    "prepare",
    "reference",
    "reference_hypotheses",
    "run_hypothesis",
]
