"""The Model page's wording: template values and the sentences about training runs (pure
functions, no streamlit; `model_metrics` is filled by `wording.metrics_facts`). The page has
no exercises and no URL parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sortlist_app.server.training_jobs import ABANDONED, CANCELLED, DONE, FAILED

from .spec import Lesson
from .wording import Values, count

if TYPE_CHECKING:  # annotation only: the lesson stays free of torch
    from sortlist_core.training import TrainingMetadata

# training_jobs states -> what the learner reads when a run ends
STATUS_SENTENCES = {
    DONE: "Training finished.",
    CANCELLED: "Training was cancelled; the best weights so far are kept.",
    ABANDONED: "Training stopped because its page was closed; the best weights so far are kept.",
    FAILED: "Training failed.",
}


def training_facts(max_jobs: int) -> Values:
    """The `model_train` template."""
    return {"max_jobs": count(max_jobs, "training run"), "val_size": "2,000"}


def status_sentence(status: str) -> str:
    return STATUS_SENTENCES.get(status, status)


def finished_sentence(status: str, meta: TrainingMetadata) -> str:
    """A finished run's result, from its `TrainResult.metadata`."""
    return (
        f"{status_sentence(status)} Best validation accuracy {meta.val_accuracy:.2%} at step {meta.best_step:,} "
        f"of {meta.steps:,} ({meta.wall_time_s:.0f} s); loss {meta.eval_loss:.3f} on the evaluation set."
    )


def others_training_sentence(n_running: int) -> str:
    return f"Another session is training a model on this server right now ({count(n_running, 'run')})."


# --------------------------------------------------------------------------- the page, declared once
LESSON = Lesson(key="model", path="pages/6_model.py", order=70, title="Model", icon="📦")
