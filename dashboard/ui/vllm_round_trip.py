"""The vLLM round trip in the Jobs page (contract 11): the opened job's JSONL to download with
the command that runs it on a GPU machine, and the upload of the output file it writes.

Shown for a job exported for vLLM (New job's "Export for vLLM"), and for one whose results came
from vLLM; importing the same file again changes nothing, a wrong file is one plain sentence.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from batchdash.errors import BatchdashError
from batchdash.i18n import Message, _, n_, n_l
from batchdash.jobs.board import JobBoard
from batchdash.jobs.offline import Export
from batchdash.jobs.status import JobStatus
from batchdash.results.vllm_lines import IMPORTED_PREFIX
from ui import state
from ui.job_access import attempt
from ui.job_actions import tell
from ui.text import plain


def show_vllm_round_trip(board: JobBoard, status: JobStatus) -> None:
    """The files to run and the upload of their output, for a job that runs on vLLM."""
    imported = any(batch.id.startswith(IMPORTED_PREFIX) for batch in status.batches)
    if not status.exported and not imported:
        return
    st.markdown(f"**{_('Run on vLLM')}**")
    if status.exported:
        _show_files(board, status)
    else:
        _offer_export(board, status)
    _import_form(board, status)


@st.cache_data(max_entries=8, show_spinner=False)
def _waiting_files(
    job_id: str, scope: str, exported: int, parts: int, _board: JobBoard
) -> Export | BatchdashError:
    """The job's files waiting for vLLM, built once (a part's JSONL is its rows rendered
    again), or why they cannot be (the error, worded when shown: a cached text would keep its
    language); the job's rows waiting and its parts name the entry."""
    try:
        return _board.service.export(job_id)
    except BatchdashError as error:
        return error


def _show_files(board: JobBoard, status: JobStatus) -> None:
    with st.spinner(_("Preparing the file for vLLM…")):
        export = _waiting_files(
            status.job_id, board.service.scope, status.exported, status.parts, board
        )
    if isinstance(export, BatchdashError):
        st.error(plain(export), icon=":material/error:")
        return
    st.caption(
        n_(
            "{n:,} row waits for vLLM's answers. Download the file, run the command below on a "
            "machine with vLLM and the model, then upload the output file it writes.",
            "{n:,} rows wait for vLLM's answers. Download the file, run the command below on a "
            "machine with vLLM and the model, then upload the output file it writes.",
            export.rows,
        )
    )
    with st.container(horizontal=True):
        for part in export.parts:
            st.download_button(
                _("Download {name}", name=plain(part.name)),
                part.data,
                file_name=part.name,
                mime="application/jsonl",
                icon=":material/download:",
                key=f"vllm_download_{status.job_id}_{part.part_number}",
                on_click="ignore",
            )
    st.code(export.command(), language="bash", wrap_lines=True)


def _offer_export(board: JobBoard, status: JobStatus) -> None:
    left = status.counts.get("error", 0) + status.counts.get("not_run", 0)
    if not left:
        return
    st.caption(
        n_(
            "{n:,} row has no answer yet: export it to run it on vLLM again.",
            "{n:,} rows have no answer yet: export them to run them on vLLM again.",
            left,
        )
    )
    if not st.button(
        n_("Export {n:,} row for vLLM", "Export {n:,} rows for vLLM", left),
        key=f"vllm_export_{status.job_id}",
        icon=":material/output:",
    ):
        return
    if attempt(lambda: board.service.export(status.job_id)) is not None:
        _done(
            board,
            status,
            n_l(
                "{n:,} row of {name} is ready to run on vLLM.",
                "{n:,} rows of {name} are ready to run on vLLM.",
                left,
                name=status.name,
            ),
        )


def _forget_refusal() -> None:
    st.session_state[state.VLLM_IMPORT_REFUSED] = None


def _import_form(board: JobBoard, status: JobStatus) -> None:
    # In a keyed container of its own, like the job's box around it, the uploader stays the
    # same in the browser whatever the job's box draws above it: one drawn anew forgets the
    # file it is uploading (picking a file in place of another runs the page before the new
    # file has arrived, and a quiet run before that one drew fewer elements).
    with st.container(key=f"vllm_import_form_{status.job_id}"):
        _import_widgets(board, status)


def _import_widgets(board: JobBoard, status: JobStatus) -> None:
    uploaded = st.file_uploader(
        _("vLLM's output file"),
        type=["jsonl"],
        key=f"vllm_upload_{status.job_id}",
        on_change=_forget_refusal,
        help=_(
            "The file run-batch wrote (its -o file). Its rows are merged by custom_id; rows it "
            "left out stay without an answer and can be exported again."
        ),
    )
    refused = st.session_state[state.VLLM_IMPORT_REFUSED]
    if uploaded is None:
        return
    if refused is not None and refused[0] == status.job_id:
        st.error(plain(refused[1]), icon=":material/error:")
    if not st.button(
        _("Import the results"),
        key=f"vllm_import_{status.job_id}",
        type="primary",
        icon=":material/upload:",
    ):
        return
    try:
        report = board.service.import_results(status.job_id, uploaded.getvalue(), uploaded.name)
    except BatchdashError as error:
        # Drawn again from the top: the notice of an earlier import must not stand beside it.
        st.session_state[state.JOBS_NOTICE] = None
        # The error itself, worded when shown: the language may change before that.
        st.session_state[state.VLLM_IMPORT_REFUSED] = (status.job_id, error)
        _redraw()
    _done(board, status, report.describe())


def _done(board: JobBoard, status: JobStatus, notice: str | Message) -> None:
    """Say what happened at the top of the page and draw it again with the job's new status."""
    board.forget(status.job_id)
    _forget_refusal()
    tell(notice)
    _redraw()


def _redraw() -> NoReturn:
    st.session_state[state.JOBS_QUIET_RUN] = True
    st.rerun()
