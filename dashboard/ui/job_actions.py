"""The Jobs page's actions, each confirmed in a dialog: cancel, repair, archive, attach, and
discarding the parts a submission did not send (sending them needs no confirmation: it is what
the analyst asked for when submitting).

A button only records which dialog to open (session state) and asks for a whole-page run: the
page then draws the dialog, and pauses its automatic refresh while the dialog is open. The
dialog says what the action will do before anything is sent; once done, it leaves a one-line
notice for the page and closes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from batchdash.display.results_page import COUNT_WORDS
from batchdash.errors import BatchdashError, InputError
from batchdash.jobs.board import JobBoard
from batchdash.jobs.cancel_effect import cancel_effect, running_batches
from batchdash.jobs.repair import REPAIRABLE, refused_warning
from batchdash.jobs.status import JobStatus
from ui import dialogs, state
from ui.connection import current_connection
from ui.cost_views import ESTIMATE_LABEL, label
from ui.job_access import attempt
from ui.text import plain, usd

#: Seconds a notice stays on the page at most.
NOTICE_SECONDS = 30

Action = Literal["cancel", "repair", "archive", "attach", "cancel_remote", "discard"]


@dataclass(frozen=True)
class Dialog:
    """An action waiting for the analyst's confirmation."""

    #: Which action.
    action: Action
    #: The job it is about (None for attach and for a batch made elsewhere).
    job_id: str | None = None
    #: The one batch it is about, when it is about one.
    batch_id: str | None = None


def tell(notice: str) -> None:
    """Say what an action did, at the top of the page, until the analyst does something else."""
    st.session_state[state.JOBS_NOTICE] = (notice, time.time())


def show_notice() -> None:
    """The last action's notice, if it is recent (a page left and opened again shows none)."""
    notice: tuple[str, float] | None = st.session_state[state.JOBS_NOTICE]
    if notice is not None and time.time() - notice[1] < NOTICE_SECONDS:
        st.success(plain(notice[0]), icon=":material/check_circle:")


def ask(action: Action, job_id: str | None = None, batch_id: str | None = None) -> None:
    """Button callback: open the dialog of `action` in a whole-page run."""
    st.session_state[state.JOBS_DIALOG] = Dialog(action, job_id, batch_id)
    st.session_state[state.JOBS_QUIET_RUN] = True
    st.session_state[state.JOBS_NOTICE] = None
    for key in (state.REPAIR_STATUSES, state.ATTACH_BATCH_ID, state.ATTACH_NAME):
        st.session_state.pop(key, None)  # a dialog starts from its defaults
    st.rerun()


def _ask_for_batch(job_id: str, batches: Mapping[str, str], menu_key: str) -> None:
    picked = st.session_state.get(menu_key)
    if isinstance(picked, str) and picked in batches:
        ask("cancel", job_id, batches[picked])


def _forget() -> None:
    st.session_state[state.JOBS_DIALOG] = None
    st.session_state[state.JOBS_QUIET_RUN] = True  # closing asks the API nothing


def close() -> None:
    """Dialog dismissal callback (its buttons and its ×): the page is drawn without it."""
    dialogs.close(_forget)


def _finish(board: JobBoard, notice: str, job_id: str | None = None) -> None:
    """Close the dialog, say what happened, and draw the page again."""
    if job_id is not None:
        board.forget(job_id)
    tell(notice)
    st.session_state[state.JOBS_DIALOG] = None
    st.rerun()


def _unarchive(board: JobBoard, job_id: str) -> None:
    board.service.archive(job_id, archived=False)
    board.forget(job_id)
    tell("The job is back in the list.")
    st.session_state[state.JOBS_QUIET_RUN] = True


def _unsent_count(status: JobStatus) -> int:
    # A job never submitted has every part unsent (`unsent` counts a submitted job's only).
    return status.parts if status.never_started else status.unsent


def unsent_parts(board: JobBoard, status: JobStatus) -> None:
    """What the job has not sent yet and what will happen to it, with Send and Discard."""
    if not status.unsent_note:
        return
    if status.sending:
        st.info(plain(status.unsent_note), icon=":material/outbox:")
    else:
        st.warning(plain(status.unsent_note), icon=":material/outbox:")
    count = _unsent_count(status)
    with st.container(horizontal=True):
        send = st.button(
            "Send it" if status.never_started else f"Send {_parts(count)} now",
            key="send_unsent",
            type="primary",
            icon=":material/send:",
            disabled=status.sending,
            help="Upload the parts not sent yet and create their batches, billed at the batch "
            "price."
            if not status.sending
            else "A submission is sending them right now.",
        )
        st.button(
            "Discard…",
            key="discard_unsent",
            icon=":material/delete:",
            on_click=ask,
            args=("discard", status.job_id),
            help="Never send the parts not sent yet; nothing of them is billed.",
        )
    if send:
        bar = st.progress(0.0, text="Sending…")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / total if total else 1.0, text=plain(message))

        batches = attempt(lambda: board.service.resume(status.job_id, on_progress=progress))
        if batches is None:
            return
        _finish(board, f"Sent {status.name}: its batches are {', '.join(batches)}.", status.job_id)


def _parts(count: int) -> str:
    return f"{count:,} part{'s' if count != 1 else ''}"


def action_buttons(board: JobBoard, status: JobStatus) -> None:
    """The actions of the opened job."""
    running = running_batches(status, board.terminal)
    repairable = sum(status.counts.get(key, 0) for key in REPAIRABLE)
    with st.container(horizontal=True):
        st.button(
            "Cancel the job…",
            key="cancel_job",
            icon=":material/cancel:",
            # A job that never sent anything has no batch to stop: Discard is its way out.
            disabled=status.state == "finished" or status.never_started,
            on_click=ask,
            args=("cancel", status.job_id),
            help="Stop every running batch of the job; answers made so far are kept."
            if not status.never_started
            else "Nothing of this job was sent, so there is nothing to cancel: discard it instead.",
        )
        if len(running) > 1:
            labels = {f"Batch {batch.id} (part {batch.part_number})": batch.id for batch in running}
            st.menu_button(
                "Cancel one batch…",
                list(labels),
                key="cancel_batch_menu",
                icon=":material/block:",
                on_click=_ask_for_batch,
                args=(status.job_id, labels, "cancel_batch_menu"),
            )
        st.button(
            "Repair rows…",
            key="repair_rows",
            icon=":material/build:",
            disabled=not repairable,
            on_click=ask,
            args=("repair", status.job_id),
            help="Send rows that failed, expired, were cancelled or did not run once more.",
        )
        if status.archived:
            st.button(
                "Show in the list again",
                key="unarchive_job",
                icon=":material/unarchive:",
                on_click=_unarchive,
                args=(board, status.job_id),
            )
        else:
            st.button(
                "Archive…",
                key="archive_job",
                icon=":material/archive:",
                on_click=ask,
                args=("archive", status.job_id),
                help="Hide the job from the list; nothing is deleted.",
            )


def show_dialog(board: JobBoard) -> None:
    """Draw the open dialog, if any (call once per whole-page run, after everything else)."""
    dialog: Dialog | None = st.session_state[state.JOBS_DIALOG]
    if dialog is None:
        return
    if dialog.action == "attach":
        _attach_dialog(board, dialog.batch_id)
    elif dialog.action == "cancel_remote":
        _cancel_remote_dialog(board, dialog.batch_id or "")
    else:
        try:
            status = board.status(dialog.job_id or "")
        except InputError as error:
            st.session_state[state.JOBS_DIALOG] = None
            st.error(plain(error), icon=":material/error:")
            return
        if dialog.action == "cancel":
            opened = _cancel_batch_dialog if dialog.batch_id else _cancel_job_dialog
        else:
            opened = {
                "repair": _repair_dialog,
                "archive": _archive_dialog,
                "discard": _discard_dialog,
            }[dialog.action]
        opened(board, status, dialog.batch_id)


def _rows(count: int, what: str = "request") -> str:
    return f"{count:,} {what}{'s' if count != 1 else ''}"


def _confirm_row(confirm: str, key: str, keep: str = "Keep it as it is") -> bool:
    """A dismiss button and the confirm button; whether the latter was clicked."""
    return dialogs.confirm_row(confirm, key, _forget, keep)


@st.dialog("Cancel the job", width="medium", on_dismiss=close)
def _cancel_job_dialog(board: JobBoard, status: JobStatus, _batch_id: str | None) -> None:
    _cancel(board, status, None)


@st.dialog("Cancel one batch", width="medium", on_dismiss=close)
def _cancel_batch_dialog(board: JobBoard, status: JobStatus, batch_id: str | None) -> None:
    _cancel(board, status, batch_id)


def _cancel(board: JobBoard, status: JobStatus, batch_id: str | None) -> None:
    """What a cancel loses and keeps, and the button that does it."""
    effect = cancel_effect(status, batch_id, board.terminal)
    if not effect.batches and batch_id is not None:
        st.info(f"Batch {plain(batch_id)} is not running any more: there is nothing to cancel.")
        dialogs.dismiss_button("Close", "cancel_close", _forget)
        return
    name = plain(status.name)
    st.markdown(
        f"Cancel batch {plain(batch_id)} of **{name}**?"
        if batch_id
        else f"Cancel the job **{name}**?"
    )
    st.markdown(
        f"**Lost:** {_rows(effect.lost)} that have not run yet will not run. Their rows get "
        "the status *cancelled*; Repair can send them again later, as a new batch."
    )
    kept = [f"the {_rows(effect.answered, 'answer')} already made"]
    if effect.failed:
        kept.append(f"{_rows(effect.failed, 'failed request')} with their errors")
    if effect.done_rows:
        kept.append(f"the {_rows(effect.done_rows, 'row')} finished batches already answered")
    st.markdown(
        f"**Kept:** {', '.join(kept)}. Answers made are billed; they are fetched when the "
        "cancellation ends and show up in Results."
    )
    if effect.batches:
        names = ", ".join(f"{batch.id} (part {batch.part_number})" for batch in effect.batches)
        st.caption(
            f"Batches to cancel: {plain(names)}. Stopping can take the API up to 10 minutes."
        )
    if _confirm_row("Cancel the batch" if batch_id else "Cancel the job", "cancel_confirm"):
        try:
            stopped = board.service.cancel(status.job_id, batch_id)
        except BatchdashError as error:
            st.error(plain(error), icon=":material/error:")
            return
        _finish(board, _cancel_notice(status.name, batch_id, stopped), status.job_id)


def _cancel_notice(name: str, batch_id: str | None, stopped: int) -> str:
    """What the cancel did; the batches may have finished while the dialog was open."""
    if not stopped:
        what = f"Batch {batch_id}" if batch_id else name
        return f"{what} had already finished: nothing was cancelled, and its answers are kept."
    what = f"batch {batch_id}" if batch_id else f"the job {name}"
    return f"Asked to cancel {what}; the answers already made are kept."


def _repair_label(status: JobStatus, key: str) -> str:
    return f"{COUNT_WORDS[key]} ({status.counts.get(key, 0):,})"


@st.dialog("Repair rows", width="medium", on_dismiss=close)
def _repair_dialog(board: JobBoard, status: JobStatus, _batch_id: str | None) -> None:
    st.markdown(
        f"Send rows of **{plain(status.name)}** once more, in a new batch of the same job. "
        "Their answers replace the failed ones in the merged table."
    )
    offered = [key for key in REPAIRABLE if status.counts.get(key, 0)]
    if state.REPAIR_STATUSES not in st.session_state:
        st.session_state[state.REPAIR_STATUSES] = offered
    picked = st.pills(
        "Rows to run again",
        offered,
        selection_mode="multi",
        key=state.REPAIR_STATUSES,
        format_func=lambda key: _repair_label(status, key),
    )
    if not picked:
        st.caption("Pick at least one kind of row.")
        return
    plan = attempt(lambda: board.service.plan_repair(status.job_id, picked))
    if plan is None:
        return
    with st.container(horizontal=True):
        st.metric("Rows", f"{plan.rows:,}", border=True)
        st.metric("Input tokens", f"{plan.input_tokens:,}", border=True)
        st.metric(
            label(ESTIMATE_LABEL, current_connection().sandbox),
            f"{usd(plan.estimated_cost_usd)} + answers",
            border=True,
            help="Input tokens at the batch price; the answers are billed on top, by their length.",
        )
    if not plan.rows:
        st.info("Every such row is in a batch that is still running: wait for it to finish.")
        return
    warning = refused_warning(plan.refused, plan.rows)
    if warning:
        st.warning(plain(warning), icon=":material/warning:")
    if _confirm_row(f"Repair {_rows(plan.rows, 'row')}", "repair_confirm", keep="Not now"):
        with st.spinner("Sending the rows…"):
            batches = attempt(lambda: board.service.repair(status.job_id, picked))
        if batches is None:
            return
        st.session_state.pop(state.REPAIR_STATUSES, None)
        _finish(
            board,
            f"Sent {_rows(plan.rows, 'row')} of {status.name} again as "
            f"{', '.join(batches) or 'a new batch'}.",
            status.job_id,
        )


@st.dialog("Archive the job", on_dismiss=close)
def _archive_dialog(board: JobBoard, status: JobStatus, _batch_id: str | None) -> None:
    st.markdown(
        f"Hide **{plain(status.name)}** from the list of jobs? Nothing is deleted: its rows and "
        "results stay in Batchdash (turn on *Show archived* to see it again), and its batches "
        "stay at OpenAI, which does not delete batches."
    )
    if status.state == "active":
        st.warning(
            "The job is still running: archiving does not stop it. Cancel it first to stop it.",
            icon=":material/warning:",
        )
    if _confirm_row("Archive", "archive_confirm"):
        board.service.archive(status.job_id)
        _finish(board, f"Archived {status.name}.", status.job_id)


@st.dialog("Discard what was not sent", on_dismiss=close)
def _discard_dialog(board: JobBoard, status: JobStatus, _batch_id: str | None) -> None:
    name = plain(status.name)
    count = _unsent_count(status)
    if not count:
        st.info(f"Every part of **{name}** was sent: there is nothing to discard.")
        dialogs.dismiss_button("Close", "discard_close", _forget)
        return
    if status.never_started:
        st.markdown(
            f"Discard **{name}**? Nothing of it was sent, so nothing was billed, and nothing "
            "will send it. It leaves the list of jobs (turn on *Show archived* to see it "
            "again, rows and all); submit the table again from New job to run it later."
        )
    else:
        st.markdown(
            f"Discard the {_parts(count)} of **{name}** not sent yet? They are never sent and "
            "not billed; their rows show as *not run*, and Repair can send them later. The "
            "batches already sent go on: cancel the job to stop them."
        )
    if _confirm_row("Discard", "discard_confirm"):
        dropped = attempt(lambda: board.service.discard(status.job_id))
        if dropped is None:
            return
        _finish(
            board,
            f"Discarded {_parts(dropped)} of {status.name}; nothing of them was sent.",
            status.job_id,
        )


@st.dialog("Attach a batch", width="medium", on_dismiss=close)
def _attach_dialog(board: JobBoard, batch_id: str | None) -> None:
    st.markdown(
        "Follow a batch made elsewhere (the OpenAI dashboard, a script, another Batchdash) as "
        "a job here: its requests become the job's rows, its answers are fetched when it "
        "finishes, and it can be cancelled or repaired like any other job."
    )
    if batch_id and state.ATTACH_BATCH_ID not in st.session_state:
        st.session_state[state.ATTACH_BATCH_ID] = batch_id
    st.text_input("Batch id", key=state.ATTACH_BATCH_ID, placeholder="batch_…", max_chars=200)
    st.text_input("Job name (optional)", key=state.ATTACH_NAME, max_chars=200)
    if _confirm_row("Attach", "attach_confirm", keep="Not now"):
        wanted = (st.session_state.get(state.ATTACH_BATCH_ID) or "").strip()
        if not wanted:
            st.error("Enter the id of the batch, like batch_abc123.", icon=":material/error:")
            return
        name = (st.session_state.get(state.ATTACH_NAME) or "").strip() or None
        with st.spinner("Reading the batch and its input file…"):
            job_id = attempt(lambda: board.service.attach(wanted, name=name))
        if job_id is None:
            return
        st.session_state[state.SELECTED_JOB] = job_id
        st.session_state[state.REMOTE_LISTING] = None
        _finish(board, f"Batch {wanted} is now followed here as a job.", job_id)


@st.dialog("Cancel a batch made elsewhere", on_dismiss=close)
def _cancel_remote_dialog(board: JobBoard, batch_id: str) -> None:
    st.markdown(
        f"Cancel batch {plain(batch_id)}? It belongs to no job here. **Lost:** its requests that "
        "have not run yet. **Kept:** the answers already made, in the batch's own result file "
        "(attach the batch to fetch them here)."
    )
    if _confirm_row("Cancel the batch", "cancel_remote_confirm"):
        info = attempt(lambda: board.service.gateway.cancel_batch(batch_id))
        if info is None:
            return
        st.session_state[state.REMOTE_LISTING] = None
        _finish(board, f"Asked to cancel batch {batch_id}; it is {info.status} now.")
