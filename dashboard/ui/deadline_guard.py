"""The deadline guard on the Jobs page: a batch job near its batch's expiry (or past it) with
rows still unanswered offers "Finish the rest directly", and its dialog shows what that sends
and costs at the normal price before anything happens (`batchdash.jobs.deadline`)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from batchdash.direct.jobs import DirectJobs
from batchdash.display.jobs_table import time_left
from batchdash.i18n import Message, _, n_, n_l
from batchdash.jobs.board import JobBoard
from batchdash.jobs.deadline import finish_directly, near_deadline, plan_finish, unanswered
from batchdash.jobs.status import JobStatus
from ui import direct_runs
from ui.connection import current_connection
from ui.cost_views import ESTIMATE_LABEL, label
from ui.job_access import attempt
from ui.text import plain, usd


def offer(status: JobStatus, now: float, ask: Callable[[], None]) -> None:
    """Say how close the batch is to its expiry and offer to finish the rest directly (the
    button calls `ask`, which opens the dialog)."""
    if not near_deadline(status, now):
        return
    waiting = unanswered(status)
    left = time_left(status.expires_at, now)
    if status.expires_at is not None and status.expires_at > now:
        head = n_(
            "The batch expires in {left}, and {n:,} row has no answer yet.",
            "The batch expires in {left}, and {n:,} rows have no answer yet.",
            waiting,
            left=left,
        )
    else:
        head = n_(
            "The batch expired, and {n:,} row has no answer.",
            "The batch expired, and {n:,} rows have no answer.",
            waiting,
        )
    st.warning(
        plain(head) + " " + _("Rows the batch has not answered by then end as expired."),
        icon=":material/timer:",
    )
    if st.button(
        _("Finish the rest directly…"),
        key="finish_directly",
        icon=":material/bolt:",
        help=_("Send the rows without an answer now, directly, at the normal price."),
    ):
        ask()


def finish_rest_directly(
    board: JobBoard,
    status: JobStatus,
    confirm: Callable[[str, str], bool],
    done: Callable[[Message], None],
) -> None:
    """What finishing directly sends and costs; on `confirm`, the batches cancelled, the rows
    added as a direct part and its run started in this server; `done` tells and closes."""
    jobs = DirectJobs(board.service)
    plan = attempt(lambda: plan_finish(board.service, jobs, status.job_id))
    if plan is None:
        return
    if not plan.custom_ids:
        st.info(_("Every row has its answer now: there is nothing to finish."))
        return
    name = f"**{plain(status.name)}**"
    st.markdown(
        _(
            "Finish {name} directly: its running batch is cancelled, and every row without an "
            "answer is sent now, one call each, at the normal price (twice the batch price).",
            name=name,
        )
    )
    st.markdown(
        _(
            "A row the batch answers before the cancel takes effect is answered and billed "
            "twice, in the batch and directly; the merged table keeps one answer per row."
        )
    )
    with st.container(horizontal=True):
        st.metric(_("Rows"), f"{len(plan.custom_ids):,}", border=True)
        st.metric(_("Input tokens"), f"{plan.input_tokens:,}", border=True)
        st.metric(
            label(ESTIMATE_LABEL, current_connection().sandbox),
            _("{amount} + answers", amount=usd(plan.input_usd)),
            border=True,
            help=_(
                "Input tokens at the normal price; the answers are billed on top, by their length."
            ),
        )
    rows = len(plan.custom_ids)
    if not confirm(
        n_("Send {n:,} row directly", "Send {n:,} rows directly", rows), "finish_confirm"
    ):
        return
    added = attempt(lambda: finish_directly(board.service, jobs, status.job_id))
    if added is None:
        return
    direct_runs.start(board.service, status.job_id)
    done(
        n_l(
            "Sending the {n:,} row of {name} without an answer directly.",
            "Sending the {n:,} rows of {name} without an answer directly.",
            added,
            name=status.name,
        )
    )
