"""How the Jobs page draws jobs: the table, the picker, one job's batches, and the status help."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from batchdash.display.jobs_table import (
    JOB_COLUMNS,
    answered,
    answered_percent,
    batch_errors_frame,
    batches_frame,
    filter_jobs,
    jobs_frame,
)
from batchdash.display.results_page import count_word
from batchdash.display.status_words import (
    BATCH_MEANINGS,
    BATCH_WORDS,
    JOB_WORDS,
    KEEPING_HELP,
    job_word,
    waiting_help,
)
from batchdash.i18n import _, n_, use_language
from batchdash.i18n.formatting import clock_time
from batchdash.jobs.status import JobStatus
from batchdash.money import usd, usd_decimals
from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.results.parse import ROW_STATUSES
from batchdash.results.vllm_lines import IMPORTED_PREFIX
from ui import state
from ui.connection import current_connection
from ui.cost_views import ACTUAL_COLUMN, ESTIMATE_COLUMN, label
from ui.text import plain, visible

_DATETIME_FORMAT = "YYYY-MM-DD HH:mm"


def quiet() -> None:
    """Widget callback: the run this widget starts only redraws (no API call)."""
    st.session_state[state.JOBS_QUIET_RUN] = True
    st.session_state[state.JOBS_NOTICE] = None


def clock(seconds: float) -> str:
    """The time of day of unix `seconds` in the browser's zone (the server's when unknown), as
    the tables show their times."""
    return clock_time(datetime.fromtimestamp(seconds).astimezone(), st.context.timezone)


def show_status_help(provider: ProviderProfile = OPENAI) -> None:
    """What each batch status means, why a batch may take a day (or the provider's window), and
    how long files are kept."""
    with st.expander(_("What the statuses mean"), icon=":material/help:"):
        st.markdown(plain(waiting_help(provider)))
        st.table(
            {str(BATCH_WORDS[status]): str(meaning) for status, meaning in BATCH_MEANINGS.items()},
            border="horizontal",
        )
        st.markdown(str(KEEPING_HELP))


def _datetime_column(label: str, width: int | None = None) -> Any:
    return st.column_config.DatetimeColumn(
        label, format=_DATETIME_FORMAT, timezone=st.context.timezone, width=width
    )


def _job_words() -> dict[str, str]:
    """Each job word in English, the status filter's value (it outlives a switch of language),
    and in the language in use, the words the table shows."""
    with use_language("en"):
        english = [str(word) for word in JOB_WORDS]
    return dict(zip(english, (str(word) for word in JOB_WORDS), strict=True))


def jobs_toolbar(statuses: Sequence[JobStatus], terminal: Collection[str]) -> None:
    """Search, status filter and the archived switch (their values are read from state)."""
    words = _job_words()
    present = {str(job_word(status, terminal)) for status in statuses}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            _("Search by name"),
            key=state.JOBS_SEARCH,
            type="search",
            placeholder=_("Part of a job name"),
            on_change=quiet,
            persist_state="session",
        )
        st.pills(
            _("Status"),
            [english for english, word in words.items() if word in present],
            selection_mode="multi",
            key=state.JOBS_STATUS_FILTER,
            format_func=words.__getitem__,
            on_change=quiet,
            persist_state="session",
        )
        st.toggle(
            _("Show archived"),
            key=state.JOBS_SHOW_ARCHIVED,
            on_change=quiet,
            persist_state="session",
        )


def shown_jobs(
    statuses: Sequence[JobStatus], *, now: float, terminal: Collection[str]
) -> pd.DataFrame:
    """The jobs table after the toolbar's filters."""
    if not st.session_state.get(state.JOBS_SHOW_ARCHIVED):
        statuses = [status for status in statuses if not status.archived]
    return _filtered(jobs_frame(statuses, now=now, terminal=terminal))


def _filtered(frame: pd.DataFrame) -> pd.DataFrame:
    shown = _job_words()
    picked = st.session_state.get(state.JOBS_STATUS_FILTER) or []
    words = [shown[english] for english in picked if english in shown]
    return filter_jobs(frame, words=words, search=st.session_state.get(state.JOBS_SEARCH) or "")


def nothing_shown(statuses: Sequence[JobStatus], *, now: float, terminal: Collection[str]) -> str:
    """Why the filters leave no job, and how many archived jobs they would show."""
    searched = bool((st.session_state.get(state.JOBS_SEARCH) or "").strip())
    picked = bool(st.session_state.get(state.JOBS_STATUS_FILTER))
    if searched and picked:
        words = _("No job matches the search and the status filter.")
    elif searched:
        words = _("No job matches the search.")
    elif picked:
        words = _("No job matches the status filter.")
    else:
        words = _("Every job here is archived.")
    archived = [status for status in statuses if status.archived]
    if archived and not st.session_state.get(state.JOBS_SHOW_ARCHIVED):
        hidden = len(_filtered(jobs_frame(archived, now=now, terminal=terminal)))
        if hidden:
            words += " " + n_(
                "{n:,} archived job matches: turn on Show archived to see it.",
                "{n:,} archived jobs match: turn on Show archived to see them.",
                hidden,
            )
    return words


def show_jobs_table(frame: pd.DataFrame) -> None:
    """The jobs, newest first, with a progress bar each."""
    # Costs as text with one rounding for the whole table: a few millionths of a dollar must
    # not read as $0.00, nor $0.02 sit beside $0.002828.
    decimals = usd_decimals([*frame["estimated_cost_usd"], *frame["actual_cost_usd"]])
    estimates = [
        _estimate_text(amount, projected, decimals)
        for amount, projected in zip(
            frame["estimated_cost_usd"], frame["estimate_projected"], strict=True
        )
    ]
    shown = frame.assign(
        estimated_cost_usd=estimates,
        actual_cost_usd=[_usd_or_blank(amount, decimals) for amount in frame["actual_cost_usd"]],
    )
    sandbox = current_connection().sandbox
    st.dataframe(
        shown,
        hide_index=True,
        key="jobs_table",
        column_order=[c for c in JOB_COLUMNS if c not in ("job_id", "estimate_projected")],
        # Widths keep every column on a laptop's page (1400 px wide); a long name is cut short
        # here and shown whole in the picker below.
        column_config={
            "name": st.column_config.TextColumn(_("Name"), width=145),
            "created": _datetime_column(_("Created"), width=115),
            "status": st.column_config.TextColumn(_("Status"), width=155),
            "progress": st.column_config.ProgressColumn(
                _("Progress"),
                min_value=0,
                max_value=100,
                format="%d%%",
                width=75,
                help=_("Share of the job's requests answered so far (with an answer or an error)."),
            ),
            "answered": st.column_config.TextColumn(
                # "Finished", as the job's progress line says: an error counts, so "4 of 4
                # answered" beside "2 ok, 2 error" read as all answered.
                _("Finished"),
                width=90,
                help=_(
                    "Requests finished so far, with an answer or an error, of all the job's "
                    "requests. Cancelled and expired ones stay unfinished; Repair can send them."
                ),
            ),
            "estimated_cost_usd": st.column_config.TextColumn(
                label(ESTIMATE_COLUMN, sandbox),
                width=140,
                help=_(
                    "Counted before sending, at the batch price: the input plus the answers "
                    "projected from the rows tried first (≈), or the input alone (+ answers) "
                    "when the job was submitted without a try."
                ),
            ),
            "actual_cost_usd": st.column_config.TextColumn(
                label(ACTUAL_COLUMN, sandbox),
                width=110,
                help=_(
                    "What the batches used so far, at the batch price; the sandbox bills nothing."
                )
                if sandbox
                else _("What the batches used so far, at the batch price."),
            ),
            "time_left": st.column_config.TextColumn(
                _("Expires in"),
                width=85,
                help=_(
                    "Until the completion window of the running batches ends; requests not "
                    "answered by then expire."
                ),
            ),
        },
        alt=_("Your jobs, newest first"),
    )


def _usd_or_blank(amount: float, decimals: int) -> str:
    return "" if pd.isna(amount) else usd(float(amount), decimals)


def _estimate_text(amount: float, projected: bool, decimals: int) -> str:
    if pd.isna(amount):
        return ""
    text = usd(float(amount), decimals)
    return f"≈ {text}" if projected else _("{amount} + answers", amount=text)


def keep_in_step(picker_key: str, options: Sequence[str]) -> None:
    """Point the picker at the selected job (or the first option) before it is drawn."""
    selected = st.session_state.get(state.SELECTED_JOB)
    st.session_state[picker_key] = selected if selected in options else options[0]


def picked(picker_key: str, redraw_only: bool) -> None:
    """Picker callback: the picked job becomes the selected one for both pages."""
    st.session_state[state.SELECTED_JOB] = st.session_state[picker_key]
    if redraw_only:
        quiet()


def job_picker(
    label: str, statuses: Sequence[JobStatus], picker_key: str, *, redraw_only: bool = False
) -> JobStatus:
    """A select box of the jobs; the picked one's status (`redraw_only`: see `quiet`)."""
    by_id = {status.job_id: status for status in statuses}
    options = list(by_id)
    keep_in_step(picker_key, options)
    chosen = st.selectbox(
        label,
        options,
        key=picker_key,
        format_func=lambda job_id: _job_label(by_id[job_id]),
        on_change=picked,
        args=(picker_key, redraw_only),
    )
    st.session_state[state.SELECTED_JOB] = chosen
    return by_id[chosen]


def _job_label(status: JobStatus) -> str:
    label = f"{visible(status.name)} · {status.created_at:%Y-%m-%d %H:%M}"
    return _("{job} (archived)", job=label) if status.archived else label


def show_job_header(status: JobStatus, terminal: Collection[str]) -> None:
    """The job's name and status in words, what it is, and how far it got."""
    st.markdown(f"**{plain(status.name)}** · {plain(job_word(status, terminal))}")
    st.caption(
        f"{status.job_id} · {plain(status.model)} · {plain(status.endpoint)} · "
        + _rows_sent(status)
    )
    if _runs_directly(status) and status.state != "finished":
        return  # the direct run's own bar and counts follow
    st.progress(answered_percent(status) / 100, text=_progress_text(status))


def _runs_directly(status: JobStatus) -> bool:
    return status.direct is not None and not status.batches


def _rows_sent(status: JobStatus) -> str:
    """'1,200 rows sent as 2 batches' (or '..., 1 sent so far' while parts are unsent; or 'to
    send', before any batch was made; or 'exported for vLLM as 2 files')."""
    if all(batch.id.startswith(IMPORTED_PREFIX) for batch in status.batches) and (
        status.exported or status.batches
    ):
        return n_(
            "{rows:,} rows exported for vLLM as {n} file",
            "{rows:,} rows exported for vLLM as {n} files",
            status.parts,
            rows=status.rows,
        )
    if _runs_directly(status):
        return n_("{n:,} row sent directly", "{n:,} rows sent directly", status.rows)
    if status.batches and status.direct is not None:  # the rest of a batch finished directly
        return n_(
            "{rows:,} rows sent as {n} batch, the rest directly",
            "{rows:,} rows sent as {n} batches, the rest directly",
            len(status.batches),
            rows=status.rows,
        )
    if status.batches and status.unsent:  # later parts wait (token limit) or stopped
        return n_(
            "{rows:,} rows as {n} batch, {sent:,} sent so far",
            "{rows:,} rows as {n} batches, {sent:,} sent so far",
            status.parts,
            rows=status.rows,
            sent=status.parts - status.unsent,
        )
    if status.batches:
        return n_(
            "{rows:,} rows sent as {n} batch",
            "{rows:,} rows sent as {n} batches",
            status.parts,
            rows=status.rows,
        )
    return n_(
        "{rows:,} rows to send as {n} batch",
        "{rows:,} rows to send as {n} batches",
        status.parts,
        rows=status.rows,
    )


def _progress_text(status: JobStatus) -> str:
    if not status.batches and status.direct is None:
        return _("Waiting for vLLM's output file") if status.exported else _("No batch yet")
    if status.state == "active" and status.batches:
        # As the Jobs table counts them: the rows of parts not sent yet are unfinished too.
        finished, total = answered(status)
        return _("{finished:,} of {total:,} requests finished", finished=finished, total=total)
    counts = status.counts
    told = [
        _("{count:,} {status}", count=counts[key], status=count_word(key))
        for key in ROW_STATUSES
        if counts.get(key)
    ]
    return _("Finished: {counts}", counts=_(", ").join(told))


def show_job_batches(status: JobStatus, *, now: float, terminal: Collection[str]) -> None:
    """The job's problems, its batches with what their statuses mean, and validation errors."""
    for problem in status.problems:
        st.warning(plain(problem), icon=":material/warning:")
    if not status.batches:
        # An exported job's panel says what it waits for, a direct job's how its run goes.
        if not status.exported and status.direct is None:
            st.caption(_("No batch was created for this job yet."))
        return
    frame = batches_frame(status, now=now, terminal=terminal)
    st.dataframe(
        frame,
        hide_index=True,
        key="batches_table",
        column_order=[column for column in frame.columns if column != "meaning"],
        column_config={
            "batch_id": st.column_config.TextColumn(_("Batch")),
            "part": st.column_config.NumberColumn(
                _("Part"),
                help=_(
                    "Which piece of the job: a job too big for one batch is split into "
                    "numbered parts, and each repair adds one."
                ),
            ),
            "kind": st.column_config.TextColumn(_("Kind")),
            "status": st.column_config.TextColumn(_("Status")),
            "completed": st.column_config.NumberColumn(_("Answered")),
            "failed": st.column_config.NumberColumn(_("Failed")),
            "total": st.column_config.NumberColumn(_("Requests")),
            "created": _datetime_column(_("Created")),
            "expires_in": st.column_config.TextColumn(_("Expires in")),
        },
        alt=_("The batches of the job"),
    )
    meanings = dict(zip(frame["status"], frame["meaning"], strict=True))
    for word, meaning in meanings.items():
        bold = f"**{plain(word)}**"
        st.caption(_("{word}: {meaning}", word=bold, meaning=plain(meaning)))
    errors = batch_errors_frame(status)
    if len(errors):
        st.markdown("**" + _("Problems the check found in the uploaded file") + "**")
        st.dataframe(
            errors,
            hide_index=True,
            key="batch_errors_table",
            column_config={
                "batch_id": st.column_config.TextColumn(_("Batch")),
                "part": st.column_config.NumberColumn(_("Part")),
                "line": st.column_config.NumberColumn(
                    _("Line"),
                    help=_("Line of the part's JSONL file, which is the row of the part."),
                ),
                "code": st.column_config.TextColumn(_("Code")),
                "message": st.column_config.TextColumn(_("Message"), width="large"),
            },
            alt=_("Validation errors with their line numbers"),
        )
