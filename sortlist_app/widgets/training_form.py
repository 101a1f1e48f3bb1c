"""The Model page's training section: the form (its defaults are `model_io.TrainingForm`'s,
its choices filtered by this server's limits) and the session's job (live progress, cancel,
use / download / discard the result). One run per server at a time; wording comes from
`sortlist_app.lessons.model`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from sortlist_app import model_io
from sortlist_app.lessons import model as lesson
from sortlist_app.server import model_cache
from sortlist_app.server import training_jobs as jobs
from sortlist_core import figures
from sortlist_core.checkpoint import LoadedModel

from . import prose
from .downloads import show_figure
from .session_model import set_session_model

OWNER, REFUSAL, WATCHING = "model.owner", "model.train_refusal", "model.watching_job"
F = "model.train."  # training form widget keys
DEFAULTS = model_io.TrainingForm()  # the training form starts at the form's own defaults


def _index_of(options: list, default) -> int:
    """Where `default` is among `options` (a list filtered by this server's limits), or the last
    (largest allowed) option when the limit leaves the default out."""
    return options.index(default) if default in options else len(options) - 1


def _number(column: Any, label: str, field: str, low: int, high: int, step: int = 1, **extra: Any) -> None:
    """A whole-number field of the form, keyed and started at `TrainingForm`'s `field`."""
    value = getattr(DEFAULTS, field)
    column.number_input(label, min_value=low, max_value=high, value=value, step=step, key=F + field, **extra)


def _choice(column: Any, label: str, options: list, field: str, key: str, **extra: Any) -> None:
    """A choice among `options` started at `TrainingForm`'s `field` (see `_index_of`)."""
    column.selectbox(label, options, index=_index_of(options, getattr(DEFAULTS, field)), key=F + key, **extra)


def training_section(chosen: LoadedModel | None) -> None:
    """The training form and the session's job (progress, result, use / download / discard)."""
    manager = jobs.get_manager()
    limits = jobs.training_limits()
    if OWNER not in st.session_state:
        st.session_state[OWNER] = uuid.uuid4().hex
    owner = st.session_state[OWNER]
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx is not None else None
    prose.render(lesson.TRAIN_PROSE, lesson.training_facts(manager.max_jobs))
    if not manager.enabled:
        st.info(
            "Training is turned off on this server (`SORTLIST_MAX_TRAINING_JOBS=0`). You can still upload a checkpoint.",
            icon="ℹ️",
        )

    job = manager.job_of(owner)
    running = job is not None and job.status == jobs.RUNNING

    def _start() -> None:
        s = st.session_state
        target = float(s[F + "target"])
        form = model_io.TrainingForm(
            seed=int(s[F + "seed"]),
            epochs=int(s[F + "epochs"]),
            lists_per_epoch=int(s[F + "lists_per_epoch"]),
            batch_size=int(s[F + "batch"]),
            n_heads=int(s[F + "heads"]),
            d_model=int(s[F + "d_model"]),
            list_len=int(s[F + "list_len"]),
            max_value=int(s[F + "max_value"]),
            layernorm=bool(s[F + "ln"]),
            lr=float(s[F + "lr"]),
            target_accuracy=target if target > 0 else None,
        )
        s.pop(REFUSAL, None)
        try:
            config, recipe = model_io.build_run(form, limits)
            alive = jobs.session_alive_probe(session_id) if session_id else None
            started = manager.submit(owner, config, recipe, target_accuracy=form.target_accuracy, alive=alive)
            s[WATCHING] = started.job_id
        except (jobs.JobRefused, ValueError) as exc:
            s[REFUSAL] = str(exc)

    # Enter in a field must not start a 500-step run: only the button submits.
    with st.form("model.train_form", border=True, enter_to_submit=False):
        seed_col, epochs_col, batch_col, heads_col = st.columns(4)
        _number(seed_col, "Seed", "seed", 0, 2**31 - 1)
        _number(
            epochs_col,
            "Epochs",
            "epochs",
            1,
            1_000,
            help="Each epoch is a fresh set of random lists (size under *Architecture and optimiser*); "
            f"this server allows up to {limits.max_steps:,} optimiser steps in all.",
        )
        batch_sizes = [size for size in (64, 128, 256, 512, 1024) if size <= limits.max_batch_size]
        _choice(batch_col, "Batch size", batch_sizes, "batch_size", "batch")
        _choice(heads_col, "Heads", list(range(1, limits.max_heads + 1)), "n_heads", "heads")
        with st.expander("Architecture and optimiser"):
            d_model_col, list_len_col, max_value_col, lr_col = st.columns(4)
            widths = [m for m in (32, 48, 64, 96, 128, 192, 256) if m <= limits.max_d_model]
            _choice(d_model_col, "d_model", widths, "d_model", "d_model")
            _number(list_len_col, "List length", "list_len", 3, 20)
            _number(max_value_col, "Largest value", "max_value", 8, 100)
            _choice(
                lr_col, "Peak learning rate", [1e-3, 3e-3, 1e-2], "lr", "lr", format_func=lambda v: f"{v:g}"
            )
            layernorm_col, lists_col, stop_col = st.columns([1, 1, 2])
            layernorm_col.checkbox("LayerNorm", value=DEFAULTS.layernorm, key=F + "ln")
            _number(
                lists_col,
                "Lists per epoch",
                "lists_per_epoch",
                64,
                1_000_000,
                step=1_280,
                help="The original challenge used 150,000 lists for 25 epochs.",
            )
            stop_col.slider(
                "Stop early at validation accuracy (0 = run all steps)",
                0.0,
                1.0,
                0.0,
                0.001,
                key=F + "target",
            )
        st.form_submit_button(
            "▶ Start training",
            type="primary",
            on_click=_start,
            disabled=running or not manager.enabled,
            help="One run per server at a time."
            if manager.enabled
            else "Training is turned off on this server.",
        )
    if st.session_state.get(REFUSAL):
        st.warning(f"Training did not start: {st.session_state[REFUSAL]}", icon="⏳")

    def _use(result_model, name: str) -> None:
        set_session_model(replace(result_model, name=name), model_cache.TRAINED)

    def _job_panel() -> None:
        current = manager.job_of(owner)
        if current is None:
            return
        snap = current.snapshot()
        if snap.running:
            current.heartbeat()  # this page is open: keep the run alive
            eta = f", about {jobs.duration_text(snap.eta_s)} left" if snap.eta_s is not None else ""
            st.progress(snap.fraction, text=f"Training: step {snap.step:,} of {snap.total_steps:,}{eta}")
            st.button("■ Cancel training", on_click=current.cancel, key="model.cancel")
        elif st.session_state.get(WATCHING) == snap.job_id:
            st.session_state.pop(WATCHING, None)
            st.rerun()  # the run just ended: redraw the whole page (result, form enabled)
        curve = snap.curve
        val = [c_ for c_ in curve if c_.val_accuracy is not None]
        if curve:
            show_figure(
                figures.training_curve(
                    [c_.step for c_ in curve],
                    [c_.loss for c_ in curve],
                    [c_.step for c_ in val],
                    [c_.val_accuracy for c_ in val],
                ),
                "training progress",
                data=jobs.describe(snap),
            )
        if snap.running:
            return
        if snap.status == jobs.FAILED or snap.result is None:
            st.error(f"{lesson.status_sentence(snap.status)} {snap.error or ''}", icon="🚫")
        else:
            res = snap.result
            meta = res.metadata
            st.success(lesson.finished_sentence(snap.status, meta), icon="🏁")
            name = model_io.trained_name(res.config, snap.recipe, meta.steps)
            in_use = chosen is not None and chosen.weights_sha256 == res.model.weights_sha256
            use_col, download_col, discard_col, _ = st.columns([1.3, 1.3, 1, 2])
            use_col.button(
                "✔ Use this model",
                type="primary",
                on_click=_use,
                args=(res.model, name),
                disabled=in_use,
                key="model.use_trained",
            )
            download_col.download_button(
                "Download checkpoint",
                icon=":material/download:",
                data=model_io.trained_checkpoint(res.model),
                file_name=f"sortlist_trained_seed{snap.recipe.seed}_{res.model.short_id}.pt",
                mime="application/octet-stream",
                key="model.download_trained",
                on_click="ignore",
            )
            discard_col.button("Discard", on_click=manager.dismiss, args=(owner,), key="model.discard")
            if in_use:
                st.caption("This session is using this model.")

    if job is not None:
        if running:
            st.fragment(run_every=2.0)(_job_panel)()
        else:
            _job_panel()
    elif manager.running():
        st.caption(lesson.others_training_sentence(len(manager.running())))
