"""A workbook scanned ahead by the command line reads exactly as one scanned by the reader;
a scan of anything else is never used, and no child outlives the command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

import batchdash.inputs.workbooks as workbooks
from batchdash.inputs import scan_ahead
from batchdash.inputs.reading import read_table
from batchdash.inputs.sheet_scan import scan_sheet
from batchdash.inputs.workbook_parts import default_sheet_part
from batchdash.preflight import pricing, tokens
from batchdash.preflight.plan import load_ahead
from tests.core.test_workbook_readers import as_read, book, every_kind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_child_left() -> object:
    yield
    scan_ahead.discard()


def scanned_again(*_args: object) -> None:
    raise AssertionError("the reader scanned the sheet itself")


def the_child() -> int:
    assert scan_ahead._pending is not None, "no scan was started"
    return scan_ahead._pending[0]


def assert_gone(pid: int) -> None:
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)


def test_the_scan_started_ahead_is_taken_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = book(every_kind)  # formulas, errors, merges, percentages, dates, blank rows
    expected = as_read(read_table(data, "b.xlsx"))
    path = tmp_path / "b.xlsx"
    path.write_bytes(data)

    scan_ahead.start(str(path))
    child = the_child()
    monkeypatch.setattr(workbooks, "scan_sheet", scanned_again)

    assert as_read(read_table(data, "b.xlsx")) == expected
    assert scan_ahead._pending is None
    assert_gone(child)


def test_a_scan_of_other_bytes_is_not_used(tmp_path: Path) -> None:
    def saved_again(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        every_kind(workbook, sheet)
        sheet.write_formula(40, 0, "=1+2", None, 3)  # one more formula, further down

    changed = book(saved_again)  # e.g. saved again between the start and the read
    expected = as_read(read_table(changed, "b.xlsx"))
    path = tmp_path / "b.xlsx"
    path.write_bytes(book(every_kind))
    scan_ahead.start(str(path))
    child = the_child()

    table = read_table(changed, "b.xlsx")

    assert as_read(table) == expected
    assert "5 cells hold formulas" in " ".join(table.notes)
    assert_gone(child)


def test_a_scan_of_another_sheet_is_not_used(tmp_path: Path) -> None:
    def two(_workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_column(0, 0, ["a", "first", "=1+1"] + [""] * 8 + ["far down"])
        second = _workbook.add_worksheet("T")
        second.write_row(0, 0, ["b"])
        second.write_row(1, 0, ["second"])

    data = book(two)
    expected = as_read(read_table(data, "b.xlsx", sheet="T"))
    path = tmp_path / "b.xlsx"
    path.write_bytes(data)
    scan_ahead.start(str(path))  # scans the default sheet, S

    child = the_child()

    table = read_table(data, "b.xlsx", sheet="T")

    assert as_read(table) == expected
    assert table.frame.to_numpy().tolist() == [["second"]]
    assert_gone(child)


def test_the_default_sheet_is_the_first_visible_worksheet() -> None:
    def hidden_then_chart(workbook: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["a"])
        sheet.hide()
        chart = workbook.add_chartsheet("Chart")  # visible, but no cells
        line = workbook.add_chart({"type": "line"})
        line.add_series({"values": "=Shown!$A$1:$A$1"})
        chart.set_chart(line)
        shown = workbook.add_worksheet("Shown")
        shown.write_column(0, 0, ["b", "2"])
        shown.activate()

    data = book(hidden_then_chart)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert default_sheet_part(archive) == workbooks.sheet_part(archive, "Shown")
    assert read_table(data, "b.xlsx").sheet == "Shown"


def test_a_failed_child_leaves_the_reader_to_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 and nothing a zip reader can open")
    scan_ahead.start(str(broken))
    child = the_child()
    seen: list[bool] = []

    def scanning(*args: object) -> object:
        seen.append(True)
        return scan_sheet(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(workbooks, "scan_sheet", scanning)
    table = read_table(book(every_kind), "b.xlsx")

    assert seen == [True]
    assert len(table.frame) > 0
    assert_gone(child)


def test_a_scan_nobody_takes_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(book(every_kind))
    scan_ahead.start(str(path))
    child = the_child()

    scan_ahead.discard()

    assert scan_ahead._pending is None
    assert_gone(child)


def test_only_a_workbook_named_after_a_reading_command_is_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    monkeypatch.setattr(scan_ahead, "start", started.append)

    scan_ahead.scan_ahead_of(["convert", "a.xlsx", "--template", "{p}"])
    scan_ahead.scan_ahead_of(["--lang", "zh", "submit", "b.xlsx", "--name", "x"])
    scan_ahead.scan_ahead_of(["status", "job_1"])
    scan_ahead.scan_ahead_of(["convert"])

    assert started == ["a.xlsx", "b.xlsx"]
    monkeypatch.undo()
    text = tmp_path / "a.csv"
    text.write_text("prompt\nx\n")
    scan_ahead.start(str(text))  # not a zip: nothing to scan
    scan_ahead.start(str(tmp_path / "missing.xlsx"))
    pipe = tmp_path / "piped.xlsx"
    os.mkfifo(pipe)  # as `convert /dev/stdin`: not opened (reading it would take its bytes)
    scan_ahead.start(str(pipe))
    assert scan_ahead._pending is None


def test_the_command_line_takes_the_scan_it_started(tmp_path: Path) -> None:
    data = book(every_kind)
    (tmp_path / "b.xlsx").write_bytes(data)
    # As `python dashboard/cli.py convert b.xlsx ...` runs, with `take` watched.
    script = (
        "import runpy, sys\n"
        "from batchdash.inputs import scan_ahead\n"
        "taken = []\n"
        "real = scan_ahead.take\n"
        "scan_ahead.take = lambda *a: taken.append(real(*a)) or taken[-1]\n"
        "sys.argv = ['cli.py', 'convert', 'b.xlsx', '--template', 'Row: {{format}}', '--out-dir', 'o']\n"
        "try:\n"
        "    runpy.run_path({!r}, run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    print('taken', [scan is not None for scan in taken], stop.code, file=sys.stderr)\n"
    ).format(str(ROOT / "dashboard" / "cli.py"))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "dashboard"))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip

    assert "taken [True] 0" in done.stderr, done.stderr
    assert json.loads(done.stdout)["rows"] == len(read_table(data, "b.xlsx").frame)
    assert (tmp_path / "o" / "part-0001.jsonl").exists()


def test_work_given_for_the_parse_runs_beside_it_and_is_done_after(tmp_path: Path) -> None:
    threads: list[str] = []
    done = threading.Event()

    def meanwhile() -> None:
        threads.append(threading.current_thread().name)
        time.sleep(0.2)
        done.set()

    read_table(book(every_kind), "b.xlsx", while_parsing=meanwhile)

    assert done.is_set()  # joined before the table came back
    assert threads and threads[0] != threading.current_thread().name
    called: list[bool] = []
    read_table(b"prompt\nx\n", "a.csv", while_parsing=lambda: called.append(True))
    assert called == []  # a text table has no parse to run beside


def test_loading_ahead_loads_the_price_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    pricing._library_price.cache_clear()
    load_ahead("gpt-4o-mini")
    assert pricing._library_price.cache_info().currsize == 1  # the plan finds it loaded

    def broken(*_args: object) -> None:
        raise RuntimeError("no token table")

    monkeypatch.setattr(tokens, "counting_for", broken)
    load_ahead("gpt-4o-mini")  # the plan meets the failure itself, and says it


def test_one_core_scans_in_the_reader_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(book(every_kind))
    monkeypatch.setattr(scan_ahead, "_cores", lambda: 1)

    scan_ahead.start(str(path))

    assert scan_ahead._pending is None
