"""The Jobs page's second view: every batch the API key can see, including ones made elsewhere.

Listing reads every page of the key's batches (one call per 100), so it happens when the view
is first opened and when the analyst asks again, not on a timer. Batches that belong to a job
here are marked with its name; the others can be cancelled or attached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from batchdash.api.batch_info import BatchInfo
from batchdash.display.jobs_table import remote_frame
from batchdash.display.status_words import batch_word
from batchdash.i18n import _, _l
from batchdash.jobs.board import JobBoard
from ui import state
from ui.job_access import attempt
from ui.job_actions import ask
from ui.job_views import clock, quiet
from ui.text import plain

# The labels of the Jobs page's two views, said in the language in use.
_VIEW_LABELS = {
    "jobs": _l("Jobs here"),
    # The API's word for it: the key's batch list.
    "remote": _l("All batches, also made elsewhere"),
}
#: The Jobs page view that lists the jobs: its value (the English label, whatever the language).
VIEW_JOBS = _VIEW_LABELS["jobs"].msgid
#: This view's value.
VIEW_REMOTE = _VIEW_LABELS["remote"].msgid


def view_label(view: str) -> str:
    """The label of a view (VIEW_JOBS or VIEW_REMOTE) in the language in use."""
    return str(_VIEW_LABELS["jobs" if view == VIEW_JOBS else "remote"])


@dataclass(frozen=True)
class Listing:
    """The key's batches as last listed."""

    #: Scope of the connection they were listed for.
    scope: str
    #: Every batch, newest first, with the id of its job here (None when made elsewhere).
    batches: tuple[tuple[BatchInfo, str | None], ...]
    #: Unix seconds of the listing.
    listed_at: float


def _list(board: JobBoard) -> None:
    found = attempt(board.service.remote_batches)
    if found is not None:
        st.session_state[state.REMOTE_LISTING] = Listing(
            board.service.scope, tuple(found), time.time()
        )


def _reload() -> None:
    st.session_state[state.REMOTE_LISTING] = None


def _open_job(job_id: str) -> None:
    st.session_state[state.SELECTED_JOB] = job_id
    st.session_state[state.JOBS_VIEW] = VIEW_JOBS


def show_remote_batches(board: JobBoard, *, sandbox: bool = False) -> None:
    """The list, and the actions on the batch picked in it (`sandbox`: the sandbox's batches)."""
    provider = board.service.provider
    if provider is not None and not provider.list:
        st.info(
            _(
                "{provider} does not list batches, so only the batches of jobs here can be "
                "followed (by their ids).",
                provider=plain(provider.label),
            ),
            icon=":material/info:",
        )
        return
    listing: Listing | None = st.session_state[state.REMOTE_LISTING]
    if listing is None or listing.scope != board.service.scope:
        with st.spinner(_("Listing all batches…")):
            _list(board)
        listing = st.session_state[state.REMOTE_LISTING]
    if listing is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            _(
                "{count:,} batches, listed at {time}: every batch the sandbox holds, whether "
                "made here or by a script against it. Batches marked with a job belong to a job "
                "here; the others were made elsewhere.",
                count=len(listing.batches),
                time=clock(listing.listed_at),
            )
            if sandbox
            else _(
                "{count:,} batches, listed at {time}: every batch your API key can see (the "
                "key's batch list), whether made here, in the provider's dashboard or by a "
                "script. Batches marked with a job belong to a job here; the others were made "
                "elsewhere.",
                count=len(listing.batches),
                time=clock(listing.listed_at),
            )
        )
        st.button(_("Reload"), key="remote_reload", icon=":material/refresh:", on_click=_reload)
    if not listing.batches:
        st.info(_("This key has no batch yet."), icon=":material/info:")
        return
    names = {status.job_id: status.name for status in board.statuses(include_archived=True)}
    st.dataframe(
        remote_frame(listing.batches, names, now=time.time()),
        hide_index=True,
        key="remote_table",
        column_config={
            "batch_id": st.column_config.TextColumn(_("Batch")),
            "status": st.column_config.TextColumn(_("Status")),
            "job_here": st.column_config.TextColumn(_("Job here")),
            "created": st.column_config.DatetimeColumn(
                _("Created"), format="YYYY-MM-DD HH:mm", timezone=st.context.timezone
            ),
            "completed": st.column_config.NumberColumn(_("Answered")),
            "failed": st.column_config.NumberColumn(_("Failed")),
            "total": st.column_config.NumberColumn(_("Requests")),
            "endpoint": st.column_config.TextColumn(_("Endpoint")),
            "expires_in": st.column_config.TextColumn(_("Expires in")),
        },
        alt=_("Every batch of the API key, newest first"),
    )
    by_id = {info.id: (info, job_id) for info, job_id in listing.batches}
    picked = st.selectbox(
        _("Batch"),
        list(by_id),
        key=state.REMOTE_PICKER,
        format_func=lambda batch_id: _batch_label(by_id[batch_id], names),
        on_change=quiet,
    )
    info, job_id = by_id[picked]
    with st.container(horizontal=True):
        if job_id is not None:
            st.button(
                _("Open its job"),
                key="remote_open_job",
                icon=":material/open_in_new:",
                on_click=_open_job,
                args=(job_id,),
            )
        else:
            st.button(
                _("Attach…"),
                key="remote_attach",
                icon=":material/add_link:",
                on_click=ask,
                args=("attach", None, info.id),
                help=_("Follow this batch as a job here."),
            )
            st.button(
                _("Cancel…"),
                key="remote_cancel",
                icon=":material/cancel:",
                disabled=info.terminal or info.status == "cancelling",
                on_click=ask,
                args=("cancel_remote", None, info.id),
            )
    if job_id is not None:
        st.caption(
            _(
                "Batch {batch} belongs to {job}: cancel or repair it from its job.",
                batch=plain(info.id),
                job=plain(names.get(job_id, job_id)),
            )
        )


def _batch_label(entry: tuple[BatchInfo, str | None], names: dict[str, str]) -> str:
    info, job_id = entry
    owner = names.get(job_id, job_id) if job_id else _("made elsewhere")
    return f"{info.id} · {batch_word(info.status)} · {owner}"
