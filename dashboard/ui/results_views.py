"""How the Results page draws a job's answers: figures, the breakdown, the table, the downloads.

The merged table is cached with `st.cache_resource` under the job, its results version (the
batches whose files are kept) and the price list, so a rerun does not merge again; a batch
fetched since changes the version. `cache_resource` hands every rerun the same read-only table,
where `cache_data` would unpickle a fresh copy of a million rows on each call. Downloads are
built when clicked, in another thread, from the same core function the tests check: streamed
from the table the registry keeps, never from the page's copy.
"""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from batchdash.display.results_layout import screen_layout
from batchdash.display.results_page import (
    Download,
    count_word,
    csv_note,
    download_bytes,
    file_name,
    filter_rows,
    result_figures,
    results_version,
    status_breakdown,
)
from batchdash.i18n import _
from batchdash.jobs.board import JobBoard
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.money import usd_all
from batchdash.results.export import formula_cells
from batchdash.results.parse import ROW_STATUSES
from batchdash.results.xlsx_writer import MAX_ROWS
from ui import state
from ui.cost_views import ACTUAL_LABEL, ESTIMATE_LABEL, label
from ui.text import plain

#: Rows of the merged table sent to the browser at most (the downloads hold every row).
SHOWN_ROWS = 10_000

_MIME: dict[Download, str] = {
    "csv": "text/csv",
    "csv_programs": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "output": "application/jsonl",
    "errors": "application/jsonl",
    "manifest": "application/json",
}
#: The downloads, in the order of their buttons.
_DOWNLOADS: tuple[Download, ...] = ("csv", "xlsx", "csv_programs", "output", "errors", "manifest")


def _label(which: Download) -> str:
    """The button label of a download, in the language in use."""
    return {
        "csv": _("Merged CSV"),
        "xlsx": _("Merged XLSX"),
        "csv_programs": _("CSV for programs"),
        "output": _("Raw output JSONL"),
        "errors": _("Raw error JSONL"),
        "manifest": _("Run manifest JSON"),
    }[which]


def _help(which: Download) -> str:
    """What a download holds, in the language in use."""
    return {
        "csv": _(
            "Your rows with the answers and lineage columns, made for Excel and other "
            "spreadsheets: UTF-8 with a byte-order mark (so Excel reads the characters right), "
            "and an apostrophe (') before each text that starts like a formula (=, +, - or @), "
            "so the spreadsheet shows it instead of running it."
        ),
        "xlsx": _(
            "The same table as an Excel workbook: every text exactly as it was (IDs keep "
            "leading zeros, nothing runs as a formula), columns of plain numbers as numbers."
        ),
        "csv_programs": _(
            "The same table with every text exactly as it was, for Python, R or a database, not "
            "for a spreadsheet (a text starting with = could run as a formula there). UTF-8 "
            "without a byte-order mark, which those programs would read as part of the first "
            "column's name."
        ),
        "output": _("Every answer line as the API wrote it, from every batch of the job."),
        "errors": _("Every failed request line as the API wrote it."),
        "manifest": _("Recipe, parts, batch ids, timestamps and costs of the run."),
    }[which]


# The spinner is the caller's, so that it speaks the language in use.
@st.cache_resource(max_entries=4, ttl="1h", show_spinner=False)
def _merged(
    db_url: str,
    scope: str,
    job_id: str,
    version: tuple[str, ...],
    prices: tuple[object, ...],
    _service: JobService,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The merged table of `job_id` with the results of the batches in `version`, and the
    cells per column its CSV neutralises (counted here once: a tenth of a second at 50,000
    rows, which every rerun of the page would spend again). Nothing changes the table: every
    session and rerun shares it."""
    merged = _service.merged_table(job_id)
    return merged, formula_cells(merged)


#: What the merged table is cached under: the database, scope, job, results version, prices.
_CacheKey = tuple[str, str, str, tuple[str, ...], tuple[object, ...]]


def _cache_key(board: JobBoard, status: JobStatus, db_url: str) -> _CacheKey:
    service = board.service
    prices = tuple(sorted(st.session_state[state.PRICE_OVERRIDES].items()))
    return (db_url, service.scope, status.job_id, results_version(service, status), prices)


def merged_table(board: JobBoard, status: JobStatus, db_url: str) -> pd.DataFrame:
    """The job's merged table, merged again only when new results were fetched."""
    with st.spinner(_("Merging the answers into your rows…")):
        return _merged(*_cache_key(board, status, db_url), board.service)[0]


def show_figures(status: JobStatus, merged: pd.DataFrame, *, sandbox: bool = False) -> None:
    """Rows by status, tokens, and the actual cost beside the estimate, with one rounding."""
    counts = status.counts
    with st.container(horizontal=True):
        for key in (*ROW_STATUSES, "pending"):
            if key == "pending" and not counts.get("pending"):
                continue
            st.metric(
                _("Rows {status}", status=count_word(key)), f"{counts.get(key, 0):,}", border=True
            )
    figures = result_figures(merged)
    projected = status.expected_cost_usd is not None
    expected, input_cost, answers, answers_max, actual = usd_all(
        [
            status.expected_cost_usd,
            status.estimated_cost_usd,
            status.answers_expected_usd,
            status.answers_max_usd,
            status.actual_cost_usd,
        ],
        sums={0: (1, 2)},  # the estimate and, in the caption below, its two parts
    )
    with st.container(horizontal=True):
        st.metric(_("Input tokens"), f"{figures.input_tokens:,}", border=True)
        st.metric(_("Output tokens"), f"{figures.output_tokens:,}", border=True)
        st.metric(
            label(ESTIMATE_LABEL, sandbox),
            f"≈ {expected}" if projected else _("{amount} + answers", amount=input_cost),
            border=True,
            help=_("Counted before sending, at the batch price."),
        )
        st.metric(
            label(ACTUAL_LABEL, sandbox),
            actual,
            border=True,
            help=_actual_help(status.state == "active", sandbox),
        )
    if status.estimated_cost_usd is None:
        return  # no price known for the model: nothing to break down
    if status.answers_max_usd == 0 and status.estimated_cost_usd == 0:
        st.caption(
            _("The rows ran on your own machine (vLLM or a local server): nothing is billed.")
        )
        return
    bound = (
        _("at most {amount} if every answer used its whole limit", amount=answers_max)
        if status.answers_max_usd is not None
        else _("no output limit is known to bound them")
    )
    estimate = (
        _(
            "Estimate: {input} for the input, counted before sending, and about {answers} for "
            "the answers, projected from the rows tried first ({bound}).",
            input=input_cost,
            answers=answers,
            bound=bound,
        )
        if projected
        else _(
            "Estimate: {input} for the input, counted before sending, plus the answers, which "
            "were not projected (no rows were tried with this recipe before sending; {bound}).",
            input=input_cost,
            bound=bound,
        )
    )
    st.caption(_("{estimate} {actual}", estimate=estimate, actual=_actual_note(status, actual)))


def _actual_help(running: bool, sandbox: bool) -> str:
    if running:
        if sandbox:
            return _("What the batches used so far, at the batch price; the sandbox bills nothing.")
        return _("What the batches used so far, at the batch price.")
    if sandbox:
        return _("What the batches used, at the batch price; the sandbox bills nothing.")
    return _("What the batches used, at the batch price.")


def _actual_note(status: JobStatus, actual: str) -> str:
    """The actual cost, and which rows it covers when not every row was answered (the estimate
    is for all of them)."""
    ran = status.counts.get("ok", 0) + status.counts.get("error", 0)
    running = status.state == "active"
    if ran >= status.rows:
        if running:
            return _("Actual: {amount} so far.", amount=actual)
        return _("Actual: {amount}.", amount=actual)
    if running:
        return _(
            "Actual: {amount} so far, for the {ran:,} of {rows:,} rows that ran (the estimate "
            "is for all).",
            amount=actual,
            ran=ran,
            rows=status.rows,
        )
    return _(
        "Actual: {amount}, for the {ran:,} of {rows:,} rows that ran (the estimate is for all).",
        amount=actual,
        ran=ran,
        rows=status.rows,
    )


def show_breakdown(status: JobStatus) -> None:
    """A bar per row status."""
    breakdown = status_breakdown(status)
    st.bar_chart(
        breakdown,
        x="status",
        y="rows",
        x_label=_("status"),
        y_label=_("rows"),
        horizontal=True,
        sort=False,
        height=220,
        alt=_(", ").join(
            _("{rows} rows {status}", rows=row.rows, status=row.status)
            for row in breakdown.itertuples()
        ),
    )


def show_table(merged: pd.DataFrame) -> None:
    """The merged table, filtered by row status, row numbers as in the input; the answer near
    the front, the technical columns behind a toggle (the downloads keep every column)."""
    present = [status for status in ROW_STATUSES if (merged["status"] == status).any()]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        picked = st.pills(
            _("Show rows"),
            present,
            selection_mode="multi",
            key=state.RESULTS_STATUS_FILTER,
            format_func=count_word,
            help=_("Pick statuses to see only those rows; none picked shows every row."),
        )
        technical = st.toggle(
            _("Show technical columns"),
            key=state.RESULTS_TECHNICAL,
            help=_(
                "custom_id, finish_reason, input_tokens, output_tokens, cost_usd, batch_id and "
                "model: how each row was run. The downloads always hold them."
            ),
        )
    statuses: list[str] = [key for key in picked if key in present]
    rows = filter_rows(merged, statuses)
    shown = rows.head(SHOWN_ROWS).set_axis(rows.index[:SHOWN_ROWS] + 1)
    layout = screen_layout(merged, technical=technical)
    st.caption(_("A cell shows the start of a long text: tick a row to read all of it below."))
    event = st.dataframe(
        shown,
        # A tick marks a place in the rows shown: other statuses shown start with none.
        key="results_table_" + "_".join(sorted(statuses)),
        alt=_("Your rows with their answers"),
        column_order=layout.order,
        column_config={
            name: st.column_config.Column(width=width) for name, width in layout.widths.items()
        },
        on_select="rerun",
        selection_mode="single-row",
        hide_index=False,  # the row numbers, which a selectable table would otherwise hide
    )
    if len(rows) > SHOWN_ROWS:
        st.caption(
            _(
                "The first {shown:,} of {rows:,} rows are shown; the downloads hold all.",
                shown=SHOWN_ROWS,
                rows=len(rows),
            )
        )
    ticked = [position for position in event.selection.rows if position < len(shown)]
    if ticked:
        _show_row(shown.iloc[ticked[0]], int(shown.index[ticked[0]]), layout.order)


def _show_row(row: pd.Series, number: int, columns: list[str]) -> None:
    """One row in full, each column with its name: what the table's cells cut short."""
    with st.container(border=True, key="results_row"):
        st.markdown("**" + plain(_("Row {number:,}", number=number)) + "**")
        for name in columns:
            value = row[name]
            if value is None or pd.isna(value) or str(value) == "":
                continue
            # The name above its text; line breaks kept, which Markdown would join.
            st.markdown(f":gray[{plain(name)}]  \n" + plain(value).replace("\n", "  \n"))


def show_downloads(board: JobBoard, status: JobStatus, db_url: str) -> None:
    """One button per file, each built when its button is clicked; a word on what the CSV
    for spreadsheets changed."""
    key = _cache_key(board, status, db_url)
    version = key[3]
    with st.container(horizontal=True):
        for which in _DOWNLOADS:
            st.download_button(
                _label(which),
                data=functools.partial(download_bytes, board.service, status.job_id, which),
                file_name=file_name(status, which),
                mime=_MIME[which],
                key=f"download_{which}",
                icon=":material/download:",
                help=_too_many_rows_help() if _too_many_rows(which, status) else _help(which),
                on_click="ignore",
                disabled=_empty(which, status, version) or _too_many_rows(which, status),
            )
    changed = _merged(*key, board.service)[1]
    st.caption(plain(csv_note(changed)))


def _too_many_rows_help() -> str:
    return _(
        "An Excel sheet holds at most {rows:,} rows below its header, and this job has more: "
        "download the Merged CSV instead, which Excel and other programs open as well.",
        rows=MAX_ROWS - 1,
    )


def _too_many_rows(which: Download, status: JobStatus) -> bool:
    """Whether the job has more rows than an XLSX sheet holds (known before any merge)."""
    return which == "xlsx" and status.rows >= MAX_ROWS


def _empty(which: Download, status: JobStatus, version: tuple[str, ...]) -> bool:
    """Whether the file would hold nothing (a disabled button says so better than an empty file)."""
    counts = status.counts
    if which == "output":
        return not version or not (counts.get("ok") or counts.get("error"))
    if which == "errors":
        return not version or not any(counts.get(key) for key in ("error", "expired", "cancelled"))
    return False
