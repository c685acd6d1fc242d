"""What the Results page shows and hands out for a job: figures, the breakdown, the files.

Every download is built here from the job service (no Streamlit), so the page and its tests
get the same bytes.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from batchdash.jobs.service import JobService
from batchdash.jobs.status import COUNT_KEYS, JobStatus
from batchdash.results.export import write_csv, write_xlsx_table

#: What each download holds.
Download = Literal["csv", "csv_programs", "xlsx", "output", "errors", "manifest"]

#: Words for the row counts, in the order the page shows them.
COUNT_WORDS: dict[str, str] = {
    "ok": "ok",
    "error": "error",
    "expired": "expired",
    "cancelled": "cancelled",
    "not_run": "not run",
    "pending": "still running",
}

_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class ResultFigures:
    """Totals over a job's merged table."""

    #: Input tokens of every answered or failed request.
    input_tokens: int
    #: Output tokens of every answer.
    output_tokens: int
    #: Rows whose answer was fetched (any status but not_run).
    rows_with_result: int


def results_version(service: JobService, status: JobStatus) -> tuple[str, ...]:
    """The batches whose results are kept: the merged table changes only when this does."""
    registry = service.registry
    return tuple(batch.id for batch in status.batches if registry.has_results(batch.id))


def status_breakdown(status: JobStatus) -> pd.DataFrame:
    """Rows per status (`status`, `rows`), every status listed, pending only while running."""
    keys = [key for key in COUNT_KEYS if key != "pending" or status.counts.get("pending")]
    return pd.DataFrame(
        {
            "status": [COUNT_WORDS[key] for key in keys],
            "rows": [int(status.counts.get(key, 0)) for key in keys],
        }
    )


def result_figures(merged: pd.DataFrame) -> ResultFigures:
    """Token totals of a merged table."""
    return ResultFigures(
        input_tokens=int(merged["input_tokens"].fillna(0).sum()),
        output_tokens=int(merged["output_tokens"].fillna(0).sum()),
        rows_with_result=int((merged["status"] != "not_run").sum()),
    )


def filter_rows(merged: pd.DataFrame, statuses: list[str]) -> pd.DataFrame:
    """The rows with one of `statuses` (all rows when none is given)."""
    if not statuses:
        return merged
    return merged[merged["status"].isin(statuses)]


def file_stem(status: JobStatus) -> str:
    """A file-name stem for the job's downloads: its name made safe, e.g. 'reviews-2026-11-26'."""
    stem = _UNSAFE_NAME.sub("-", status.name).strip("-.")
    return stem[:80] or status.job_id


def file_name(status: JobStatus, which: Download) -> str:
    """The name a download gets, e.g. 'reviews-results.csv' or 'reviews-output.jsonl'."""
    stem = file_stem(status)
    return {
        "csv": f"{stem}-results.csv",
        "csv_programs": f"{stem}-results-for-programs.csv",
        "xlsx": f"{stem}-results.xlsx",
        "output": f"{stem}-output.jsonl",
        "errors": f"{stem}-errors.jsonl",
        "manifest": f"{stem}-manifest.json",
    }[which]


def download_bytes(service: JobService, job_id: str, which: Download) -> bytes:
    """The bytes of one download of the job; the merged table is streamed into them from the
    registry's copy, a row group (CSV) or a column (XLSX) at a time."""
    if which in ("csv", "csv_programs", "xlsx"):
        out = io.BytesIO()
        merged = service.merged_columns(job_id)
        if which == "xlsx":
            write_xlsx_table(merged, out)
        else:
            write_csv(merged, out, for_spreadsheets=which == "csv")
        return out.getvalue()
    if which in ("output", "errors"):
        output, errors = service.raw_results(job_id)
        return output if which == "output" else errors
    manifest = service.manifest(job_id)
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def csv_note(formula_counts: dict[str, int]) -> str:
    """What the Merged CSV changed (`export.formula_cells`) and where to find the text as is."""
    total = sum(formula_counts.values())
    if not total:
        return (
            "No cell starts with =, +, - or @, so the Merged CSV holds every text as it was. "
            "The CSV for programs is the same table without the byte-order mark Excel needs."
        )
    names = list(formula_counts)
    if len(names) == 1:
        where = f"in the column {names[0]}"
    elif len(names) <= 3:
        where = f"in the columns {', '.join(names[:-1])} and {names[-1]}"
    else:
        where = f"in {len(names)} columns"
    cells = "1 cell" if total == 1 else f"{total:,} cells"
    verb = "starts" if total == 1 else "start"
    return (
        f"In the Merged CSV, {cells} ({where}) {verb} like a formula (with =, +, - or @), "
        "which a spreadsheet would run, so each has an apostrophe (') put in front of it. The "
        "Merged XLSX keeps every text exactly as it was; so does the CSV for programs, made "
        "for Python, R or a "
        "database rather than a spreadsheet."
    )
