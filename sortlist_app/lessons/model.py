"""The Model page's wording: its prose templates, their values and the sentences about training
runs (pure functions, no streamlit; `METRICS_PROSE` is filled by `wording.metrics_facts`). The
page has no exercises and no URL parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sortlist_app.server.training_jobs import ABANDONED, CANCELLED, DONE, FAILED

from .spec import Lesson
from .wording import Values, count

if TYPE_CHECKING:  # annotation only: the lesson stays free of torch
    from sortlist_core.training import TrainingMetadata

# --------------------------------------------------------------------------- teaching text
# The page's prose, in the order it shows it: markdown templates filled by `wording.fill` with
# the measured values of the functions below (every `{name}` needs a value, else `KeyError`) and
# shown by `widgets.prose.render`.

INTRO_PROSE = """\
Every page analyses **the model chosen here** or in the sidebar's model switcher, for this browser
session only: other learners on the same server keep their own choice. Start with a bundled model,
get the original model of ARENA's October 2023 monthly algorithmic problem "Sorted List", upload a
checkpoint (its `HookedTransformer` state dict, or a file saved by this app), or train a new one
and see whether it finds the same algorithm. The page's address carries the model's fingerprint,
so a reload keeps the model and a shared link says which model its numbers come from.
"""

METRICS_PROSE = """\
On the write-up's evaluation set ({n_lists} lists, seed {seed}) this model's loss is **{loss}**;
it predicts {accuracy} of the sorted-half tokens correctly and sorts {sequence_accuracy} of the
lists without a mistake.
"""

UPLOAD_PROSE = """\
Upload a checkpoint of up to **{limit}**. It is opened with `torch.load(weights_only=True)`, so a
file that would run code when unpickled is rejected before anything in it executes. Its
configuration (list length, value range, heads, LayerNorm) is read from the weight shapes and
checked, and every value must be finite. If anything is wrong the page says what, and this
session keeps the model it had.
"""

TRAIN_PROSE = """\
Train a fresh 1-layer attention-only model on random lists (AdamW, linear warm-up then decay;
every batch is newly drawn, so an epoch is a fresh set of random lists). The run validates every
few steps on {val_size} held-out lists and keeps the weights with the best validation accuracy;
the progress bar shows the time left at the current pace. Only **{max_jobs}** can run on this
server at a time, so that the app stays responsive for everyone; a run stops if you cancel it or
close the tab.
"""


# training_jobs states -> what the learner reads when a run ends
STATUS_SENTENCES = {
    DONE: "Training finished.",
    CANCELLED: "Training was cancelled; the best weights so far are kept.",
    ABANDONED: "Training stopped because its page was closed; the best weights so far are kept.",
    FAILED: "Training failed.",
}


def training_facts(max_jobs: int) -> Values:
    """The values of `TRAIN_PROSE`."""
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
