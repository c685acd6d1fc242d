"""The Source step of New job: an uploaded file, a table typed in the page, or pasted rows.

Whatever the way, the result is a `Source`: the table read into text cells and a digest of it,
which keys everything computed from the table later on. The uploaded bytes, the typed table
and the pasted text stay in the session, so leaving the page loses nothing. Nor does a bad
upload: a file over the size limit is refused before it replaces anything, and while a new
file cannot be read the page goes on with the last one that could, saying so.

Reading needs pandas and pyarrow, which take a second or more to import on a busy machine:
they are imported when there is something to read, so the page opens at once on the uploader.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

import streamlit as st

from batchdash.errors import InputError
from batchdash.i18n import _, _l, n_
from batchdash.inputs.delimiters import OFFERED_DELIMITERS
from batchdash.inputs.encodings import OFFERED_ENCODINGS
from batchdash.inputs.file_kinds import check_file_name, check_upload_size
from ui import state
from ui.choices import settle_choice
from ui.memo import remembered
from ui.reading_words import delimiter_name, encoding_words, separated_words
from ui.text import plain

if TYPE_CHECKING:
    import pandas as pd

    from batchdash.inputs.reading import Table

#: Rows shown in the preview; the row count is always shown in full.
PREVIEW_ROWS = 100
#: Empty rows the typed table starts with.
COMPOSE_ROWS = 3
COMPOSED_NAME = "typed table"

#: The option that leaves a reading choice to detection (None would read as "no selection").
AUTOMATIC = ""
_ENCODINGS = (AUTOMATIC, *OFFERED_ENCODINGS)
_DELIMITERS = (AUTOMATIC, *OFFERED_DELIMITERS)


@dataclass(frozen=True, eq=False)
class Upload:
    """A file the analyst uploaded, kept once the uploader is gone from the page."""

    #: The file's name as uploaded.
    name: str
    #: The file's bytes.
    data: bytes = field(repr=False)
    #: BLAKE2 digest of the bytes.
    digest: str


@dataclass(frozen=True)
class KeptUpload:
    """An upload that read into a table, and the reading options it was read with."""

    #: The file.
    upload: Upload
    #: Codec chosen by hand, or None for detection.
    encoding: str | None
    #: Delimiter chosen by hand, or None for detection.
    delimiter: str | None
    #: Worksheet chosen by hand, or None for the first visible one.
    sheet: str | None

    @property
    def options(self) -> tuple[str, str, str | None, str | None, str | None]:
        """What the table read from it depends on (the digest of its Source): the name too,
        which says how the bytes are read (.tsv, .xlsx) and names the table and its job."""
        return (self.upload.digest, self.upload.name, self.encoding, self.delimiter, self.sheet)


@dataclass(frozen=True, eq=False)
class Source:
    """The table the job is made from."""

    #: The rows as text cells, with what was noticed while reading them.
    table: Table
    #: Names the table's content (and how it was read): the cache key of its preflight.
    digest: str


def _digest(*parts: bytes) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.hexdigest()


def take_upload() -> None:
    """Uploader callback: keep the new file (or put the removed one aside) and reset the options.

    A file over the size limit is refused here, before its bytes are read: the file and the
    table in use stay as they were.
    """
    st.session_state[state.UPLOAD_REFUSED] = None
    uploaded = st.session_state.get(state.UPLOADER)
    if uploaded is None:
        # The last table read stays kept: replacing a file empties the uploader for one run
        # before the new file arrives, and should the new file not read, the page goes on
        # with that table. With no file in use the kept one is never shown.
        st.session_state[state.UPLOAD] = None
        return
    try:
        check_upload_size(uploaded.size, uploaded.name)
        check_file_name(uploaded.name)
    except InputError as error:
        # The error itself: its message is said in the language of each later run.
        st.session_state[state.UPLOAD_REFUSED] = error
        return
    data = uploaded.getvalue()
    st.session_state[state.UPLOAD] = Upload(uploaded.name, data, _digest(data))
    for key in (state.READ_ENCODING, state.READ_DELIMITER, state.READ_SHEET):
        if key in st.session_state:
            del st.session_state[key]


def uploaded_source() -> Source | None:
    """The uploader, the reading options of the file, and the table read from it."""
    # No `type=`: Streamlit would check the name itself before any of this code runs and
    # replace the whole page with an error for a name it refuses (a NUL byte from a crafted
    # client); Batchdash checks the name and the kind and says what is wrong instead.
    st.file_uploader(
        _("Spreadsheet (CSV, TSV or XLSX)"),
        key=state.UPLOADER,
        on_change=take_upload,
        help=_("The first row names the columns; every other row becomes one request."),
    )
    upload: Upload | None = st.session_state[state.UPLOAD]
    refused = st.session_state.get(state.UPLOAD_REFUSED)
    if refused:
        st.error(plain(refused), icon=":material/error:")
        if upload is not None:
            _still_using(upload.name, None)
    if upload is None:
        st.caption(_("Upload a file, or switch to typing or pasting the rows."))
        return None
    from batchdash.inputs.hidden_characters import hidden_in_name
    from batchdash.inputs.reading import Table

    unseen = hidden_in_name(upload.name, _("The file name"))
    if unseen:
        st.warning(plain(unseen), icon=":material/visibility_off:")
    settle_choice(state.READ_ENCODING, _ENCODINGS, _encoding_label)
    settle_choice(state.READ_DELIMITER, _DELIMITERS, _delimiter_label)
    encoding = st.session_state.get(state.READ_ENCODING) or None
    delimiter = _chosen_delimiter()
    chosen = KeptUpload(upload, encoding, delimiter, _chosen_sheet(upload, encoding, delimiter))
    outcome = _read("upload", chosen)
    table = outcome if isinstance(outcome, Table) else None
    if st.session_state.get(state.UPLOADER) is None:
        st.caption(
            _(
                "Using **{name}** ({size:,} bytes), uploaded earlier. Upload another file to "
                "replace it.",
                name=plain(upload.name),
                size=len(upload.data),
            )
        )
    if table is not None and table.sheets:
        _sheet_picker(table)
    elif table is not None or not upload.name.lower().endswith(".xlsx"):
        _text_options(table)
    if table is not None:
        st.session_state[state.KEPT_UPLOAD] = chosen
        return Source(table, _options_digest(chosen))
    st.error(plain(outcome), icon=":material/error:")
    return _earlier_source(upload)


def _chosen_delimiter() -> str | None:
    """The delimiter picked by hand, or None for detection (also for a value no option has)."""
    picked = st.session_state.get(state.READ_DELIMITER)
    return picked if picked in OFFERED_DELIMITERS else None


def _chosen_sheet(upload: Upload, encoding: str | None, delimiter: str | None) -> str | None:
    """The worksheet picked by hand when the file has it, else None (its first sheet).

    A name the file lacks was picked in another workbook: the browser may send it back once
    after the next file arrived. It is dropped rather than read as a mistake of the analyst.
    """
    sheet = st.session_state.get(state.READ_SHEET) or None
    if sheet is None:
        return None
    from batchdash.inputs.reading import Table

    first = _read("upload:first-sheet", KeptUpload(upload, encoding, delimiter, None))
    if isinstance(first, Table) and sheet not in first.sheets:
        del st.session_state[state.READ_SHEET]
        return None
    return sheet


def _read(slot: str, chosen: KeptUpload) -> Table | InputError:
    """The table of an upload read with its options, or why it cannot be read."""
    from ui import cached

    upload = chosen.upload
    return remembered(
        slot,
        chosen.options,
        lambda: cached.read_upload(
            upload.digest, upload.data, upload.name, chosen.encoding, chosen.delimiter, chosen.sheet
        ),
    )


def _options_digest(chosen: KeptUpload) -> str:
    return _digest(*(str(part).encode() for part in chosen.options))


def _earlier_source(failed: Upload) -> Source | None:
    """The table of the last upload that could be read, while `failed` cannot be."""
    kept: KeptUpload | None = st.session_state.get(state.KEPT_UPLOAD)
    if kept is None or kept.upload.digest == failed.digest:
        return None
    from batchdash.inputs.reading import Table

    outcome = _read("upload:kept", kept)
    if not isinstance(outcome, Table):
        return None
    _still_using(kept.upload.name, failed.name)
    return Source(outcome, _options_digest(kept))


def _still_using(name: str, failed: str | None) -> None:
    """Which file the page goes on with, instead of `failed` (None: the file refused)."""
    st.info(
        _(
            "The page still uses **{name}**, read earlier, instead of the file that was refused.",
            name=plain(name),
        )
        if failed is None
        else _(
            "The page still uses **{name}**, read earlier, instead of {failed}.",
            name=plain(name),
            failed=plain(failed),
        ),
        icon=":material/history:",
    )


def _sheet_picker(table: Table) -> None:
    sheets = list(table.sheets)
    if state.READ_SHEET not in st.session_state and table.sheet in sheets:
        st.session_state[state.READ_SHEET] = table.sheet
    st.selectbox(_("Worksheet"), sheets, key=state.READ_SHEET, persist_state="session")


def _encoding_label(option: str) -> str:
    """An offered encoding by its name; a codec typed by hand as typed, so that the label the
    browser sends back reads as the same codec."""
    if option == AUTOMATIC:
        return _("Automatic")
    return encoding_words(option) if option in _ENCODINGS else option


def _delimiter_label(option: str) -> str:
    return delimiter_name(option) if option else _("Automatic")


def _text_options(table: Table | None) -> None:
    """The Encoding and Delimiter boxes, with what automatic detection found said beneath.

    Their labels never depend on the file: the browser sends back the label it shows, and a
    label naming the last file's detection would be read as a typed codec once the next file
    is detected otherwise (the uploader runs the page once without a file in between). For
    the same reason a codec typed by hand is labelled as typed.
    """
    left, right = st.columns(2)
    encoding = left.selectbox(
        _("Encoding"),
        _ENCODINGS,
        format_func=_encoding_label,
        key=state.READ_ENCODING,
        accept_new_options=True,
        persist_state="session",
        help=_(
            "How the file's characters are stored. Pick another if the preview shows "
            "garbled letters; you may also type a codec name."
        ),
    )
    delimiter = right.selectbox(
        _("Delimiter"),
        _DELIMITERS,
        format_func=_delimiter_label,
        key=state.READ_DELIMITER,
        persist_state="session",
        help=_("The character between the cells of a row."),
    )
    found = []
    if table is not None and table.encoding and not encoding:
        found.append(encoding_words(table.encoding))
    if table is not None and table.delimiter and not delimiter:
        found.append(separated_words(table.delimiter))
    if found:
        st.caption(_("Automatic reads this file as {how}.", how=plain(_(", ").join(found))))


def _blank_composed() -> pd.DataFrame:
    import pandas as pd

    from batchdash.inputs.reading import PASTED_COLUMN

    return pd.DataFrame({PASTED_COLUMN: pd.Series([""] * COMPOSE_ROWS, dtype=str)})


def add_column() -> None:
    """Button callback: add the named column to the typed table."""
    from ui.editors import edited_table, replace_table

    name = str(st.session_state.get(state.NEW_COLUMN) or "").strip()
    table = edited_table(state.COMPOSE_EDITOR, _blank_composed)
    if not name:
        st.session_state[state.COLUMN_PROBLEM] = _l("Type a name for the new column first.")
        return
    if name in table.columns:
        st.session_state[state.COLUMN_PROBLEM] = _l(
            "The table already has a column '{name}'.", name=name
        )
        return
    st.session_state[state.COLUMN_PROBLEM] = None
    replace_table(state.COMPOSE_EDITOR, table.assign(**{name: ""}))
    st.session_state[state.NEW_COLUMN] = ""


def composed_source() -> Source | None:
    """A table typed into the page, starting with a `prompt` column."""
    import pandas as pd

    from batchdash.inputs.reading import read_typed
    from ui.editors import kept_editor

    edited = kept_editor(
        state.COMPOSE_EDITOR,
        _blank_composed,
        num_rows="dynamic",
        hide_index=True,
        alt=_("The table of prompts being typed"),
    )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            _("New column"),
            key=state.NEW_COLUMN,
            placeholder=_("e.g. country"),
            persist_state="session",
        )
        st.button(_("Add column"), icon=":material/add:", on_click=add_column)
    problem = st.session_state.get(state.COLUMN_PROBLEM)
    if problem:
        st.warning(plain(problem))
    try:
        table = read_typed(edited, COMPOSED_NAME)
    except InputError as error:
        st.caption(plain(error))
        return None
    frame = table.frame
    content = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return Source(table, _digest(b"typed", "\x1f".join(frame.columns).encode(), content))


def pasted_source() -> Source | None:
    """Rows pasted from Excel or Google Sheets."""
    st.text_area(
        _("Rows copied from a spreadsheet"),
        key=state.PASTED_TEXT,
        height=180,
        persist_state="session",
        placeholder=_(
            "Copy the rows in Excel or Google Sheets, header row included, and paste "
            "them here. One prompt per line works too."
        ),
    )
    text: str = st.session_state.get(state.PASTED_TEXT) or ""
    if not text.strip():
        return None
    from batchdash.inputs.reading import Table
    from ui import cached

    outcome = remembered("paste", text, lambda: cached.read_paste(text))
    if not isinstance(outcome, Table):
        st.error(plain(outcome), icon=":material/error:")
        return None
    return Source(outcome, _digest(b"pasted", text.encode()))


def show_source(source: Source) -> None:
    """Row count, how the table was read, the notes worth checking, and the first rows."""
    import pandas as pd

    table = source.table
    rows, columns = table.frame.shape
    how = [
        _(
            "{rows} × {columns} from {source}",
            rows=n_("**{n:,} row**", "**{n:,} rows**", rows),
            columns=n_("{n:,} column", "{n:,} columns", columns),
            source=plain(_source_words(table.source_name)),
        )
    ]
    if table.sheet:
        how.append(_("sheet {sheet}", sheet=plain(table.sheet)))
    if table.encoding:
        how.append(encoding_words(table.encoding))
    if table.delimiter:
        how.append(separated_words(table.delimiter))
    caption = _("{how}.", how=_(", ").join(how))
    blank = table.blank_rows_dropped
    if blank:
        caption += " " + n_(
            "{n:,} blank row was left out.", "{n:,} blank rows were left out.", blank
        )
    st.markdown(caption)
    for note in table.notes:
        st.warning(plain(note), icon=":material/warning:")
    preview = table.frame.head(PREVIEW_ROWS)
    preview = preview.set_axis(pd.RangeIndex(1, len(preview) + 1), axis=0)
    st.dataframe(
        preview,
        height=min(38 + 35 * len(preview), 300),
        alt=_("The first rows of {source}", source=_source_words(table.source_name)),
    )
    if rows > PREVIEW_ROWS:
        st.caption(_("The first {shown} of {rows:,} rows.", shown=PREVIEW_ROWS, rows=rows))


def _source_words(source_name: str) -> str:
    """The table's name as the page says it: a file's as it is, a typed or pasted table's in
    the language in use (its name in files and jobs stays the English one)."""
    said = {COMPOSED_NAME: _("typed table"), "pasted rows": _("pasted rows")}
    return said.get(source_name, source_name)


def source_stem(source: Source) -> str:
    """A short name for files and jobs made from this source."""
    return PurePath(source.table.source_name).stem.replace(" ", "-") or "batch"
