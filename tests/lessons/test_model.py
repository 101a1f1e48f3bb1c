"""The Model page's wording (`sortlist_app/lessons/model.py`) as pure functions."""

from __future__ import annotations

from types import SimpleNamespace

from sortlist_app.lessons import model as lesson
from sortlist_app.lessons.wording import metrics_facts
from sortlist_app.server import training_jobs as jobs
from sortlist_core.data import EVAL_SEED, EVAL_SIZE
from sortlist_core.metrics import evaluate


def test_metrics_facts(reference_model, eval_toks):
    metrics = evaluate(reference_model, eval_toks)
    facts = metrics_facts(metrics, EVAL_SEED)
    assert facts["n_lists"] == EVAL_SIZE and facts["seed"] == EVAL_SEED
    assert facts["accuracy"] == f"{metrics.accuracy:.1%}" and facts["loss"] == f"{metrics.loss:.3f}"


def test_training_sentences():
    assert lesson.training_facts(1)["max_jobs"] == "1 training run"
    assert lesson.training_facts(3)["max_jobs"] == "3 training runs"
    assert {
        lesson.status_sentence(s) for s in (jobs.DONE, jobs.CANCELLED, jobs.ABANDONED, jobs.FAILED)
    } == set(lesson.STATUS_SENTENCES.values())
    meta = SimpleNamespace(
        val_accuracy=0.9876, best_step=1200, steps=1500, wall_time_s=61.4, eval_loss=0.04321
    )
    text = lesson.finished_sentence(jobs.CANCELLED, meta)
    assert (
        text.startswith("Training was cancelled")
        and "98.76% at step 1,200 of 1,500 (61 s); loss 0.043" in text
    )
    assert lesson.others_training_sentence(2).endswith("(2 runs).")
