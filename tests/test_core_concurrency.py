"""The loaded model is shared by every session: concurrent analyses must equal serial ones,
and nothing an analysis does (even one that fails) may leave state on the model."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from sortlist_core import SortedListDataset, load_checkpoint
from sortlist_core.ablation import head_ablation
from sortlist_core.adversarial import predict_lists, search_adversarial
from sortlist_core.attention import attention_claims, attention_patterns
from sortlist_core.metrics import evaluate
from sortlist_core.model import run
from sortlist_core.mystery import DEFAULT_MYSTERY_LISTS, dla_yz


def _calls(model):
    """50 mixed calls, each returning plain data to compare exactly."""
    calls = []
    for i in range(50):
        toks = SortedListDataset(8 + i % 5, seed=100 + i).toks
        kind = i % 6
        if kind == 0:
            calls.append(lambda t=toks: evaluate(model, t).to_dict())
        elif kind == 1:
            calls.append(lambda t=toks: attention_patterns(model, t).tobytes())
        elif kind == 2:
            calls.append(lambda t=toks: head_ablation(model, t).to_dict())
        elif kind == 3:
            lst, xyz = DEFAULT_MYSTERY_LISTS[i % 4]
            calls.append(lambda lst=lst, xyz=xyz: dla_yz(model, lst, *xyz).to_dict())
        elif kind == 4:
            calls.append(
                lambda s=i: search_adversarial(model, budget=600, seed=s, batch_size=300).to_dict()[
                    "examples"
                ]
            )
        else:
            calls.append(
                lambda t=toks: (
                    [p.to_dict() for p in predict_lists(model, t[:, :10].tolist())],
                    attention_claims(model, t).to_dict(),
                )
            )
    return calls


def test_eight_threads_equal_serial(reference_model, reference_path):
    # The baseline runs one call at a time on a separately loaded copy, so it shares no state
    # with the model the threads use.
    serial = [call() for call in _calls(load_checkpoint(reference_path))]
    # Most calls give different answers (the mystery lists repeat), so results crossed
    # between threads would show as a mismatch.
    assert len({repr(result) for result in serial}) > 0.8 * len(serial)
    calls = _calls(reference_model)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(2):
            concurrent = list(pool.map(lambda c: c(), calls))
            assert concurrent == serial


def test_failed_analysis_leaves_model_unchanged(reference_model):
    w = reference_model.weights
    before = {k: v.clone() for k, v in vars(w).items() if isinstance(v, torch.Tensor)}
    toks = SortedListDataset(4, seed=1).toks
    expected = run(w, toks).logits
    expected_metrics = evaluate(reference_model, toks).to_dict()

    def exploding_edit(head_out):
        raise RuntimeError("boom inside an analysis")

    with pytest.raises(RuntimeError, match="boom"):
        run(w, toks, exploding_edit)
    for name, tensor in before.items():
        assert torch.equal(getattr(w, name), tensor), name
    assert torch.equal(run(w, toks).logits, expected)
    assert evaluate(reference_model, toks).to_dict() == expected_metrics
