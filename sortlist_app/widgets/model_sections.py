"""The Model page's sections about the model in use: its metadata, training curve and report
downloads, getting the original challenge model, and uploading a checkpoint. Training a new
model is `training_form`'s. Wording comes from `sortlist_app.lessons.model`."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from sortlist_app import model_io
from sortlist_app.lessons import model as lesson
from sortlist_app.lessons.wording import metrics_facts
from sortlist_app.server import model_cache
from sortlist_app.server.run_gate import RUN_GATE
from sortlist_core import fetch, figures
from sortlist_core.checkpoint import CheckpointError, LoadedModel
from sortlist_core.data import EVAL_SEED
from sortlist_core.report import build_report, report_markdown

from . import analyses, cache, prose
from .downloads import json_bytes, show_figure
from .session_model import (
    ORIGINAL_LABEL,
    ServerModelFile,
    bundled_choice,
    current_model,
    set_session_model,
)

UPLOAD, UPLOAD_SEEN, UPLOAD_OUTCOME = "model.upload", "model.upload_seen", "model.upload_outcome"
FETCH_OUTCOME = "model.fetch_outcome"  # (where, ok, message) of the last "Get the original" click


def model_in_use(default: ServerModelFile, model: LoadedModel | None, chosen: LoadedModel | None) -> None:
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
        elif bundled_choice() is not None:
            source = "a bundled model, chosen in the sidebar"
        else:
            source = "the default model"
        st.markdown(f"**{model.name}** ({source}), fingerprint `{model.short_id}`.")
        metrics = analyses.eval_metrics(model)
        prose.render(lesson.METRICS_PROSE, metrics_facts(metrics, EVAL_SEED))
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
                on_click=set_session_model,
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
            data=lambda: json_bytes(cache.computed(build_report, model)),
            file_name=f"sortlist_report_{slug}.json",
            mime="application/json",
            key="model.report_json",
            on_click="ignore",
            icon=":material/download:",
        )
        reports.download_button(
            "Report (Markdown)",
            data=lambda: report_markdown(cache.computed(build_report, model)).encode(),
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
        previous = current_model(explain=False)
        with st.spinner("Checking the checkpoint…"):
            outcome = _check_file(uploaded.name, uploaded.getvalue(), limit)
        if outcome.ok:
            set_session_model(outcome.model, model_cache.UPLOAD)
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
            + f" Its sha256 is the original challenge model's: it is listed as **{ORIGINAL_LABEL}**.",
        )
    return outcome


def original_model_button(where: str) -> None:
    """ "Get the original challenge model": download it (with progress) through
    `sortlist_core.fetch`, then switch to it; on failure, fetch's message with the manual route.
    `where` keeps the buttons of the sidebar and the Model page apart."""
    st.caption(
        f'ARENA\'s checkpoint for its October 2023 monthly algorithmic problem "Sorted List" '
        f"({fetch.EXPECTED_SIZE:,} bytes, checked against its sha256). It is downloaded once into "
        "your cache directory, then appears in the model switcher as "
        f"**{ORIGINAL_LABEL}**."
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
            set_session_model(replace(model, name=ORIGINAL_LABEL), model_cache.ORIGINAL)
            st.session_state[FETCH_OUTCOME] = (
                where,
                True,
                f"Every page now analyses **{ORIGINAL_LABEL}** (fingerprint `{model.short_id}`).",
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
            f"Every page now analyses **{ORIGINAL_LABEL}** (fingerprint `{model.short_id}`).", icon="✅"
        )
    else:
        st.caption(f"Already loaded in this session: choose **{ORIGINAL_LABEL}** in the sidebar's switcher.")
