"""The analyses that need a step between the model and a `sortlist_core` function: the
evaluation set built for the model, a learner's lists made into tokens, a slice, a composition.
Each is cached through `cache` like any other function of the model.

Every other analysis is a core function that pages cache where they call it, e.g.
`cache.computed(circuits.full_ov, model)` or `cache.computed(metrics.predict_lists, model, lists)`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from sortlist_app.lessons.adversarial import exercise_candidates, pick_exercise_list
from sortlist_core import ablation, adversarial, attention, circuits, metrics, mystery
from sortlist_core.checkpoint import LoadedModel
from sortlist_core.data import EVAL_SEED, EVAL_SIZE, CustomSortedListDataset, SortedListDataset

from . import cache

Lists = tuple[tuple[int, ...], ...]  # unsorted lists, hashable so they can key caches


@st.cache_resource(max_entries=16, show_spinner=False)
def dataset(
    seed: int = EVAL_SEED, size: int = EVAL_SIZE, list_len: int = 10, max_value: int = 50
) -> SortedListDataset:
    """A shared, read-only `SortedListDataset` (never mutate its tensors)."""
    return SortedListDataset(size=size, list_len=list_len, max_value=max_value, seed=seed)


def eval_dataset(model: LoadedModel, seed: int = EVAL_SEED, size: int = EVAL_SIZE) -> SortedListDataset:
    """The write-up's evaluation set (500 lists, seed 43) shaped for `model`."""
    return dataset(seed, size, model.config.list_len, model.config.max_value)


def dataset_lists(model: LoadedModel, seed: int, indices: tuple[int, ...]) -> Lists:
    """The unsorted lists at `indices` of the dataset with `seed` (for `predict_lists` etc.)."""
    rows = eval_dataset(model, seed).unsorted[list(indices)].tolist() if indices else []
    return tuple(tuple(row) for row in rows)


@cache.model_cached()
def eval_metrics(model: LoadedModel) -> metrics.Metrics:
    """Loss, probabilities on the correct label and accuracies on the evaluation set."""
    return metrics.evaluate(model, eval_dataset(model).toks)


@cache.model_cached()
def attention_patterns(model: LoadedModel, lists: Lists) -> np.ndarray:
    """float32 [list head dest src] attention patterns of the learner's (or the dataset's) lists."""
    return attention.attention_patterns(
        model, CustomSortedListDataset([list(x) for x in lists], model.config.max_value).toks
    )


@cache.model_cached()
def attention_claims(model: LoadedModel) -> attention.AttentionClaims:
    """How often the write-up's attention observations hold on the evaluation set."""
    return attention.attention_claims(model, eval_dataset(model).toks)


@cache.model_cached()
def eval_attention_misses(model: LoadedModel) -> attention.AttentionMisses:
    """Evaluation-set positions where no head attends most to the next larger value."""
    lists = dataset_lists(model, EVAL_SEED, tuple(range(EVAL_SIZE)))
    preds = cache.computed(metrics.predict_lists, model, lists)
    return attention.next_larger_misses_on(attention_patterns(model, lists), preds, model.config.sep_token)


@cache.model_cached()
def head_ablation(model: LoadedModel) -> ablation.AblationResult:
    """Loss increase from mean/zero-ablating each head on the evaluation set."""
    return ablation.head_ablation(model, eval_dataset(model).toks)


def qk_scores(model: LoadedModel, dest_token: int) -> np.ndarray:
    """[head src] one destination token's QK scores (a slice of the cached full QK)."""
    return cache.computed(circuits.full_qk, model)[:, dest_token, :]


@cache.model_cached()
def wrong_position_target(model: LoadedModel) -> metrics.SequencePrediction | None:
    """A list the model sorts wrongly, for the "where does it go wrong" exercise: the first
    preset or generated list that fails, else the best of a small search, else None."""
    target = pick_exercise_list(
        cache.computed(metrics.predict_lists, model, exercise_candidates(model.config))
    )
    if target is None:
        examples = cache.computed(adversarial.search_adversarial, model, budget=2048, seed=0).examples
        target = (
            cache.computed(metrics.predict_lists, model, (tuple(examples[0].unsorted),))[0]
            if examples
            else None
        )
    return target


def other_heads_push(model: LoadedModel, cases: list[mystery.MysteryCase]) -> list[float]:
    """Net push towards y of the heads not attributed in each case (`mystery.other_heads_push`)."""
    specs = tuple((tuple(c.unsorted), (c.x, c.y, c.z), c.head) for c in cases)
    return cache.computed(mystery.other_heads_push, model, specs)
