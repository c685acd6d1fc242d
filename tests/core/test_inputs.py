"""Reading CSV, TSV and TXT uploads, and pasted rows, into tables of text cells."""

from __future__ import annotations

import random
import re
import zipfile
from io import BytesIO

import pandas as pd
import pytest

from batchdash.errors import InputError
from batchdash.inputs import text_tables
from batchdash.inputs.reading import Table, read_pasted, read_table


def rows(table: Table) -> list[list[str]]:
    return [list(row) for row in table.frame.itertuples(index=False)]


# --- cells are text ---------------------------------------------------------------------------


def test_every_cell_is_text_and_empty_is_empty_string() -> None:
    table = read_table(b"id,score,note,flag\n007,1.50,,TRUE\n008,1e5,NA,null\n", "ids.csv")
    assert rows(table) == [["007", "1.50", "", "TRUE"], ["008", "1e5", "NA", "null"]]
    assert list(table.frame.columns) == ["id", "score", "note", "flag"]
    assert all(str(dtype) == "str" for dtype in table.frame.dtypes)
    assert isinstance(table.frame.index, pd.RangeIndex)
    assert not table.frame.isna().any().any()
    assert (table.source_name, table.sheet, table.sheets) == ("ids.csv", None, ())


def test_a_path_is_reduced_to_the_file_name() -> None:
    assert read_table(b"a\n1\n", "/home/ana/Documents/prompts.csv").source_name == "prompts.csv"


def test_control_characters_are_kept_as_text() -> None:
    table = read_table(b"id,prompt\n1,bell\x07 and escape\x1b[0m\n", "ctl.csv")
    assert table.frame["prompt"].tolist() == ["bell\x07 and escape\x1b[0m"]


@pytest.mark.parametrize("short_by", range(10))
def test_a_direction_override_across_the_scans_1_mib_step_is_noted(short_by: int) -> None:
    # A column's text is scanned 1 MiB at a time, after the header's few bytes: one of these
    # lengths puts the mark's 3 bytes across the end of the first step.
    cell = "a" * ((1 << 20) - short_by) + "\u202e" + "tail"
    table = read_table(f"id,prompt\n1,{cell}\n2,plain\n".encode(), "long.csv")
    assert any("Cells in row 1 hold direction overrides" in note for note in table.notes)


def test_leading_and_trailing_spaces_in_cells_are_kept_but_header_names_trimmed() -> None:
    table = read_table(b" id , prompt \n1,  two spaces  \n", "s.csv")
    assert list(table.frame.columns) == ["id", "prompt"]
    assert table.frame["prompt"].tolist() == ["  two spaces  "]


# --- delimiters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "delimiter", "expected"),
    [
        (b"id,prompt\n1,hello\n", ",", [["1", "hello"]]),
        (b"id;price;prompt\n1;1,5;hello, world\n", ";", [["1", "1,5", "hello, world"]]),
        (b"id\tprompt\n1\thello, world; again\n", "\t", [["1", "hello, world; again"]]),
        (b"id|prompt\n1|hello, world\n", "|", [["1", "hello, world"]]),
        (b'id,prompt\n1,"a;b;c|d"\n2,"e;f"\n', ",", [["1", "a;b;c|d"], ["2", "e;f"]]),
    ],
    ids=["comma", "semicolon", "tab", "pipe", "quoted"],
)
def test_delimiter_is_sniffed(data: bytes, delimiter: str, expected: list[list[str]]) -> None:
    table = read_table(data, "t.csv")
    assert table.delimiter == delimiter
    assert rows(table) == expected


def test_excel_sep_line_names_the_delimiter_and_is_skipped() -> None:
    table = read_table(b"sep=;\nid;prompt\n1;a,b\n", "sep.csv")
    assert table.delimiter == ";"
    assert rows(table) == [["1", "a,b"]]


def test_explicit_delimiter_overrides_sniffing() -> None:
    data = b"id;prompt,x\n1;a,b\n"
    assert read_table(data, "x.csv").delimiter == ","
    assert rows(read_table(data, "x.csv", delimiter=";")) == [["1", "a,b"]]
    assert read_table(b"a\tb\n1\t2\n", "x.txt", delimiter="tab").delimiter == "\t"


@pytest.mark.parametrize("bad", ["xx", "", "a", '"'])
def test_a_delimiter_that_cannot_separate_cells(bad: str) -> None:
    with pytest.raises(
        InputError, match=re.escape("cannot separate cells. Choose one character such as")
    ):
        read_table(b"a\n1\n", "x.csv", delimiter=bad)


def test_one_column_file_keeps_commas_in_its_cells() -> None:
    table = read_table(b"prompt\nHello, world\nSay: a; b | c\n", "one.csv")
    assert table.delimiter is None
    assert rows(table) == [["Hello, world"], ["Say: a; b | c"]]


# --- records ----------------------------------------------------------------------------------


def test_quoted_cells_with_line_breaks_and_quotes() -> None:
    data = b'id,prompt\r\n1,"first line\r\nsecond, line"\r\n2,"he said ""hi"""\r\n3,5" screen\r\n'
    table = read_table(data, "q.csv")
    assert rows(table) == [
        ["1", "first line\r\nsecond, line"],
        ["2", 'he said "hi"'],
        ["3", '5" screen'],
    ]


def test_old_mac_line_endings() -> None:
    assert rows(read_table(b"a,b\r1,2\r3,4\r", "mac.csv")) == [["1", "2"], ["3", "4"]]


def test_short_rows_are_padded_with_empty_cells() -> None:
    assert rows(read_table(b"a,b,c\n1,2,3\n4\n5,6\n", "short.csv")) == [
        ["1", "2", "3"],
        ["4", "", ""],
        ["5", "6", ""],
    ]


def test_blank_rows_are_dropped_and_counted() -> None:
    data = b"\n\nid,prompt\n1,a\n\n,\n  ,  \n2,b\n\n"
    table = read_table(data, "blank.csv")
    assert rows(table) == [["1", "a"], ["2", "b"]]
    assert table.blank_rows_dropped == 6


def test_sixty_thousand_rows() -> None:
    lines = [f"{n:06d},Write one sentence about item {n}." for n in range(60_000)]
    data = ("id,prompt\n" + "\n".join(lines) + "\n").encode()
    table = read_table(data, "big.csv")
    assert len(table.frame) == 60_000
    assert table.frame["id"].iloc[[0, -1]].tolist() == ["000000", "059999"]


def test_a_one_megabyte_cell_reads_whole() -> None:
    cell = "x" * 1_048_576
    table = read_table(f'id,prompt\n1,"{cell}\nend"\n2,b\n'.encode(), "huge.csv")
    assert table.frame["prompt"].str.len().tolist() == [len(cell) + 4, 1]


SAMPLE_FILES = [
    b'id,prompt\n007,hello\n\n,\n008,"multi\nline"\n',
    b"\n sep=;\nid;prompt\n1;x\n",
    b'a,b\r\n1,2\r\n3,"4\r\n5"\r\n',
    b'a,b\n1,"x""y"\n2,\n',
    "编号,问题\n1,你好\n".encode("gbk"),
    "id\tprompt\r\n1\tcafé\r\n".encode("utf-16"),
]


@pytest.mark.parametrize("data", SAMPLE_FILES)
def test_fast_and_careful_parsers_agree(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_table(data, "x.csv")
    monkeypatch.setattr(text_tables, "_read_with_arrow", lambda *args: None)
    careful = read_table(data, "x.csv")
    pd.testing.assert_frame_equal(fast.frame, careful.frame)
    assert fast.blank_rows_dropped == careful.blank_rows_dropped


# --- headers ----------------------------------------------------------------------------------


def test_duplicate_headers_are_named() -> None:
    with pytest.raises(InputError) as error:
        read_table(b"id,city,prompt,x,city\n1,a,b,c,d\n", "dup.csv")
    assert str(error.value) == (
        "Columns 2 and 5 are both named 'city'. Rename one of them in the spreadsheet and "
        "upload it again."
    )


def test_three_columns_with_one_name() -> None:
    with pytest.raises(InputError, match=r"Columns 1, 2 and 4 are all named 'x'\. Rename all but"):
        read_table(b"x, x ,y,x\n1,2,3,4\n", "dup.csv")


def test_blank_header_over_data_is_refused() -> None:
    with pytest.raises(
        InputError,
        match=r"Column 2 has data but no name in the header row\. Type a name into its header",
    ):
        read_table(b"id,,prompt\n1,2,3\n", "blank.csv")


def test_empty_columns_without_a_name_are_left_out() -> None:
    table = read_table(b"id,prompt,,\n1,a,,\n2,b,,\n", "trailing.csv")
    assert list(table.frame.columns) == ["id", "prompt"]
    assert table.notes == ("2 empty columns without a name were left out.",)


# --- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \r\n\n"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(
        InputError,
        match=r"'empty.csv' is empty\. Upload a file with a header row and at least one row",
    ):
        read_table(data, "empty.csv")


@pytest.mark.parametrize("data", [b"id,prompt\n", b"id,prompt\r\n\r\n,\r\n", b"id,prompt"])
def test_header_only(data: bytes) -> None:
    with pytest.raises(
        InputError,
        match=r"'head.csv' has a header row but no rows of data\. Add rows under the header",
    ):
        read_table(data, "head.csv")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        b"id,prompt\n1,\x00\x00\x00\x01\x02",
        bytes(byte or 1 for byte in random.Random(7).randbytes(4000)),  # no NUL at all
    ],
    ids=["png", "nul", "noise"],
)
def test_binary_file_named_csv(data: bytes) -> None:
    with pytest.raises(
        InputError,
        match=r"'data.csv' is not a text table: it holds binary data\. Save the spreadsheet as",
    ):
        read_table(data, "data.csv")


def test_unclosed_quote_on_the_last_line_names_it() -> None:
    with pytest.raises(
        InputError,
        match=r"Line 3 of 'bad.csv' opens a quoted cell \(\"\) that never closes\. Add the missing",
    ):
        read_table(b'id,prompt\n1,"fine"\n2,"broken\n', "bad.csv")


def test_unclosed_quote_earlier_names_its_line() -> None:
    data = b'id,prompt\n1,"two\nlines"\n2,"never closed\n3,c\n4,d\n'
    with pytest.raises(InputError, match=r"Line 4 of 'bad.csv' opens a quoted cell"):
        read_table(data, "bad.csv")


def test_unclosed_quote_without_final_line_break() -> None:
    with pytest.raises(InputError, match=r"Line 2 of 'bad.csv' opens a quoted cell"):
        read_table(b'a,b\n1,"y', "bad.csv")


def test_too_many_cells_names_the_physical_line() -> None:
    data = b'id,prompt\n1,"a\nb"\n\n2,hello, world\n'
    with pytest.raises(InputError) as error:
        read_table(data, "extra.csv")
    assert str(error.value) == (
        "Line 5 of 'extra.csv' has 3 cells but the header row has 2. Put quotes around cells "
        "that contain a comma, or fix that line, and upload the file again."
    )


def test_old_excel_xls_is_refused() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    with pytest.raises(InputError) as error:
        read_table(data, "old.xls")
    assert str(error.value) == (
        "'old.xls' is an old-style Excel workbook (.xls), which Batchdash cannot read. Open it "
        "in Excel, save it as .xlsx or CSV UTF-8, and upload that file."
    )


def test_password_protected_workbook_is_refused() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64) + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(InputError, match=r"'secret.xlsx' is protected with a password\. Remove"):
        read_table(data, "secret.xlsx")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_opendocument_spreadsheet_is_refused() -> None:
    data = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
    with pytest.raises(InputError, match=r"'sheet.ods' is an OpenDocument spreadsheet \(\.ods\)"):
        read_table(data, "sheet.ods")


def test_other_zip_is_refused() -> None:
    with pytest.raises(InputError, match=r"'a.csv' is a ZIP archive, not a spreadsheet\. Save"):
        read_table(_zip({"readme.txt": b"hi"}), "a.csv")


def test_web_page_saved_as_xls_is_refused() -> None:
    with pytest.raises(InputError, match=r"'report.xls' is a web page \(HTML\), not a table file"):
        read_table(b"<html><body><table><tr><td>1</td></tr></table></body></html>", "report.xls")


def test_text_saved_as_xls_is_read_as_text() -> None:
    table = read_table(b"id\tprompt\n1\thello\n", "export.xls")
    assert rows(table) == [["1", "hello"]]
    assert table.notes == (
        "'export.xls' is text despite its .xls name; Batchdash read it as text.",
    )


def test_not_a_workbook_named_xlsx() -> None:
    with pytest.raises(InputError, match=r"'x.xlsx' is not a valid Excel workbook; it may be"):
        read_table(b"id,prompt\n1,a\n", "x.xlsx")


# --- pasted rows ------------------------------------------------------------------------------


def test_pasted_rows_from_excel() -> None:
    table = read_pasted('id\tprompt\r\n007\t"first\nsecond"\r\n008\tplain\r\n\r\n')
    assert rows(table) == [["007", "first\nsecond"], ["008", "plain"]]
    assert (table.source_name, table.delimiter, table.encoding) == ("pasted rows", "\t", None)


def test_pasted_lines_without_header_become_a_prompt_column() -> None:
    table = read_pasted('Write a haiku about autumn\n\nSummarise: "quoted" text\n')
    assert table.frame.to_dict("list") == {
        "prompt": ["Write a haiku about autumn", 'Summarise: "quoted" text']
    }
    assert table.blank_rows_dropped == 1
    assert table.notes == (
        "The pasted lines have no header, so Batchdash named the column 'prompt'.",
    )


@pytest.mark.parametrize(
    ("text", "column", "values"),
    [
        ("Prompt\nhi\nyo", "Prompt", ["hi", "yo"]),
        ("Question\nWhat is the capital of France?\nWho wrote Hamlet?", "Question", None),
        ("apple\nbanana\ncherry", "prompt", ["apple", "banana", "cherry"]),
        ("Translate this.\nAnd this sentence too, please.", "prompt", None),
    ],
)
def test_pasted_header_is_guessed(text: str, column: str, values: list[str] | None) -> None:
    table = read_pasted(text)
    assert list(table.frame.columns) == [column]
    lines = text.split("\n")
    expected = values if values is not None else (lines if column == "prompt" else lines[1:])
    assert table.frame[column].tolist() == expected


def test_nothing_pasted() -> None:
    with pytest.raises(InputError, match=r"Nothing was pasted\. Copy the rows in your spreadsheet"):
        read_pasted(" \n\t\n")


def test_pasted_header_without_rows() -> None:
    with pytest.raises(InputError, match="The pasted text has a header line but no rows under it"):
        read_pasted("prompt\n")


def test_pasted_duplicate_headers() -> None:
    with pytest.raises(InputError, match="Columns 1 and 2 are both named 'a'"):
        read_pasted("a\ta\n1\t2\n")


@pytest.mark.parametrize(
    "data",
    [
        b'id,prompt\n1,"a\nb"\n2,"last ""cell""\nspans lines"\n',
        b'id,prompt\r\n1,x\r\n2,"last, with\r\nCRLF"',  # no final line break
        b'prompt,id\n"two\nlines","7"\n',  # the line break in another cell than the last
    ],
)
def test_a_last_record_spanning_lines_is_read_by_the_fast_reader(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas' parser, the fallback, takes several times the memory of the file."""

    def no_pandas(*_args: object) -> None:
        raise AssertionError("read with pandas")

    monkeypatch.setattr(text_tables, "_read_with_pandas", no_pandas)
    table = read_table(data, "multi.csv")
    expected = pd.read_csv(BytesIO(data), dtype=str, keep_default_na=False)
    assert table.frame.to_numpy().tolist() == expected.to_numpy().tolist()


def test_a_quote_that_never_closes_in_a_multi_line_last_record_names_its_line() -> None:
    data = b'id,prompt\n1,"a\nb"\n2,"never\nclosed ""here""\n'
    with pytest.raises(InputError, match=r"Line 4 of 'bad.csv' opens a quoted cell"):
        read_table(data, "bad.csv")
