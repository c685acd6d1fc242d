"""A workbook's sheet scan, started in a forked process while the command line still imports.

`convert`, `submit` and `merge` of an XLSX first spend about half a second importing pandas,
pyarrow and the planner, then as long again scanning the sheet's XML (`sheet_scan`, which needs
only the standard library). Started before those imports, a child process scans the sheet the
command will read by default (the first visible worksheet) while the parent imports; the reader
then takes the child's scan instead of scanning again (`take`), but only a scan of the same part
of the same bytes (their digest) with the same number formats. Anything else (another sheet chosen, a file
changed in between, a child that failed) leaves the reader to scan as it always does, so the
result never depends on the child. Only for one-off commands: a server is not forked.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rest is imported in the child, or once a scan is taken
    from batchdash.inputs.sheet_scan import SheetScan

#: The commands whose first argument is the spreadsheet they read.
READING_COMMANDS = frozenset({"convert", "submit", "merge"})
_ZIP_MAGIC = b"PK\x03\x04"

#: (process id, read end of its pipe) of the child whose scan is not taken yet.
_pending: tuple[int, int] | None = None


def scan_ahead_of(argv: list[str]) -> None:
    """Start the scan of the spreadsheet a command line names, if it reads a workbook.

    The input is the word after the command (`convert INPUT ...`, as documented); a command
    line written otherwise simply goes without.
    """
    command = next((n for n, word in enumerate(argv) if word in READING_COMMANDS), None)
    if command is not None and command + 1 < len(argv):
        start(argv[command + 1])


def start(path: str) -> None:
    """Fork a child that scans the default sheet of the workbook at `path` (if it is one).

    Imports next to nothing first: everything this process imports before the fork is time
    the child does not run beside it."""
    global _pending
    if _pending is not None or not hasattr(os, "fork") or not _is_zip(path):
        return
    if _cores() < 2:
        return  # with one core, a second process only takes turns with the first
    answers, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(answers)
        os.close(write_end)
        return
    if pid == 0:  # the child: never returns into the caller's code
        os.close(answers)
        # Nothing to say on the command's output: a shell waiting for its end (`$(...)`, a
        # pipe) does not wait for a child that a killed parent left scanning.
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        _scan_and_send(path, write_end)
    os.close(write_end)
    _pending = (pid, answers)
    import atexit

    atexit.register(discard)


def take(data: bytes, part: str, formats: dict[int, str]) -> SheetScan | None:
    """The child's scan if it scanned these very bytes `data` (the same digest), their part
    `part`, with `formats`; else None.

    Waits for the child to finish (it started long before); the child is gone afterwards.
    """
    global _pending
    if _pending is None:
        return None
    import hashlib
    import pickle

    pid, answers = _pending
    try:
        with os.fdopen(answers, "rb") as pipe:
            payload = pipe.read()
    finally:
        _pending = None
        _stop(pid)  # at once if the wait was cut short (Ctrl-C); else it has ended already
    try:
        digest, scanned_part, scanned_formats, scan = pickle.loads(payload)  # our child's pipe
    except Exception:  # nothing, or half a message: the child failed
        return None
    if digest != hashlib.blake2b(data).digest() or scanned_part != part:
        return None
    return scan if scanned_formats == formats else None


def discard() -> None:
    """Stop a child whose scan nobody took (the command ended before reading the file)."""
    global _pending
    child, _pending = _pending, None
    if child is not None:
        os.close(child[1])
        _stop(child[0])


def _scan_and_send(path: str, write_end: int) -> None:
    status = 1
    try:
        import hashlib
        import io
        import pickle
        import zipfile

        from batchdash.inputs.sheet_scan import scan_sheet
        from batchdash.inputs.workbook_parts import default_sheet_part, text_formats

        with open(path, "rb") as handle:
            data = handle.read()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = default_sheet_part(archive)
            if part is not None:
                formats = text_formats(archive)
                with archive.open(part) as stream:
                    scan = scan_sheet(stream, formats)
                message = (hashlib.blake2b(data).digest(), part, formats, scan)
                with os.fdopen(write_end, "wb") as out:
                    out.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
                status = 0
    except BaseException:
        pass  # the parent scans for itself when nothing, or half a message, comes
    finally:
        os._exit(status)  # no atexit handlers, no flushing of buffers copied from the parent


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (Linux)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _is_zip(path: str) -> bool:
    """Whether `path` is a regular file that starts as a zip archive does (a pipe such as
    /dev/stdin is not opened: its first bytes would be gone for the command)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(4) == _ZIP_MAGIC
    except OSError:
        return False


def _stop(pid: int) -> None:
    """Kill the child `pid` if it still runs, and reap it."""
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
