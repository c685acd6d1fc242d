"""How the registry packs tables and result files into compact blobs.

Tables are Parquet with zstd (typed, columnar, a 50,000-row table opens in milliseconds); result
files are zstd frames of whole lines, so a file of any size is stored in bounded chunks and can
be streamed back. pyarrow's thread pool is never used: pyarrow 26 can abort the interpreter at
exit after a multi-threaded read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Codec names stored beside each blob, so a later release can change them and still read these.
TABLE_CODEC = "parquet-zstd"
CHUNK_CODEC = "zstd"

#: Raw bytes per stored chunk of a result file (a chunk ends at a line end, so may run longer).
CHUNK_BYTES = 16 * 1024 * 1024

#: Rows per Parquet row group of a stored table: what a download reads at a time.
ROWS_PER_GROUP = 64 * 1024

#: Parquet schema metadata key holding the real column names (stored columns are positional,
#: so repeated or unusual names survive).
_NAMES_KEY = b"batchdash.columns"


def frame_to_blob(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet bytes; raises pyarrow.ArrowException for cells it cannot type."""
    positional = frame.set_axis([str(i) for i in range(frame.shape[1])], axis="columns")
    table = pa.Table.from_pandas(positional, preserve_index=False, nthreads=1)
    return _parquet_bytes(table, [str(name) for name in frame.columns])


def table_to_blob(table: pa.Table) -> bytes:
    """An Arrow table as Parquet bytes, in row groups that can be read back one by one."""
    positional = table.rename_columns([str(i) for i in range(table.num_columns)])
    return _parquet_bytes(positional, table.column_names)


def _parquet_bytes(table: pa.Table, names: list[str]) -> bytes:
    metadata = {**(table.schema.metadata or {}), _NAMES_KEY: json.dumps(names).encode()}
    buffer = io.BytesIO()
    pq.write_table(
        table.replace_schema_metadata(metadata),
        buffer,
        compression="zstd",
        row_group_size=ROWS_PER_GROUP,
    )
    return buffer.getvalue()


def blob_to_frame(blob: bytes) -> pd.DataFrame:
    """The inverse of `frame_to_blob`, with a RangeIndex."""
    table = pq.read_table(io.BytesIO(blob), use_threads=False)
    names = json.loads((table.schema.metadata or {})[_NAMES_KEY])
    frame: pd.DataFrame = table.to_pandas(use_threads=False)
    return frame.set_axis(names, axis="columns")


class BlobColumns:
    """A stored table read a column or a row group at a time (the columns of a download)."""

    def __init__(self, blob: bytes) -> None:
        self._file = pq.ParquetFile(io.BytesIO(blob))
        metadata = self._file.schema_arrow.metadata or {}
        #: Column names, in order.
        self.names: list[str] = json.loads(metadata[_NAMES_KEY])
        #: Number of rows.
        self.rows: int = self._file.metadata.num_rows

    def column(self, position: int) -> pa.Array:
        """One whole column."""
        table = self._file.read(columns=[str(position)], use_threads=False)
        return table.column(0).combine_chunks()

    def columns(self, names: list[str]) -> pa.Table:
        """The columns of these names (each must be in the table), under their names."""
        positions = [str(self.names.index(name)) for name in names]
        table = self._file.read(columns=positions, use_threads=False)
        return table.rename_columns(names)

    def table(self) -> pa.Table:
        """Every column, under its name."""
        return self._file.read(use_threads=False).rename_columns(self.names)

    def batches(self) -> Iterator[list[pa.Array]]:
        """Every column of a row group, group after group."""
        for group in range(self._file.num_row_groups):
            table = self._file.read_row_group(group, use_threads=False)
            yield [column.combine_chunks() for column in table.columns]


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (missing cells as ""), columns as text, index 0..n-1."""
    text = frame.reset_index(drop=True)
    text = text.set_axis([str(name) for name in text.columns], axis="columns")
    columns: dict[int, pd.Series] = {}
    for position in range(text.shape[1]):
        column = text.iloc[:, position]
        if column.dtype == "str":
            columns[position] = column.fillna("")
        else:
            columns[position] = column.astype(object).where(column.notna(), "").map(str)
    result = pd.DataFrame(columns, index=text.index, dtype="str")
    return result.set_axis(list(text.columns), axis="columns")


@dataclass(frozen=True)
class Chunk:
    """One compressed piece of a result file."""

    #: Length of the piece before compression.
    raw_size: int
    #: The zstd frame.
    data: bytes


def compress_lines(source: bytes | Path | None) -> list[Chunk]:
    """A result file (bytes in memory or a file on disk) as compressed chunks of whole lines."""
    return [
        Chunk(raw_size=len(piece), data=pa.compress(piece, codec=CHUNK_CODEC, asbytes=True))
        for piece in line_pieces(source)
    ]


def decompress_chunk(raw_size: int, data: bytes) -> bytes:
    """The raw bytes of one stored chunk."""
    if raw_size == 0:
        return b""
    raw: bytes = pa.decompress(data, decompressed_size=raw_size, codec=CHUNK_CODEC, asbytes=True)
    return raw


def line_pieces(source: bytes | Path | None) -> Iterator[bytes]:
    """A result file as runs of whole lines of about CHUNK_BYTES, read a run at a time."""
    if source is None:
        return
    if isinstance(source, Path):
        with source.open("rb") as stream:
            yield from _split_stream(stream)
    else:
        yield from _split_stream(io.BytesIO(source))


def _split_stream(stream: io.BufferedIOBase | io.BytesIO) -> Iterator[bytes]:
    carry = b""  # the start of a line the last block ended in
    while block := stream.read(CHUNK_BYTES):
        end = block.rfind(b"\n") + 1
        if end == 0:  # one line longer than a chunk: keep reading until it ends
            carry += block
            continue
        # The run is copied once, from a view of the block rather than from a slice of it.
        yield carry + memoryview(block)[:end]
        carry = block[end:]
    if carry:
        yield carry
