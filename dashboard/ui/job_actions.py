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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from batchdash.direct.jobs import DirectJobs
from batchdash.display.results_page import count_word
from batchdash.errors import BatchdashError, InputError
from batchdash.i18n import Message, _, _l, n_, n_l
from batchdash.jobs.board import JobBoard
from batchdash.jobs.cancel_effect import cancel_effect, running_batches
from batchdash.jobs.repair import REPAIRABLE, refused_warning
from batchdash.jobs.status import JobStatus
from ui import deadline_guard, dialogs, direct_runs, state
from ui.connection import current_connection
from ui.cost_views import ESTIMATE_LABEL, label
from ui.job_access import attempt
from ui.language import apply_language
from ui.text import plain, usd

#: Seconds a notice stays on the page at most.
NOTICE_SECONDS = 30

Action = Literal["cancel", "repair", "archive", "attach", "cancel_remote", "discard", "finish"]


@dataclass(frozen=True)
class Dialog:
    """An action waiting for the analyst's confirmation."""

    #: Which action.
    action: Action
    #: The job it is about (None for attach and for a batch made elsewhere).
    job_id: str | None = None
    #: The one batch it is about, when it is about one.
    batch_id: str | None = None


def tell(notice: str | Message) -> None:
    """Say what an action did, at the top of the page, until the analyst does something else
    (a Message, so a switch of language in the meantime says it in the new one)."""
    st.session_state[state.JOBS_NOTICE] = (notice, time.time())


def show_notice() -> None:
    """The last action's notice, if it is recent (a page left and opened again shows none)."""
    notice: tuple[str | Message, float] | None = st.session_state[state.JOBS_NOTICE]
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


def _finish(board: JobBoard, notice: Message, job_id: str | None = None) -> None:
    """Close the dialog, say what happened, and draw the page again."""
    if job_id is not None:
        board.forget(job_id)
    tell(notice)
    st.session_state[state.JOBS_DIALOG] = None
    st.rerun()


def _unarchive(board: JobBoard, job_id: str) -> None:
    board.service.archive(job_id, archived=False)
    board.forget(job_id)
    tell(_l("The job is back in the list."))
    st.session_state[state.JOBS_QUIET_RUN] = True


def _unsent_count(status: JobStatus) -> int:
    # A job never submitted has every part unsent (`unsent` counts a submitted job's only).
    return status.parts if status.never_started else status.unsent


def unsent_parts(board: JobBoard, status: JobStatus) -> None:
    """What the job has not sent yet and what will happen to it, with Send and Discard."""
    if not status.unsent_note:
        return
    # Parts that wait for room under the enqueued-token limit go out at a refresh, not sooner.
    only_queued = not status.never_started and 0 < status.unsent <= status.queued
    if status.sending or only_queued:  # going as planned: nothing for the analyst to do
        st.info(plain(status.unsent_note), icon=":material/outbox:")
    else:
        st.warning(plain(status.unsent_note), icon=":material/outbox:")
    count = _unsent_count(status)
    if status.sending:
        why = _("A submission is sending them right now.")
    elif only_queued:
        why = _(
            "They wait for room under the enqueued-token limit and go out on their own as "
            "earlier batches finish."
        )
    else:
        why = _(
            "Upload the parts not sent yet and create their batches, billed at the batch price."
        )
    with st.container(horizontal=True):
        send = st.button(
            _("Send it")
            if status.never_started
            else n_("Send {n:,} part now", "Send {n:,} parts now", count),
            key="send_unsent",
            type="primary",
            icon=":material/send:",
            disabled=status.sending or only_queued,
            help=why,
        )
        st.button(
            _("Discard…"),
            key="discard_unsent",
            icon=":material/delete:",
            on_click=ask,
            args=("discard", status.job_id),
            help=_("Never send the parts not sent yet; nothing of them is billed."),
        )
    if send:
        bar = st.progress(0.0, text=_("Sending…"))

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / total if total else 1.0, text=plain(message))

        batches = attempt(lambda: board.service.resume(status.job_id, on_progress=progress))
        if batches is None:
            return
        _finish(
            board,
            _l(
                "Sent {name}: its batches are {batches}.",
                name=status.name,
                batches=", ".join(batches),
            ),
            status.job_id,
        )


def action_buttons(board: JobBoard, status: JobStatus) -> None:
    """The actions of the opened job."""
    running = running_batches(status, board.terminal)
    repairable = sum(status.counts.get(key, 0) for key in REPAIRABLE)
    with st.container(horizontal=True, vertical_alignment="center"):
        if status.state == "finished" or status.counts.get("ok") or status.counts.get("error"):
            # Results opens on the job picked here (the two pages share the selection).
            st.page_link(
                "app_pages/results.py", label=_("Open its results"), icon=":material/download:"
            )
        st.button(
            _("Cancel the job…"),
            key="cancel_job",
            icon=":material/cancel:",
            # A job that never sent anything has no batch to stop: Discard is its way out.
            disabled=status.state == "finished" or status.never_started,
            on_click=ask,
            args=("cancel", status.job_id),
            help=_("Stop every running batch of the job; answers made so far are kept.")
            if not status.never_started
            else _(
                "Nothing of this job was sent, so there is nothing to cancel: discard it instead."
            ),
        )
        if len(running) > 1:
            labels = {
                _("Batch {batch} (part {part})", batch=batch.id, part=batch.part_number): batch.id
                for batch in running
            }
            st.menu_button(
                _("Cancel one batch…"),
                list(labels),
                key="cancel_batch_menu",
                icon=":material/block:",
                on_click=_ask_for_batch,
                args=(status.job_id, labels, "cancel_batch_menu"),
            )
        st.button(
            _("Repair rows…"),
            key="repair_rows",
            icon=":material/build:",
            disabled=not repairable,
            on_click=ask,
            args=("repair", status.job_id),
            help=_("Send rows that failed, expired, were cancelled or did not run once more."),
        )
        if status.archived:
            st.button(
                _("Show in the list again"),
                key="unarchive_job",
                icon=":material/unarchive:",
                on_click=_unarchive,
                args=(board, status.job_id),
            )
        else:
            st.button(
                _("Archive…"),
                key="archive_job",
                icon=":material/archive:",
                on_click=ask,
                args=("archive", status.job_id),
                help=_("Hide the job from the list; nothing is deleted."),
            )


def show_dialog(board: JobBoard) -> None:
    """Draw the open dialog, if any (call once per whole-page run, after everything else)."""
    dialog: Dialog | None = st.session_state[state.JOBS_DIALOG]
    if dialog is None:
        return
    if dialog.action == "attach":
        _open(_("Attach a batch"), "medium", _attach_dialog, board, dialog.batch_id)
    elif dialog.action == "cancel_remote":
        _open(
            _("Cancel a batch made elsewhere"),
            "small",
            _cancel_remote_dialog,
            board,
            dialog.batch_id or "",
        )
    else:
        try:
            status = board.status(dialog.job_id or "")
        except InputError as error:
            st.session_state[state.JOBS_DIALOG] = None
            st.error(plain(error), icon=":material/error:")
            return
        if dialog.action == "cancel":
            title = _("Cancel one batch") if dialog.batch_id else _("Cancel the job")
            _open(title, "medium", _cancel, board, status, dialog.batch_id)
        elif dialog.action == "repair":
            _open(_("Repair rows"), "medium", _repair_dialog, board, status)
        elif dialog.action == "finish":
            _open(_("Finish the rest directly"), "medium", _finish_dialog, board, status)
        elif dialog.action == "archive":
            _open(_("Archive the job"), "small", _archive_dialog, board, status)
        else:
            _open(_("Discard what was not sent"), "small", _discard_dialog, board, status)


def _open(
    title: str, width: Literal["small", "medium", "large"], body: Callable[..., None], *args: object
) -> None:
    """`body(*args)` in a dialog, titled in the language in use (a title given to `st.dialog`
    where the function is defined would keep the language of the first import)."""
    st.dialog(title, width=width, on_dismiss=close)(_in_language)(body, *args)


def _in_language(body: Callable[..., None], *args: object) -> None:
    # A widget of the dialog reruns only the dialog, maybe in a new script thread, where the
    # entry script has not set the session's language.
    apply_language()
    body(*args)


def _confirm_row(confirm: str, key: str, keep: str | None = None) -> bool:
    """A dismiss button ("Keep it as it is" unless `keep` says otherwise) and the confirm
    button; whether the latter was clicked."""
    return dialogs.confirm_row(confirm, key, _forget, keep or _("Keep it as it is"))


def _cancel(board: JobBoard, status: JobStatus, batch_id: str | None) -> None:
    """What a cancel loses and keeps, and the button that does it."""
    if batch_id is None and _runs_directly(status):
        _cancel_direct(board, status)
        return
    effect = cancel_effect(status, batch_id, board.terminal)
    if not effect.batches and batch_id is not None:
        st.info(
            _(
                "Batch {batch} is not running any more: there is nothing to cancel.",
                batch=plain(batch_id),
            )
        )
        dialogs.dismiss_button(_("Close"), "cancel_close", _forget)
        return
    name = f"**{plain(status.name)}**"
    st.markdown(
        _("Cancel batch {batch} of {name}?", batch=plain(batch_id), name=name)
        if batch_id
        else _("Cancel the job {name}?", name=name)
    )
    st.markdown(
        n_(
            "**Lost:** {n:,} request that have not run yet will not run. Their rows get the "
            "status *cancelled*; Repair can send them again later, as a new batch.",
            "**Lost:** {n:,} requests that have not run yet will not run. Their rows get the "
            "status *cancelled*; Repair can send them again later, as a new batch.",
            effect.lost,
        )
    )
    kept = [n_("the {n:,} answer already made", "the {n:,} answers already made", effect.answered)]
    if effect.failed:
        kept.append(
            n_(
                "{n:,} failed request with their errors",
                "{n:,} failed requests with their errors",
                effect.failed,
            )
        )
    if effect.done_rows:
        kept.append(
            n_(
                "the {n:,} row finished batches already answered",
                "the {n:,} rows finished batches already answered",
                effect.done_rows,
            )
        )
    st.markdown(
        _(
            "**Kept:** {kept}. Answers made are billed; they are fetched when the cancellation "
            "ends and show up in Results.",
            kept=_(", ").join(kept),
        )
    )
    # The figures are the last refresh's: a running batch goes on answering until it stops.
    st.caption(
        _(
            "Counted at the page's last refresh: the batches answer on until the "
            "cancellation reaches them, and those answers are kept too."
        )
    )
    if effect.batches:
        names = _(", ").join(
            _("{batch} (part {part})", batch=batch.id, part=batch.part_number)
            for batch in effect.batches
        )
        st.caption(
            _(
                "Batches to cancel: {batches}. Stopping can take the API up to 10 minutes.",
                batches=plain(names),
            )
        )
    if _confirm_row(_("Cancel the batch") if batch_id else _("Cancel the job"), "cancel_confirm"):
        try:
            stopped = board.service.cancel(status.job_id, batch_id)
        except BatchdashError as error:
            st.error(plain(error), icon=":material/error:")
            return
        _finish(board, _cancel_notice(status.name, batch_id, stopped), status.job_id)


def _runs_directly(status: JobStatus) -> bool:
    """Whether the job is a direct one (no batch at all)."""
    return status.direct is not None and not status.batches


def _cancel_direct(board: JobBoard, status: JobStatus) -> None:
    """A direct run's cancel: no row is sent after it; the calls under way keep their answers."""
    progress = status.direct
    waiting = 0 if progress is None else progress.left
    name = f"**{plain(status.name)}**"
    st.markdown(_("Cancel the direct run of {name}?", name=name))
    st.markdown(
        n_(
            "**Lost:** {n:,} row not sent yet will not be sent. It gets the status "
            "*cancelled*; Repair can send it later.",
            "**Lost:** {n:,} rows not sent yet will not be sent. They get the status "
            "*cancelled*; Repair can send them later.",
            waiting,
        )
    )
    st.markdown(
        _(
            "**Kept:** the answers already made, and those of the calls under way when the "
            "run sees the cancel."
        )
    )
    if _confirm_row(_("Cancel the run"), "cancel_confirm"):
        try:
            board.service.cancel(status.job_id)
        except BatchdashError as error:
            st.error(plain(error), icon=":material/error:")
            return
        _finish(
            board,
            _l(
                "Asked to cancel the direct run of {name}; the answers already made are kept.",
                name=status.name,
            ),
            status.job_id,
        )


def _cancel_notice(name: str, batch_id: str | None, stopped: int) -> Message:
    """What the cancel did; the batches may have finished while the dialog was open."""
    if not stopped:
        if batch_id:
            return _l(
                "Batch {batch} had already finished: nothing was cancelled, and its answers are "
                "kept.",
                batch=batch_id,
            )
        return _l(
            "{name} had already finished: nothing was cancelled, and its answers are kept.",
            name=name,
        )
    if batch_id:
        return _l(
            "Asked to cancel batch {batch}; the answers already made are kept.", batch=batch_id
        )
    return _l("Asked to cancel the job {name}; the answers already made are kept.", name=name)


def _repair_label(status: JobStatus, key: str) -> str:
    return _("{status} ({count:,})", status=count_word(key), count=status.counts.get(key, 0))


def _repair_dialog(board: JobBoard, status: JobStatus) -> None:
    name = f"**{plain(status.name)}**"
    direct = _runs_directly(status)
    st.markdown(
        _(
            "Send rows of {name} once more, directly: one call each, at the normal price. "
            "Their answers replace the failed ones in the merged table.",
            name=name,
        )
        if direct
        else _(
            "Send rows of {name} once more, in a new batch of the same job. Their answers "
            "replace the failed ones in the merged table.",
            name=name,
        )
    )
    offered = [key for key in REPAIRABLE if status.counts.get(key, 0)]
    if state.REPAIR_STATUSES not in st.session_state:
        st.session_state[state.REPAIR_STATUSES] = offered
    picked = st.pills(
        _("Rows to run again"),
        offered,
        selection_mode="multi",
        key=state.REPAIR_STATUSES,
        format_func=lambda key: _repair_label(status, key),
    )
    if not picked:
        st.caption(_("Pick at least one kind of row."))
        return
    plan = attempt(lambda: board.service.plan_repair(status.job_id, picked))
    if plan is None:
        return
    with st.container(horizontal=True):
        st.metric(_("Rows"), f"{plan.rows:,}", border=True)
        st.metric(_("Input tokens"), f"{plan.input_tokens:,}", border=True)
        st.metric(
            label(ESTIMATE_LABEL, current_connection().sandbox),
            _(
                "{amount} + answers",
                amount=usd(
                    direct_runs.normal_price_usd(board.service, status.model, plan.input_tokens)
                    if direct
                    else plan.estimated_cost_usd
                ),
            ),
            border=True,
            help=_(
                "Input tokens at the normal price; the answers are billed on top, by their length."
            )
            if direct
            else _(
                "Input tokens at the batch price; the answers are billed on top, by their length."
            ),
        )
    if not plan.rows:
        st.info(_("Every such row is in a batch that is still running: wait for it to finish."))
        return
    warning = refused_warning(plan.refused, plan.rows)
    if warning:
        st.warning(plain(warning), icon=":material/warning:")
    repair = n_("Repair {n:,} row", "Repair {n:,} rows", plan.rows)
    if _confirm_row(repair, "repair_confirm", keep=_("Not now")):
        if direct:
            _repair_directly(board, status, picked, plan.rows)
            return
        with st.spinner(_("Sending the rows…")):
            batches = attempt(lambda: board.service.repair(status.job_id, picked))
        if batches is None:
            return
        st.session_state.pop(state.REPAIR_STATUSES, None)
        _finish(board, _repair_notice(status.name, plan.rows, batches), status.job_id)


def _finish_dialog(board: JobBoard, status: JobStatus) -> None:
    deadline_guard.finish_rest_directly(
        board,
        status,
        lambda confirm, key: _confirm_row(confirm, key, keep=_("Not now")),
        lambda notice: _finish(board, notice, status.job_id),
    )


def _repair_directly(board: JobBoard, status: JobStatus, picked: list[str], rows: int) -> None:
    """The picked rows as a new direct part of the job, run in the background of this server."""
    added = attempt(lambda: DirectJobs(board.service).repair(status.job_id, picked))
    if added is None:
        return
    direct_runs.start(board.service, status.job_id)
    st.session_state.pop(state.REPAIR_STATUSES, None)
    _finish(
        board,
        n_l(
            "Sending {n:,} row of {name} again, directly.",
            "Sending {n:,} rows of {name} again, directly.",
            added,
            name=status.name,
        ),
        status.job_id,
    )


def _repair_notice(name: str, rows: int, batches: list[str]) -> Message:
    if batches:
        return n_l(
            "Sent {n:,} row of {name} again as {batches}.",
            "Sent {n:,} rows of {name} again as {batches}.",
            rows,
            name=name,
            batches=", ".join(batches),
        )
    return n_l(
        "Sent {n:,} row of {name} again as a new batch.",
        "Sent {n:,} rows of {name} again as a new batch.",
        rows,
        name=name,
    )


def _archive_dialog(board: JobBoard, status: JobStatus) -> None:
    name = f"**{plain(status.name)}**"
    st.markdown(
        _(
            "Hide {name} from the list of jobs? Nothing is deleted: its rows and results stay "
            "in Batchdash (turn on *Show archived* to see it again), and its batches stay "
            "untouched where they were sent.",
            name=name,
        )
    )
    if status.state == "active":
        st.warning(
            _("The job is still running: archiving does not stop it. Cancel it first to stop it."),
            icon=":material/warning:",
        )
    if _confirm_row(_("Archive"), "archive_confirm"):
        board.service.archive(status.job_id)
        _finish(board, _l("Archived {name}.", name=status.name), status.job_id)


def _discard_dialog(board: JobBoard, status: JobStatus) -> None:
    name = f"**{plain(status.name)}**"
    count = _unsent_count(status)
    if not count:
        st.info(_("Every part of {name} was sent: there is nothing to discard.", name=name))
        dialogs.dismiss_button(_("Close"), "discard_close", _forget)
        return
    if status.never_started:
        st.markdown(
            _(
                "Discard {name}? Nothing of it was sent, so nothing was billed, and nothing "
                "will send it. It leaves the list of jobs (turn on *Show archived* to see it "
                "again, rows and all); submit the table again from New job to run it later.",
                name=name,
            )
        )
    else:
        st.markdown(
            n_(
                "Discard the {n:,} part of {name} not sent yet? They are never sent and not "
                "billed; their rows show as *not run*, and Repair can send them later. The "
                "batches already sent go on: cancel the job to stop them.",
                "Discard the {n:,} parts of {name} not sent yet? They are never sent and not "
                "billed; their rows show as *not run*, and Repair can send them later. The "
                "batches already sent go on: cancel the job to stop them.",
                count,
                name=name,
            )
        )
    if _confirm_row(_("Discard"), "discard_confirm"):
        dropped = attempt(lambda: board.service.discard(status.job_id))
        if dropped is None:
            return
        _finish(
            board,
            n_l(
                "Discarded {n:,} part of {name}; nothing of them was sent.",
                "Discarded {n:,} parts of {name}; nothing of them was sent.",
                dropped,
                name=status.name,
            ),
            status.job_id,
        )


def _attach_dialog(board: JobBoard, batch_id: str | None) -> None:
    st.markdown(
        _(
            "Follow a batch made elsewhere (the OpenAI dashboard, a script, another Batchdash) "
            "as a job here: its requests become the job's rows, its answers are fetched when it "
            "finishes, and it can be cancelled or repaired like any other job."
        )
    )
    if batch_id and state.ATTACH_BATCH_ID not in st.session_state:
        st.session_state[state.ATTACH_BATCH_ID] = batch_id
    st.text_input(_("Batch id"), key=state.ATTACH_BATCH_ID, placeholder="batch_…", max_chars=200)
    st.text_input(_("Job name (optional)"), key=state.ATTACH_NAME, max_chars=200)
    if _confirm_row(_("Attach"), "attach_confirm", keep=_("Not now")):
        wanted = (st.session_state.get(state.ATTACH_BATCH_ID) or "").strip()
        if not wanted:
            st.error(_("Enter the id of the batch, like batch_abc123."), icon=":material/error:")
            return
        name = (st.session_state.get(state.ATTACH_NAME) or "").strip() or None
        with st.spinner(_("Reading the batch and its input file…")):
            job_id = attempt(lambda: board.service.attach(wanted, name=name))
        if job_id is None:
            return
        st.session_state[state.SELECTED_JOB] = job_id
        st.session_state[state.REMOTE_LISTING] = None
        _finish(board, _l("Batch {batch} is now followed here as a job.", batch=wanted), job_id)


def _cancel_remote_dialog(board: JobBoard, batch_id: str) -> None:
    st.markdown(
        _(
            "Cancel batch {batch}? It belongs to no job here. **Lost:** its requests that have "
            "not run yet. **Kept:** the answers already made, in the batch's own result file "
            "(attach the batch to fetch them here).",
            batch=plain(batch_id),
        )
    )
    if _confirm_row(_("Cancel the batch"), "cancel_remote_confirm"):
        info = attempt(lambda: board.service.gateway.cancel_batch(batch_id))
        if info is None:
            return
        st.session_state[state.REMOTE_LISTING] = None
        _finish(
            board,
            _l(
                "Asked to cancel batch {batch}; it is {status} now.",
                batch=batch_id,
                status=info.status,
            ),
        )
