"""A direct job's run on the Jobs page: its progress while it runs (the page's timer redraws
it), and what became of a run that is not going on any more, with Resume."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from batchdash.direct.progress import DirectProgress
from batchdash.i18n import Message, _, _l, n_
from batchdash.jobs.board import JobBoard
from batchdash.jobs.status import JobStatus
from ui import direct_runs
from ui.text import plain


def resume_stopped(board: JobBoard, statuses: Sequence[JobStatus]) -> list[Message]:
    """Resume, in this server, the direct runs nobody runs any more (the server restarted, the
    command line running one was stopped), as a refresh sends the parts a stopped submission
    left; a run this server stopped on an error waits for the analyst. What was resumed."""
    resumed: list[Message] = []
    for status in statuses:
        direct = status.direct
        if direct is None or direct.state != "stopped" or status.state != "active":
            continue
        if direct_runs.handle(status.job_id) is not None:
            continue  # this server ran it: it ended on an error shown with Resume
        direct_runs.start(board.service, status.job_id)
        board.forget(status.job_id)
        resumed.append(
            _l(
                "The direct run of {name} had stopped (the app restarted, or the process "
                "running it ended): it goes on here now.",
                name=status.name,
            )
        )
    return resumed


def show_direct_run(board: JobBoard, status: JobStatus) -> None:
    """The opened job's direct run: a bar and the counts, and Resume when it stopped."""
    progress = status.direct
    if progress is None or progress.state == "none":
        return
    words = direct_runs.progress_words(progress)
    if progress.state == "done":  # the job's own status line says how its rows ended
        st.caption(
            n_(
                "Sent directly: {progress}; {n:,} call made.",
                "Sent directly: {progress}; {n:,} calls made.",
                progress.calls,
                progress=plain(words),
            )
        )
        return
    share = progress.recorded / progress.rows if progress.rows else 1.0
    st.progress(min(share, 1.0), text=plain(words))
    _counts(progress)
    if progress.state == "running":
        st.caption(
            _("Sending directly; the page refreshes by itself until every row has its answer.")
        )
    elif progress.state == "cancelling":
        st.caption(_("Cancelling: the calls under way finish, the rows not sent end cancelled."))
    elif progress.state == "stopped":
        _stopped(board, status, progress)


def _counts(progress: DirectProgress) -> None:
    with st.container(horizontal=True):
        st.metric(_("Answered"), f"{progress.answered:,}", border=True)
        st.metric(_("Failed"), f"{progress.failed:,}", border=True)
        st.metric(_("In flight"), f"{progress.in_flight:,}", border=True)
        st.metric(_("Left"), f"{progress.left:,}", border=True)
        st.metric(
            _("Calls made"),
            f"{progress.calls:,}",
            border=True,
            help=_("Every call to the server, the retries of busy or failing calls included."),
        )
        st.metric(
            _("At once"),
            "–" if progress.concurrency is None else f"{progress.concurrency:,}",
            border=True,
            help=_(
                "Calls under way at the same time now: lowered while the server pushes back, "
                "raised again when it stops."
            ),
        )


def _stopped(board: JobBoard, status: JobStatus, progress: DirectProgress) -> None:
    error = direct_runs.stopped_by_error(status.job_id)
    if error:
        st.error(
            _("The direct run stopped: {reason}", reason=plain(error)), icon=":material/error:"
        )
    else:
        st.warning(
            n_(
                "The direct run is not going on in any process: {n:,} row waits. Resume it to "
                "send it.",
                "The direct run is not going on in any process: {n:,} rows wait. Resume it to "
                "send them.",
                progress.left + progress.in_flight,
            ),
            icon=":material/pause_circle:",
        )
    if st.button(
        _("Resume the run"), key="resume_direct", type="primary", icon=":material/play_arrow:"
    ):
        direct_runs.start(board.service, status.job_id)
        board.forget(status.job_id)
        st.rerun()
