"""The Model page's three sections: the model in use (metadata, training curve, report
downloads), uploading a checkpoint, and training a new model (one run per server, live progress,
cancellable). Wording comes from `sortlist_app.lessons.model`."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from sortlist_app import model_io
from sortlist_app.lessons import model as lesson
from sortlist_app.lessons.wording import metrics_facts
from sortlist_app.server import model_cache
from sortlist_app.server import training_jobs as jobs
from sortlist_app.server.run_gate import RUN_GATE
from sortlist_core import fetch, figures
from sortlist_core.checkpoint import CheckpointError, LoadedModel

from . import prose, state
from .downloads import json_bytes, show_figure

UPLOAD, UPLOAD_SEEN, UPLOAD_OUTCOME = "model.upload", "model.upload_seen", "model.upload_outcome"
OWNER, REFUSAL, WATCHING = "model.owner", "model.train_refusal", "model.watching_job"
F = "model.train."  # training form widget keys
FETCH_OUTCOME = "model.fetch_outcome"  # (where, ok, message) of the last "Get the original" click
DEFAULTS = model_io.TrainingForm()  # the training form starts at the form's own defaults


def _index_of(options: list, default) -> int:
    """Where `default` is among `options` (a list filtered by this server's limits), or the last
    (largest allowed) option when the limit leaves the default out."""
    return options.index(default) if default in options else len(options) - 1


def model_in_use(
    default: state.ServerModelFile, model: LoadedModel | None, chosen: LoadedModel | None
) -> None:
    """The model this session analyses, with its metadata and the full report."""
    if default.model is None:
        st.warning(
            f"**The default model is unavailable.** {default.problem} Upload a checkpoint or train a model below; "
            "every page will use it for this session.",
            icon="⚠️",
        )
    if model is None:
        st.info("No model is loaded for this session yet.", icon="ℹ️")
    else:
        if chosen is not None:
            source = "chosen on this page for this session"
        elif state.bundled_choice() is not None:
            source = "a bundled model, chosen in the sidebar"
        else:
            source = "the default model"
        st.markdown(f"**{model.name}** ({source}), fingerprint `{model.short_id}`.")
        metrics = state.eval_metrics(model)
        prose.render(lesson.METRICS_PROSE, metrics_facts(metrics, state.EVAL_SEED))
        # static tables, full width: hashes and the recipe are read whole, not scrolled
        st.table(pd.DataFrame(model_io.model_rows(model)), hide_index=True, border="horizontal")
        meta = model_io.metadata_rows(model.metadata)
        if meta:
            st.markdown("**Training metadata**")
            st.table(pd.DataFrame(meta), hide_index=True, border="horizontal")
        else:
            st.caption("This checkpoint carries no training metadata.")
        history = model.metadata.get("history") if isinstance(model.metadata.get("history"), list) else None
        if history:
            with st.expander("Training curve of this model"):
                show_figure(
                    figures.training_curve(
                        [h["step"] for h in history],
                        [h["loss"] for h in history],
                        [h["step"] for h in history],
                        [h["val_accuracy"] for h in history],
                        title="Training history (mean loss between validations; validation accuracy)",
                    ),
                    "training history",
                    data=history,
                )
        if chosen is not None and default.model is not None:
            st.button(
                "↩ Back to the default model",
                on_click=state.set_session_model,
                args=(None,),
                key="model.use_default",
            )

        # ----------------------------------------------------------------------- report
        st.subheader("Full report")
        st.markdown(
            "Every analysis of this app on the current model (metrics, attention claims, head ablation, "
            "which head copies which tokens, the mystery), as JSON data or as a readable Markdown report. "
            "It is computed when you click (a few seconds)."
        )
        slug = model.short_id
        reports = st.container(horizontal=True)
        reports.download_button(
            "Report (JSON)",
            data=lambda: json_bytes(state.report(model)),
            file_name=f"sortlist_report_{slug}.json",
            mime="application/json",
            key="model.report_json",
            on_click="ignore",
            icon=":material/download:",
        )
        reports.download_button(
            "Report (Markdown)",
            data=lambda: state.report_markdown(state.report(model)).encode(),
            file_name=f"sortlist_report_{slug}.md",
            mime="text/markdown",
            key="model.report_md",
            on_click="ignore",
            icon=":material/download:",
        )


def upload_section(chosen: LoadedModel | None) -> None:
    """Upload a checkpoint; a bad one is refused and the session keeps its model."""
    server_max = st.get_option("server.maxUploadSize")
    limit = model_io.upload_limit_bytes(server_max)
    transport = model_io.transport_limit_mb(server_max, limit)
    prose.render(lesson.UPLOAD_PROSE, {"limit": f"{limit / (1024 * 1024):.0f} MB"})
    # No `type=` filter: the browser would refuse a wrong file with a chip of its own (reason on
    # hover only) next to the previous file's. Every file reaches `_check_file`, which names it.
    uploaded = st.file_uploader(
        "Checkpoint file",
        key=UPLOAD,
        max_upload_size=transport,
        help="A torch.save file: a HookedTransformer state dict or a checkpoint downloaded from this page.",
    )
    if transport * 1024 * 1024 > limit:
        st.caption(
            f"A checkpoint over {limit / (1024 * 1024):.0f} MB is refused with a message here. The box's "
            f"{transport} MB is the most the server takes at all: a file over it is refused by the browser "
            "(a red mark on its chip, the reason on hover), and this session keeps its model."
        )
    if uploaded is not None and st.session_state.get(UPLOAD_SEEN) != uploaded.file_id:
        st.session_state[UPLOAD_SEEN] = uploaded.file_id
        previous = state.current_model(explain=False)
        with st.spinner("Checking the checkpoint…"):
            outcome = _check_file(uploaded.name, uploaded.getvalue(), limit)
        if outcome.ok:
            state.set_session_model(outcome.model, model_cache.UPLOAD)
            st.session_state[UPLOAD_OUTCOME] = (
                uploaded.file_id,
                True,
                outcome.message,
                outcome.model.weights_sha256,
            )
            st.rerun()  # the sidebar and the section above show the new model
        kept = f" This session keeps **{previous.name}**." if previous is not None else ""
        st.session_state[UPLOAD_OUTCOME] = (uploaded.file_id, False, outcome.message + kept, None)
    shown = st.session_state.get(UPLOAD_OUTCOME)
    # Only the outcome of the file now in the uploader: never an earlier file's alert.
    if shown is not None and uploaded is not None and shown[0] == uploaded.file_id:
        file_id, ok, message, sha = shown
        if not ok:
            st.error(message, icon="🚫")
        elif chosen is not None and chosen.weights_sha256 == sha:
            st.success(message, icon="✅")
        else:
            st.caption(
                f"`{uploaded.name}` was loaded earlier; this session now uses another model. Upload it again to switch back."
            )


def upload_type_problem(name: str) -> str | None:
    """Why a file of this name is not taken as a checkpoint (its extension), naming it; None if it is."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in model_io.UPLOAD_TYPES:
        return None
    shown = name if len(name) <= 80 else name[:79] + "…"
    kinds = ", ".join(f".{t}" for t in model_io.UPLOAD_TYPES)
    return f"**{shown}** is not a checkpoint file: its name must end in {kinds} (a `torch.save` file)."


def _check_file(name: str, data: bytes, limit: int) -> model_io.UploadOutcome:
    """`model_io.check_upload` after the extension check; the original file is named as such."""
    problem = upload_type_problem(name)
    if problem is not None:
        return model_io.UploadOutcome(None, problem)
    outcome = model_io.check_upload(name, data, limit)
    if outcome.ok and fetch.is_original(outcome.model):
        outcome = replace(
            outcome,
            message=outcome.message
            + f" Its sha256 is the original challenge model's: it is listed as **{state.ORIGINAL_LABEL}**.",
        )
    return outcome


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
        seed_col.number_input(
            "Seed", min_value=0, max_value=2**31 - 1, value=DEFAULTS.seed, step=1, key=F + "seed"
        )
        epochs_col.number_input(
            "Epochs",
            min_value=1,
            max_value=1_000,
            value=DEFAULTS.epochs,
            step=1,
            key=F + "epochs",
            help="Each epoch is a fresh set of random lists (size under *Architecture and optimiser*); "
            f"this server allows up to {limits.max_steps:,} optimiser steps in all.",
        )
        batch_sizes = [size for size in (64, 128, 256, 512, 1024) if size <= limits.max_batch_size]
        batch_col.selectbox(
            "Batch size", batch_sizes, index=_index_of(batch_sizes, DEFAULTS.batch_size), key=F + "batch"
        )
        head_counts = list(range(1, limits.max_heads + 1))
        heads_col.selectbox(
            "Heads", head_counts, index=_index_of(head_counts, DEFAULTS.n_heads), key=F + "heads"
        )
        with st.expander("Architecture and optimiser"):
            d_model_col, list_len_col, max_value_col, lr_col = st.columns(4)
            widths = [m for m in (32, 48, 64, 96, 128, 192, 256) if m <= limits.max_d_model]
            d_model_col.selectbox(
                "d_model", widths, index=_index_of(widths, DEFAULTS.d_model), key=F + "d_model"
            )
            list_len_col.number_input(
                "List length", min_value=3, max_value=20, value=DEFAULTS.list_len, step=1, key=F + "list_len"
            )
            max_value_col.number_input(
                "Largest value",
                min_value=8,
                max_value=100,
                value=DEFAULTS.max_value,
                step=1,
                key=F + "max_value",
            )
            rates = [1e-3, 3e-3, 1e-2]
            lr_col.selectbox(
                "Peak learning rate",
                rates,
                index=_index_of(rates, DEFAULTS.lr),
                format_func=lambda v: f"{v:g}",
                key=F + "lr",
            )
            layernorm_col, lists_col, stop_col = st.columns([1, 1, 2])
            layernorm_col.checkbox("LayerNorm", value=DEFAULTS.layernorm, key=F + "ln")
            lists_col.number_input(
                "Lists per epoch",
                min_value=64,
                max_value=1_000_000,
                value=DEFAULTS.lists_per_epoch,
                step=1_280,
                key=F + "lists_per_epoch",
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
        state.set_session_model(replace(result_model, name=name), model_cache.TRAINED)

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


def original_model_button(where: str) -> None:
    """ "Get the original challenge model": download it (with progress) through
    `sortlist_core.fetch`, then switch to it; on failure, fetch's message with the manual route.
    `where` keeps the buttons of the sidebar and the Model page apart."""
    st.caption(
        f'ARENA\'s checkpoint for its October 2023 monthly algorithmic problem "Sorted List" '
        f"({fetch.EXPECTED_SIZE:,} bytes, checked against its sha256). It is downloaded once into "
        "your cache directory, then appears in the model switcher as "
        f"**{state.ORIGINAL_LABEL}**."
    )
    if st.button("⬇ Get the original challenge model", key=f"model.fetch.{where}"):
        RUN_GATE.step_aside()  # a download waits on the network: other learners' runs go first
        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int | None) -> None:
            size = total or fetch.EXPECTED_SIZE
            bar.progress(min(done / size, 1.0), text=f"Downloading: {done:,} of {size:,} bytes")

        try:
            model = fetch.load_original_model(progress=progress)
        except fetch.FetchError as exc:
            bar.empty()
            st.session_state[FETCH_OUTCOME] = (where, False, str(exc))
        except CheckpointError as exc:
            bar.empty()
            st.session_state[FETCH_OUTCOME] = (where, False, f"The downloaded file did not load: {exc}.")
        else:
            state.set_session_model(replace(model, name=state.ORIGINAL_LABEL), model_cache.ORIGINAL)
            st.session_state[FETCH_OUTCOME] = (
                where,
                True,
                f"Every page now analyses **{state.ORIGINAL_LABEL}** (fingerprint `{model.short_id}`).",
            )
            st.rerun()  # the sidebar, drawn before this button, shows the new model
    outcome = st.session_state.get(FETCH_OUTCOME)
    if outcome is not None and outcome[0] == where:
        _, ok, message = outcome
        if ok:
            st.success(message, icon="✅")
        else:
            st.error(f"**The original model could not be downloaded.** {message}", icon="🚫")


def original_loaded_note(model: LoadedModel | None) -> None:
    """In place of the download button once the original model is in this session."""
    if model is not None and fetch.is_original(model):
        st.success(
            f"Every page now analyses **{state.ORIGINAL_LABEL}** (fingerprint `{model.short_id}`).", icon="✅"
        )
    else:
        st.caption(
            f"Already loaded in this session: choose **{state.ORIGINAL_LABEL}** in the sidebar's switcher."
        )
