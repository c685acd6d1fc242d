"""The Submit step of New job: a confirmation dialog, then the job created and its parts sent.

The dialog opens from session state (so it survives reruns and can be tested), names the job,
shows rows, parts and cost once more, and on confirmation hands the table and recipe to the job
service with a progress bar across the parts. A job saved but not fully sent (the API refused a
part, the network dropped) is remembered: the next click resumes it instead of making another.
When the same table and recipe already make an unfinished job (submitted in another session, or
by the command line), the dialog says so and offers that job instead of paying twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import streamlit as st

from batchdash.errors import BatchdashError
from batchdash.i18n import Message, _, _l, n_
from batchdash.inputs.hidden_characters import hidden_in_name
from batchdash.jobs.status import JobStatus
from batchdash.money import usd_all
from batchdash.preflight.cost import estimate_cost
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.preflight.provider_checks import batch_api_problem
from batchdash.recipe import Recipe
from batchdash.registry.fingerprints import table_fingerprint
from ui import budgets, dialogs, job_actions, run_choice, state
from ui.connection import Connection
from ui.cost_views import ESTIMATE_LABEL, label
from ui.job_access import attempt, fetch_progress, job_service
from ui.memo import remembered
from ui.preflight import batches_help, full_plan, show_problems
from ui.sandbox_pace import current_pace, pace_label
from ui.source import Source, source_stem
from ui.text import plain

JOBS_PAGE = "app_pages/jobs.py"


def _offer_twin(twin: JobStatus, connection: Connection) -> None:
    """Say that this table and recipe already make an unfinished job, and offer it instead."""
    going = twin.unsent_note or n_(
        "{n} batch still running.", "{n} batches still running.", len(twin.batches)
    )
    saved = f"{twin.created_at:%Y-%m-%d %H:%M}"
    st.warning(
        _(
            "This table and recipe already make the unfinished job **{name}** (saved {saved} "
            "UTC). {going} Submitting again would send and bill every row once more.",
            name=plain(twin.name),
            saved=saved,
            going=plain(going),
        ),
        icon=":material/content_copy:",
    )
    resumable = (twin.unsent or twin.never_started) and not twin.sending
    if not st.button(
        _("Send the rest of that job") if resumable else _("Open that job"),
        key="submit_twin",
        type="primary",
        icon=":material/send:" if resumable else ":material/open_in_new:",
    ):
        return
    if resumable:
        bar = st.progress(0.0, text=_("Sending…"))

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / total if total else 1.0, text=plain(message))

        with fetch_progress():
            sent = attempt(
                lambda: job_service(connection).resume(twin.job_id, on_progress=progress)
            )
        if sent is None:
            return
    _go_to(twin.job_id, done=_l("Sent the rest of {name}.", name=twin.name) if resumable else None)


def _export_instead(refusal: str, source: Source, recipe: Recipe, connection: Connection) -> None:
    """A server without a Batch API: the job is saved for vLLM's run-batch instead of sent,
    and the Jobs page hands out its file and the command that runs it."""
    st.info(plain(refusal), icon=":material/dns:")
    with st.container(horizontal=True, horizontal_alignment="right"):
        dialogs.dismiss_button(_("Not now"), "submit_keep", _forget)
        exported = st.button(
            _("Export for vLLM"),
            type="primary",
            icon=":material/output:",
            key="submit_export",
            help=_(
                "Save the job without sending anything: the Jobs page gives its JSONL and the "
                "run-batch command, and takes back the output file vLLM writes."
            ),
        )
    if not exported:
        return
    name = (st.session_state.get(state.JOB_NAME) or "").strip() or default_job_name(source)
    job_id = attempt(
        lambda: job_service(connection).create_exported_job(
            name, source.table.frame, recipe, source_name=source.table.source_name
        )
    )
    if job_id is None:
        return
    done = _l("Saved {name} for vLLM: its file and the command that runs it are below.", name=name)
    _go_to(job_id, name, done)


def default_job_name(source: Source) -> str:
    """The source's name and the time, e.g. 'reviews 2026-11-26 14:05'."""
    return f"{source_stem(source)} {datetime.now():%Y-%m-%d %H:%M}"


def open_dialog(default_name: str, source_name: str) -> None:
    """Submit button callback: open the dialog. A name the analyst typed for this file (by its
    whole name: reviews.csv is not reviews.xlsx) and has not sent yet is kept (closing the
    dialog loses nothing); otherwise a fresh one is offered."""
    st.session_state[state.SUBMIT_OPEN] = True
    typed = (st.session_state.get(state.JOB_NAME) or "").strip()
    memo: NameMemo = st.session_state.get(state.JOB_NAME_MEMO) or NameMemo()
    if typed and typed not in (memo.offered, memo.sent) and memo.source_name == source_name:
        return
    st.session_state[state.JOB_NAME] = default_name
    st.session_state[state.JOB_NAME_MEMO] = NameMemo(offered=default_name, source_name=source_name)


@dataclass(frozen=True)
class NameMemo:
    """The job name last offered, the file it was offered for, and the name last sent."""

    offered: str = ""
    source_name: str = ""
    sent: str = ""


def _go_to(job_id: str, name: str | None = None, done: Message | None = None) -> None:
    """After a job is made (`name`: under that name) or resumed: the dialog closed and Jobs
    opened on it, saying what was `done`, with its filters cleared so that the job shows; the
    name and the way to run are not offered for the next job."""
    if name is not None:
        memo: NameMemo = st.session_state.get(state.JOB_NAME_MEMO) or NameMemo()
        st.session_state[state.JOB_NAME_MEMO] = replace(memo, sent=name)
    st.session_state[state.SUBMIT_OPEN] = False
    # The next job starts from the first (cheapest) way to run, not a direct run picked now.
    st.session_state.pop(state.RUN_WAY, None)
    st.session_state[state.SELECTED_JOB] = job_id
    st.session_state[state.JOBS_SEARCH] = ""
    st.session_state[state.JOBS_STATUS_FILTER] = []
    if done is not None:
        job_actions.tell(done)
    st.switch_page(JOBS_PAGE)


def _forget() -> None:
    st.session_state[state.SUBMIT_OPEN] = False


def close_dialog() -> None:
    """Dialog dismissal callback (its "Not now" and its ×): the page is drawn without it."""
    dialogs.close(_forget)


def submit_dialog(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    connection: Connection,
    tried_output_tokens: Sequence[int] = (),
) -> None:
    """Confirm name, rows, parts and cost; then create the job and send its parts.

    `tried_output_tokens` are the answers' lengths of a try of this recipe: the job keeps the
    projection made from them, so Jobs and Results show it beside the actual cost.
    """
    # Made at each run (not as a decorator at import) so the title is in the language in use.
    dialog = st.dialog(_("Submit the job"), width="medium", on_dismiss=close_dialog)
    dialog(_submit_body)(
        source, recipe, enqueued_token_limit, price_overrides, connection, tried_output_tokens
    )


def _submit_body(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    connection: Connection,
    tried_output_tokens: Sequence[int],
) -> None:
    if connection.refusal:
        st.error(plain(connection.refusal), icon=":material/block:")
        return
    with st.spinner(_("Preparing the requests…")):
        plan = full_plan(source, recipe, enqueued_token_limit, price_overrides, connection.provider)
    if not plan.ok:
        show_problems(plan.problems, blocking_only=True)
        dialogs.dismiss_button(_("Close"), "submit_close", _forget)
        return
    show_problems(plan.problems)  # warnings only here: said again where the job is confirmed
    what = (source.digest, recipe, enqueued_token_limit, connection.scope)
    pending = st.session_state.get(state.PENDING_JOB)
    mine = pending[1] if pending is not None and pending[0] == what else None
    # Remembered per table and recipe: the dialog runs again at each click in it.
    fingerprint = remembered(
        "job_fingerprint",
        (source.digest, recipe),
        lambda: table_fingerprint(source.table.frame, recipe),
    )
    twin = attempt(lambda: job_service(connection).unfinished_twin(fingerprint))
    if twin is not None and twin.job_id != mine:  # this dialog's own job is resumed by Submit
        _offer_twin(twin, connection)
    else:
        twin = None
    # Kept across pages: a refused job comes back named as it was once the limit is raised.
    st.text_input(_("Job name"), key=state.JOB_NAME, max_chars=200, persist_state="session")
    unseen = hidden_in_name(st.session_state[state.JOB_NAME] or "", _("The job name"))
    if unseen:
        st.warning(plain(unseen), icon=":material/visibility_off:")
    price = price_for(recipe.model, price_overrides, connection.provider)
    estimates = {
        way: estimate_cost(
            recipe,
            plan.rows,
            plan.input_tokens,
            run_choice.price_of(way, price),
            tried_output_tokens,
        )
        for way in run_choice.offered(connection.provider)
    }
    way = run_choice.choose(
        connection.provider,
        {key: run_choice.cost_words(estimate) for key, estimate in estimates.items()},
    )
    with st.container(horizontal=True):
        st.metric(_("Rows"), f"{plan.rows:,}", border=True)
        if way == "batch":
            st.metric(_("Batches"), f"{len(plan.parts):,}", border=True, help=batches_help())
        estimate = estimates[way]
        # Rounded as New job's caption rounds them, where the input is shown beside its sum.
        shown = usd_all(
            [
                estimate.expected_usd,
                estimate.input_usd,
                estimate.answers_max_usd,
                estimate.answers_expected_usd,
            ],
            sums={0: (1, 3)},
        )
        known = estimate.expected_usd is not None
        st.metric(
            label(ESTIMATE_LABEL, connection.sandbox),
            f"≈ {shown[0]}" if known else _("{amount} + answers", amount=shown[1]),
            border=True,
            help=_(
                "Input {usd} plus the answers projected from {rows} tried rows.",
                usd=shown[1],
                rows=estimate.projected_from,
            )
            if estimate.projected_from
            else _("Input tokens at the batch price; embeddings write no answer tokens.")
            if known
            else _(
                "Input {usd} plus the answers, billed by their length: up to {most}. Try on 3 "
                "rows first to project them.",
                usd=shown[1],
                most=shown[2],
            ),
        )
    # This dialog's own saved job was checked when it was made: sending its rest is no new spend.
    if mine is None and budgets.refused_here(connection, estimates[way], recipe.model, _forget):
        return
    name = (st.session_state.get(state.JOB_NAME) or "").strip() or default_job_name(source)
    if way == "direct":
        run_choice.confirm_direct(
            name,
            source.table.frame,
            source.table.source_name,
            recipe,
            connection,
            _forget,
            lambda job_id: _go_to(
                job_id, name, _l("Started {name}: its rows are sent directly now.", name=name)
            ),
        )
        return
    no_batches = batch_api_problem(connection.provider)
    if no_batches is not None:
        _export_instead(no_batches.message, source, recipe, connection)
        return
    if connection.sandbox:
        st.info(
            _(
                "Sandbox mode: the job runs on the local simulator, with simulated answers and "
                "no cost. Pace: {pace}; change it under Settings > Sandbox pace.",
                pace=pace_label(current_pace()).lower(),
            ),
            icon=":material/science:",
        )
    else:
        st.warning(
            _(
                "The job is sent to {connection} and billed to your API key.",
                connection=plain(connection.label),
            ),
            icon=":material/payments:",
        )
    with st.container(horizontal=True, horizontal_alignment="right"):
        dialogs.dismiss_button(_("Not now"), "submit_keep", _forget)
        confirmed = st.button(
            _("Submit as a new job") if twin else _("Submit"),
            type="secondary" if twin else "primary",
            icon=":material/send:",
            key="submit_confirm",
        )
    if not confirmed:
        return
    name = (st.session_state.get(state.JOB_NAME) or "").strip() or default_job_name(source)
    bar = st.progress(0.0, text=_("Saving the job…"))

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(done / total if total else 1.0, text=plain(message))

    try:
        service = job_service(connection)
        if mine is not None:
            job_id = mine
        else:
            job_id = service.create_job(
                name,
                source.table.frame,
                recipe,
                source_name=source.table.source_name,
                enqueued_token_limit=enqueued_token_limit,
                output_tokens_per_row=(
                    sum(tried_output_tokens) / len(tried_output_tokens)
                    if tried_output_tokens
                    else None
                ),
            )
            st.session_state[state.PENDING_JOB] = (what, job_id)
        with fetch_progress():
            service.submit(job_id, on_progress=progress)
    except BatchdashError as error:
        bar.empty()
        st.error(plain(error), icon=":material/error:")
        if st.session_state.get(state.PENDING_JOB):
            st.caption(_("The job is saved: Submit again to send the parts that are left."))
        return
    st.session_state[state.PENDING_JOB] = None
    _go_to(job_id, name, _l("Submitted {name}. It is opened below.", name=name))
