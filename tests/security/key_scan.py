"""Looking for an API key everywhere Batchdash could have written it.

Files are read whole and then unpacked the ways Batchdash (or a library under it) packs data:
ZIP members (XLSX), SQLite databases (every table, every cell), Parquet blobs (the registry's
tables), zstd frames (the registry's result chunks) and gzip. Each piece is searched for the
key as UTF-8 and as UTF-16, whole and by a middle slice, so a key cut short or re-encoded is
found too. Captured log records and console output are searched the same way.
"""

from __future__ import annotations

import gzip
import io
import logging
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy

_ZSTD = b"\x28\xb5\x2f\xfd"
_PARQUET = b"PAR1"
_SQLITE = b"SQLite format 3\x00"
_GZIP = b"\x1f\x8b"
#: Unpacking goes no deeper than this (a blob in a table in a ZIP...).
_DEPTH = 4


def needles(key: str) -> list[bytes]:
    """The byte strings that betray `key`: whole and a middle slice, in UTF-8 and UTF-16."""
    middle = key[len(key) // 3 : len(key) // 3 + 24]
    texts = [key, middle]
    return [text.encode(codec) for text in texts for codec in ("utf-8", "utf-16-le")]


def _sqlite_cells(data: bytes) -> Iterator[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "copy.sqlite3")
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
            for table in tables:
                try:
                    rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
                except sqlite3.DatabaseError:
                    continue  # an index, or a table of a virtual module
                for number, row in enumerate(rows):
                    for column, cell in enumerate(row):
                        if isinstance(cell, bytes):
                            yield f"{table}[{number}][{column}]", cell
                        elif cell is not None:
                            yield f"{table}[{number}][{column}]", str(cell).encode()
        finally:
            connection.close()


def _parquet_text(data: bytes) -> bytes:
    table = pq.read_table(io.BytesIO(data), use_threads=False)
    parts = [str(table.schema.metadata or {})]
    for column in table.columns:
        parts += [str(value) for value in column.to_pylist()]
    return "\n".join(parts).encode()


def _zstd(data: bytes) -> bytes:
    stream = pa.CompressedInputStream(pa.BufferReader(data), "zstd")
    return bytes(stream.read())


def expand(where: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """`data` itself, then everything unpacked from it, each with where it was found."""
    yield where, data
    if depth >= _DEPTH:
        return
    inner: list[tuple[str, bytes]] = []
    try:
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inner = [(f"{where}!{name}", archive.read(name)) for name in archive.namelist()]
        elif data.startswith(_SQLITE):
            inner = [(f"{where}:{cell}", value) for cell, value in _sqlite_cells(data)]
        elif data.startswith(_PARQUET):
            inner = [(f"{where}:parquet", _parquet_text(data))]
        elif data.startswith(_ZSTD):
            inner = [(f"{where}:zstd", _zstd(data))]
        elif data.startswith(_GZIP):
            inner = [(f"{where}:gzip", gzip.decompress(data))]
    except (zipfile.BadZipFile, sqlite3.DatabaseError, pa.ArrowException, OSError, EOFError):
        inner = []
    for name, content in inner:
        yield from expand(name, content, depth + 1)


def _files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in sorted(root.rglob("*")) if path.is_file())


def where_found(key: str, roots: Iterable[Path], texts: dict[str, str] | None = None) -> list[str]:
    """Every place under `roots` (files, unpacked) and in `texts` (name -> text) holding `key`."""
    wanted = needles(key)
    found: list[str] = []
    for path in _files(roots):
        with tempfile.TemporaryDirectory() as folder:
            # A copy: SQLite files may be open in the app (WAL beside them is scanned raw).
            copy = Path(folder, path.name)
            shutil.copyfile(path, copy)
            data = copy.read_bytes()
        for where, piece in expand(str(path), data):
            if any(needle in piece for needle in wanted):
                found.append(where)
    for name, text in (texts or {}).items():
        if any(needle in text.encode("utf-8", "replace") for needle in wanted):
            found.append(name)
    return found


def where_found_in_database(key: str, url: str) -> list[str]:
    """Every cell of every table of the database at `url` (blobs unpacked) holding `key`."""
    wanted = needles(key)
    found: list[str] = []
    engine = sqlalchemy.create_engine(url)
    try:
        tables = sqlalchemy.MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            for table in tables.sorted_tables:
                for number, row in enumerate(connection.execute(table.select())):
                    for column, cell in zip(table.columns, row, strict=True):
                        if cell is None:
                            continue
                        data = bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell)
                        raw = data if isinstance(data, bytes) else data.encode()
                        where = f"{table.name}[{number}].{column.name}"
                        for place, piece in expand(where, raw):
                            if any(needle in piece for needle in wanted):
                                found.append(place)
    finally:
        engine.dispose()
    return found


def table_count(url: str) -> int:
    """How many tables the database at `url` has (a scan of none would prove nothing)."""
    engine = sqlalchemy.create_engine(url)
    try:
        return len(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


class LogCapture(logging.Handler):
    """Every record of every logger, down to DEBUG, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self._attached: list[tuple[logging.Logger, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def attach(self) -> None:
        """Listen on the root logger and on every logger that does not pass records up."""
        manager = logging.root.manager
        loggers: Sequence[logging.Logger] = [
            logging.root,
            *(item for item in manager.loggerDict.values() if isinstance(item, logging.Logger)),
        ]
        for logger in loggers:
            self._attached.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
            if logger is logging.root or not logger.propagate:
                logger.addHandler(self)

    def detach(self) -> None:
        for logger, level in self._attached:
            logger.setLevel(level)
            if self in logger.handlers:
                logger.removeHandler(self)
        self._attached.clear()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
