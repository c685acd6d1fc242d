"""Between pandas and Arrow: the column types the merged table and its downloads agree on.

A merged table's cells are text, whole numbers or decimal numbers; in Arrow that is
large_string, int64 and float64, a missing cell is null. Booleans and mixed cells are text, as
the downloads have always written them.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa

_TEXT = pa.large_string()


def is_numeric(column: pd.Series) -> bool:
    """Whether the downloads write the column as numbers (booleans are text)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def arrow_column(column: pd.Series) -> pa.Array:
    """A DataFrame column as the downloads see it: integers, floats (null where missing), or
    text (null where missing)."""
    if pd.api.types.is_integer_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _single(pa.array(column, from_pandas=True))
    if is_numeric(column):
        return pa.array(column.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True)
    if isinstance(column.dtype, pd.StringDtype):
        return _single(pa.array(column.array)).cast(_TEXT)
    texts = column.astype(object).where(column.notna(), "").astype(str).tolist()
    return pa.array(texts, type=_TEXT)


def is_text(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether an Arrow column is text to the downloads (anything but integers and floats)."""
    kind = array.type
    return not (pa.types.is_integer(kind) or pa.types.is_floating(kind))


def to_frame(table: pa.Table, nullable_integers: Collection[str] = ()) -> pd.DataFrame:
    """The table as a DataFrame: text as str, floats as Float64, integers as int64 (those named
    in `nullable_integers`, or with a missing cell, as Int64)."""
    columns: dict[int, pd.Series] = {}
    for position, name in enumerate(table.column_names):
        array = table.column(position)
        if pa.types.is_floating(array.type) or (
            pa.types.is_integer(array.type) and (name in nullable_integers or array.null_count)
        ):
            columns[position] = array.to_pandas(types_mapper=_NULLABLE.get)
        elif pa.types.is_large_string(array.type) or pa.types.is_string(array.type):
            columns[position] = pd.Series(array.to_pandas(), dtype=str)
        else:
            columns[position] = array.to_pandas()
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    return frame.set_axis(table.column_names, axis="columns")


_NULLABLE = {pa.float64(): pd.Float64Dtype(), pa.int64(): pd.Int64Dtype()}


def _single(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
