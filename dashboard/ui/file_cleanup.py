"""Settings: the files Batchdash made on the provider under this key, and their clean-up.

The list is asked of the provider only when the analyst asks (a long list takes several
pages); the clean-up judges every file again right before deleting it (`tidying.clean_up`), so a
job that moved since the list was drawn is never robbed of a file it needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import streamlit as st

from batchdash.i18n import _, n_
from batchdash.i18n.formatting import time_span
from batchdash.jobs.tidying import (
    OUTPUT_KEPT_SECONDS,
    CleanUp,
    FileReview,
    clean_up,
    files_refusal,
    review_files,
)
from ui import dialogs
from ui.connection import Connection, current_connection
from ui.job_access import attempt, job_service
from ui.language import apply_language
from ui.text import plain

# Session keys of this section.
_LISTED = "file_cleanup_listed"
_DIALOG = "file_cleanup_dialog"
_DONE = "file_cleanup_done"


@dataclass(frozen=True)
class _Listed:
    """A review of the files, for the scope it was made under."""

    scope: str
    review: FileReview


def show_file_cleanup() -> None:
    """The section: what Batchdash does with its files, their list, and the clean-up."""
    st.subheader(_("Files on the provider"), divider="gray")
    st.caption(
        _(
            "Batchdash deletes each batch's input file once the batch is over and its results "
            "are kept here, and asks the provider to keep output files {days} days (the "
            "results are fetched before then even if nobody opens the job for weeks). Files "
            "left from earlier jobs can be listed and cleaned up here; Azure holds at most 500 "
            "input files per resource.",
            days=OUTPUT_KEPT_SECONDS // 86_400,
        )
    )
    connection = current_connection()
    refusal = files_refusal(connection.provider)
    if refusal is not None:
        st.info(plain(refusal), icon=":material/info:")
        return
    if connection.refusal:
        return  # the address is refused: said above, under the API key
    if st.button(_("List the files"), icon=":material/folder_open:", key="file_cleanup_list"):
        st.session_state[_DONE] = None
        _list(connection)
    _show_done()
    listed: _Listed | None = st.session_state.get(_LISTED)
    if listed is None or listed.scope != connection.scope:
        return
    _show_review(listed.review)
    if st.session_state.get(_DIALOG):
        title = _("Delete the files no longer needed")
        st.dialog(title, width="medium", on_dismiss=_close)(_in_language)(connection)


def _list(connection: Connection) -> None:
    with st.spinner(_("Listing the files…")):
        review = attempt(lambda: review_files(job_service(connection)))
    if review is not None:
        st.session_state[_LISTED] = _Listed(connection.scope, review)


def _show_review(review: FileReview) -> None:
    unneeded = review.unneeded
    if review.files:
        st.dataframe(_table(review), hide_index=True, width="stretch", key="file_cleanup_table")
        st.caption(_counts(review) + " " + _others(review.others))
    else:
        st.info(
            _("Batchdash has no files on the provider under this key."),
            icon=":material/done_all:",
        )
        st.caption(_others(review.others))
    label = (
        n_(
            "Delete the file no longer needed",
            "Delete the {count:,} files no longer needed",
            len(unneeded),
            count=len(unneeded),
        )
        if unneeded
        else _("Nothing to delete")
    )
    st.button(
        label,
        icon=":material/delete_sweep:",
        key="file_cleanup_open",
        disabled=not unneeded,
        on_click=_open,
    )


def _counts(review: FileReview) -> str:
    """How many files are Batchdash's, and how many of them it no longer needs."""
    unneeded = review.unneeded
    if not unneeded:
        return n_(
            "{count:,} file is Batchdash's, and it is still needed.",
            "{count:,} files are Batchdash's, all still needed.",
            len(review.files),
            count=len(review.files),
        )
    return n_(
        "{count:,} file is Batchdash's; {unneeded:,} of them no longer needed ({size}).",
        "{count:,} files are Batchdash's; {unneeded:,} of them no longer needed ({size}).",
        len(review.files),
        count=len(review.files),
        unneeded=len(unneeded),
        size=_size(sum(kept.file.bytes for kept in unneeded)),
    )


def _others(others: int) -> str:
    return n_(
        "{others:,} other file of this key is not Batchdash's and is left alone.",
        "{others:,} other files of this key are not Batchdash's and are left alone.",
        others,
        others=others,
    )


def _table(review: FileReview) -> pd.DataFrame:
    now = time.time()
    roles = {"input": _("input"), "output": _("output"), "error": _("errors")}
    return pd.DataFrame(
        {
            _("File"): [kept.file.filename or kept.file.id for kept in review.files],
            _("Job"): [kept.job_name or kept.job_id or "" for kept in review.files],
            _("Kind"): [roles.get(kept.role, kept.role) for kept in review.files],
            _("Size"): [_size(kept.file.bytes) for kept in review.files],
            _("Age"): [
                time_span(timedelta(seconds=max(0.0, now - kept.file.created_at)))
                for kept in review.files
            ],
            _("Still needed"): [_("yes") if kept.needed else _("no") for kept in review.files],
            _("Why"): [str(kept.reason) for kept in review.files],
        }
    )


def _size(size: int) -> str:
    """Bytes as an analyst reads them: '840 kB', '12.5 MB'."""
    return f"{size / 1e6:,.1f} MB" if size >= 1_000_000 else f"{size / 1e3:,.1f} kB"


def _open() -> None:
    st.session_state[_DIALOG] = True


def _forget() -> None:
    st.session_state[_DIALOG] = False


def _close() -> None:
    dialogs.close(_forget)


def _in_language(connection: Connection) -> None:
    # A button of the dialog reruns only the dialog, maybe in a new script thread, where the
    # entry script has not set the session's language.
    apply_language()
    _confirm_dialog(connection)


def _confirm_dialog(connection: Connection) -> None:
    listed: _Listed = st.session_state[_LISTED]
    count = len(listed.review.unneeded)
    st.write(
        n_(
            "Delete {count:,} file Batchdash no longer needs from the provider? Its results "
            "stay in Batchdash. Files of batches that are not over are kept.",
            "Delete {count:,} files Batchdash no longer needs from the provider? Their results "
            "stay in Batchdash. Files of batches that are not over are kept.",
            count,
            count=count,
        )
    )
    if dialogs.confirm_row(_("Delete them"), "file_cleanup_confirm", _forget, _("Cancel")):
        done = attempt(lambda: clean_up(job_service(connection)))
        if done is None:
            return  # the error is shown in the dialog; Cancel or × closes it
        st.session_state[_DONE] = done
        _forget()
        _list(connection)
        st.rerun()


def _show_done() -> None:
    done: CleanUp | None = st.session_state.get(_DONE)
    if done is None:
        return
    st.success(
        n_(
            "Deleted {count:,} file from the provider.",
            "Deleted {count:,} files from the provider.",
            len(done.deleted),
            count=len(done.deleted),
        ),
        icon=":material/check_circle:",
    )
    for kept, error in done.failed:
        st.warning(
            _(
                "{file} could not be deleted: {error}",
                file=plain(kept.file.filename or kept.file.id),
                error=plain(error),
            ),
            icon=":material/warning:",
        )
