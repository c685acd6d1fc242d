"""The merged table (DESIGN.md contract 6): the input rows with their answers and lineage.

The merge works on Arrow columns from end to end: the results table (one row per result line,
`result_table`) is ordered so the winning result of each custom_id comes first, the input's
custom_ids are looked up in it, and every added column is taken, filled and priced as a whole.
`merge_table` gives the Arrow table the downloads stream from; `merge_results` the same table
as a DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from batchdash.errors import ResultsError
from batchdash.i18n import _l
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import DIRECT_BATCH_ID, LINEAGE_COLUMNS, OutputField, Recipe
from batchdash.results.arrow_columns import arrow_column, to_frame
from batchdash.results.parse import RowResult
from batchdash.results.result_table import SOURCE, field_key, rows_table
from batchdash.results.vllm_lines import IMPORTED_PREFIX

# Costs are kept to a ten-billionth of a dollar: finer than one token of the cheapest model,
# and coarse enough that float noise (1.7999999999999999e-06) never reaches the spreadsheet.
_COST_DECIMALS = 10

# Structured fields named like a fixed column get this suffix in the merged table.
_ANSWER_SUFFIX = " (answer)"

_TEXT = pa.large_string()
_EMPTY = pa.scalar("", _TEXT)


def merge_results(
    frame: pd.DataFrame,
    recipe: Recipe,
    results: Iterable[RowResult] | pa.Table,
    *,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> pd.DataFrame:
    """Every input row, in input order, with its answer, structured fields and lineage.

    When a custom_id has several results, an `ok` one wins, else the last given (repair batches
    come later). Rows without any result are `not_run`. Results whose custom_id is not in the
    table are ignored (see `unmatched_custom_ids`), but a file none of whose results match raises
    ResultsError: it belongs to another job. An input column named like an added column is
    renamed "<name> (input)", and a structured field named like a fixed column "<name> (answer)",
    so every column name stays unique. The input columns keep their types.
    """
    fields = recipe.result_fields
    added = _added_columns(frame, recipe, _as_table(results, fields), price_overrides, provider)
    inputs = frame.reset_index(drop=True)
    inputs.columns = _input_names(list(frame.columns), set(added))
    return pd.concat([inputs, to_frame(pa.table(added), _integer_names(fields))], axis=1)


def merge_table(
    frame: pd.DataFrame,
    recipe: Recipe,
    results: pa.Table,
    *,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> pa.Table:
    """`merge_results` as an Arrow table: text columns as text, numbers as int64 or float64
    (null where missing), so it streams to CSV and XLSX without a Python object per cell."""
    added = _added_columns(frame, recipe, results, price_overrides, provider)
    names = _input_names(list(frame.columns), set(added))
    columns = [arrow_column(frame.iloc[:, position]) for position in range(frame.shape[1])]
    return pa.Table.from_arrays([*columns, *added.values()], names=[*names, *added])


def merged_frame(table: pa.Table, recipe: Recipe) -> pd.DataFrame:
    """A merged Arrow table as the DataFrame `merge_results` gives (text as str, costs and
    number fields as Float64, integer fields as Int64)."""
    return to_frame(table, _integer_names(recipe.result_fields))


def unmatched_custom_ids(
    ids: Sequence[str] | pd.Series | pa.Array, results: Iterable[RowResult] | pa.Table
) -> list[str]:
    """custom_ids among `results` that are not in `ids`, in first-seen order."""
    given = results.column("custom_id") if isinstance(results, pa.Table) else None
    if given is None:
        given = pa.array([result.custom_id for result in results], _TEXT)
    known = ids if isinstance(ids, pa.Array) else pa.array(list(ids), _TEXT)
    strangers = pc.filter(given, pc.invert(pc.is_in(given, value_set=known.cast(_TEXT))))
    found: list[str] = pc.unique(strangers).to_pylist()
    return found


def _integer_names(fields: Sequence[OutputField]) -> set[str]:
    return {_field_column_name(spec.name) for spec in fields if spec.type == "integer"}


def _as_table(results: Iterable[RowResult] | pa.Table, fields: Sequence[OutputField]) -> pa.Table:
    return results if isinstance(results, pa.Table) else rows_table(results, fields)


def _added_columns(
    frame: pd.DataFrame,
    recipe: Recipe,
    results: pa.Table,
    price_overrides: Mapping[str, ModelPrice] | None,
    provider: ProviderProfile | None,
) -> dict[str, pa.Array]:
    """The columns after the input's: response, the fields, the lineage."""
    ids = pa.array(custom_ids(frame, recipe.id_column), _TEXT)
    _check_sources(results, ids)
    order = _winners_first(results)
    # Each input row's winning result: its position among the ordered results, then in the table.
    ordered_ids = results.column("custom_id").take(order).combine_chunks()
    positions = order.take(pc.index_in(ids, value_set=ordered_ids))

    def take(column: str) -> pa.Array:
        values = results.column(column)
        return (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).take(
            positions
        )

    def text(column: str, missing: str = "") -> pa.Array:
        return pc.fill_null(take(column), pa.scalar(missing, _TEXT))

    input_tokens = pc.fill_null(take("input_tokens"), 0)
    output_tokens = pc.fill_null(take("output_tokens"), 0)
    models = text("model")
    added: dict[str, pa.Array] = {"response": text("response")}
    for spec in recipe.result_fields:
        values = take(field_key(spec.name))
        added[_field_column_name(spec.name)] = (
            values
            if pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
            else pc.fill_null(values, _EMPTY)
        )
    added["custom_id"] = ids
    added["status"] = text("status", "not_run")
    added["error"] = text("error")
    added["finish_reason"] = text("finish_reason")
    added["input_tokens"] = input_tokens
    added["output_tokens"] = output_tokens
    batch_ids = text("batch_id")
    costs = _costs(
        input_tokens,
        output_tokens,
        models,
        recipe.model,
        price_overrides,
        provider,
        direct=pc.equal(batch_ids, DIRECT_BATCH_ID).to_numpy(zero_copy_only=False),
    )
    # Rows imported from a run on the analyst's own machine (vLLM's run-batch) cost nothing.
    imported = pc.starts_with(batch_ids, IMPORTED_PREFIX)
    added["cost_usd"] = pc.if_else(imported, pa.scalar(0.0, pa.float64()), costs)
    added["batch_id"] = batch_ids
    added["model"] = models
    return added


def _field_column_name(name: str) -> str:
    return f"{name}{_ANSWER_SUFFIX}" if name == "response" or name in LINEAGE_COLUMNS else name


def _check_sources(table: pa.Table, ids: pa.Array) -> None:
    """A file none of whose custom_ids is in the table belongs to another job."""
    if not table.num_rows:
        return
    matched = pc.is_in(table.column("custom_id"), value_set=ids)
    # A file's lines come one after the other: one look per run of one source.
    runs = pc.run_end_encode(table.column(SOURCE).combine_chunks())
    any_match: dict[str, bool] = {}
    start = 0
    for end, source in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
        found = any_match.get(source, False) or bool(pc.any(matched[start:end]).as_py())
        any_match[source] = found
        start = end
    strangers = [source for source, found in any_match.items() if not found]
    if not strangers:
        return
    # The first such file in the order the files were given, as a reader of the message expects.
    row = pc.index(table.column(SOURCE), strangers[0]).as_py()
    example = table.column("custom_id")[row].as_py()
    raise ResultsError(
        _l(
            "None of the results in {source} match a row of this table (e.g. custom_id "
            "'{example}'): the file seems to belong to another job, or the ID column differs "
            "from the one the job used.",
            source=strangers[0] or _l("a results file"),
            example=example,
        )
    )


def _winners_first(table: pa.Table) -> pa.Array:
    """Positions of the results, ordered so each custom_id's winner comes first: ok ones
    before failures, later ones before earlier ones (repairs come later)."""
    is_ok = pc.equal(table.column("status"), "ok").to_numpy(zero_copy_only=False)
    return pa.array(np.lexsort((-np.arange(table.num_rows), ~is_ok)))


def _costs(
    input_tokens: pa.Array,
    output_tokens: pa.Array,
    models: pa.Array,
    recipe_model: str,
    overrides: Mapping[str, ModelPrice] | None,
    provider: ProviderProfile | None = None,
    *,
    direct: np.ndarray | None = None,
) -> pa.Array:
    """USD at the provider's batch price; the recipe's model prices every row, else each row's
    model. Rows of a direct run (`direct`) pay the normal price, or nothing on a server whose
    calls are free."""
    rows = len(models)
    input_rate = np.full(rows, np.nan)
    output_rate = np.full(rows, np.nan)
    direct = np.zeros(rows, dtype=bool) if direct is None else direct
    recipe_price = price_for(recipe_model, overrides, provider)
    for model in pc.unique(models).to_pylist():
        price = recipe_price or price_for(str(model), overrides, provider)
        if price is not None:
            chosen = pc.equal(models, model).to_numpy(zero_copy_only=False)
            input_rate[chosen & ~direct] = price.cost(1, 0)
            output_rate[chosen & ~direct] = price.cost(0, 1)
            input_rate[chosen & direct] = price.cost(1, 0, batch=False)
            output_rate[chosen & direct] = price.cost(0, 1, batch=False)
    if provider is not None and provider.direct_free:
        input_rate[direct] = output_rate[direct] = 0.0
    used_in = input_tokens.to_numpy(zero_copy_only=False)
    used_out = output_tokens.to_numpy(zero_copy_only=False)
    cost = np.round(used_in * input_rate + used_out * output_rate, _COST_DECIMALS)
    cost[(used_in == 0) & (used_out == 0)] = 0.0  # nothing billed costs nothing
    return pa.array(cost, pa.float64(), from_pandas=True)  # NaN (no price) is a missing cell


def _input_names(columns: list[object], added: set[str]) -> list[str]:
    names: list[str] = []
    for column in columns:
        name = str(column)
        while name in added or name in names:
            name = f"{name} (input)"
        names.append(name)
    return names
