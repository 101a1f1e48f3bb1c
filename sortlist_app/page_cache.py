"""Cached analyses for the Adversarial, Mystery and Model pages (same rules as `state.py`:
keyed by the model's weights fingerprint plus hashable arguments, bounded)."""

from __future__ import annotations

from typing import Any

from sortlist_core import adversarial as _adversarial
from sortlist_core import mystery as _mystery
from sortlist_core import report as _report
from sortlist_core.checkpoint import LoadedModel

from . import adversarial_facts
from .state import model_cached


@model_cached(max_entries=8)
def accuracy_maps(model: LoadedModel) -> list[_adversarial.AccuracyMap]:
    """Accuracy over structured families of lists (a few seconds; cached per model)."""
    return _adversarial.family_accuracy_maps(model)


@model_cached(max_entries=8)
def family_rates(model: LoadedModel) -> adversarial_facts.FamilyRates:
    return adversarial_facts.family_failure_rates(model)


@model_cached(max_entries=8)
def quick_search(model: LoadedModel, budget: int = 2048, seed: int = 0) -> _adversarial.SearchResult:
    """A small search, used to find an exercise list when no preset goes wrong."""
    return _adversarial.search_adversarial(model, budget=budget, seed=seed)


@model_cached(max_entries=64)
def mystery_case(
    model: LoadedModel, unsorted: tuple[int, ...], xyz: tuple[int, int, int], head: int | None
) -> _mystery.MysteryCase:
    return _mystery.dla_yz(model, list(unsorted), *xyz, head=head)


@model_cached(max_entries=8)
def offset_profile(model: LoadedModel) -> _mystery.OffsetProfile:
    return _mystery.ov_offset_profile(model)


@model_cached(max_entries=8)
def direct_path_experiment(model: LoadedModel) -> _mystery.DirectPathExperiment:
    return _mystery.direct_path_experiment(model)


@model_cached(max_entries=4)
def report(model: LoadedModel) -> dict[str, Any]:
    """`build_report` (JSON-ready) for the Model page's downloads."""
    return _report.build_report(model)


def report_markdown(report_dict: dict[str, Any]) -> str:
    return _report.report_markdown(report_dict)
