"""The merged table (DESIGN.md contract 6): the input rows with their answers and lineage.

Everything after collecting the results into columns is vectorised: picking one result per
custom_id, joining on the input's custom_ids, filling missing rows and pricing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from batchdash.errors import ResultsError
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import LINEAGE_COLUMNS, OutputField, Recipe
from batchdash.results.parse import FieldValue, RowResult

# Costs are kept to a ten-billionth of a dollar: finer than one token of the cheapest model,
# and coarse enough that float noise (1.7999999999999999e-06) never reaches the spreadsheet.
_COST_DECIMALS = 10

# Structured fields named like a fixed column get this suffix in the merged table.
_ANSWER_SUFFIX = " (answer)"


def merge_results(
    frame: pd.DataFrame,
    recipe: Recipe,
    results: Iterable[RowResult],
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
    so every column name stays unique.
    """
    ids = custom_ids(frame, recipe.id_column)
    collected = list(results)
    fields = recipe.result_fields
    table = _results_table(collected, fields)
    _check_sources(table, ids)
    table = _one_result_per_id(table)
    positions = pd.Index(table["custom_id"]).get_indexer(ids)
    found = positions >= 0

    def take(column: str, missing: object) -> np.ndarray:
        values = np.full(len(ids), missing, dtype=object)
        values[found] = table[column].to_numpy(dtype=object)[positions[found]]
        return values

    input_tokens = take("input_tokens", 0).astype(np.int64)
    output_tokens = take("output_tokens", 0).astype(np.int64)
    models = take("model", "")
    added: dict[str, pd.Series] = {"response": _text(take("response", ""))}
    for spec in fields:
        added[_field_column_name(spec.name)] = _field_column(
            take(_field_key(spec.name), None), spec
        )
    added["custom_id"] = _text(ids.to_numpy(dtype=object))
    added["status"] = _text(take("status", "not_run"))
    added["error"] = _text(take("error", ""))
    added["finish_reason"] = _text(take("finish_reason", ""))
    added["input_tokens"] = pd.Series(input_tokens)
    added["output_tokens"] = pd.Series(output_tokens)
    added["cost_usd"] = _costs(
        input_tokens, output_tokens, models, recipe.model, price_overrides, provider
    )
    added["batch_id"] = _text(take("batch_id", ""))
    added["model"] = _text(models)

    inputs = frame.reset_index(drop=True)
    inputs.columns = _input_names(list(frame.columns), set(added))
    return pd.concat([inputs, pd.DataFrame(added)], axis=1)


def unmatched_custom_ids(ids: Sequence[str] | pd.Series, results: Iterable[RowResult]) -> list[str]:
    """custom_ids among `results` that are not in `ids`, in first-seen order."""
    known = set(ids.tolist() if isinstance(ids, pd.Series) else ids)
    seen: dict[str, None] = {}
    for result in results:
        if result.custom_id not in known:
            seen.setdefault(result.custom_id)
    return list(seen)


def _text(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype=str)


def _field_column_name(name: str) -> str:
    return f"{name}{_ANSWER_SUFFIX}" if name == "response" or name in LINEAGE_COLUMNS else name


def _field_key(name: str) -> str:
    # Field names live beside the fixed result columns in one frame; a prefix keeps them apart.
    return f"field:{name}"


def _results_table(results: list[RowResult], fields: Sequence[OutputField]) -> pd.DataFrame:
    columns: dict[str, list[object]] = {
        "custom_id": [r.custom_id for r in results],
        "status": [r.status for r in results],
        "response": [r.response for r in results],
        "error": [r.error for r in results],
        "finish_reason": [r.finish_reason for r in results],
        "input_tokens": [r.input_tokens for r in results],
        "output_tokens": [r.output_tokens for r in results],
        "batch_id": [r.batch_id for r in results],
        "model": [r.model for r in results],
        "source": [r.source for r in results],
    }
    for spec in fields:
        columns[_field_key(spec.name)] = [r.fields.get(spec.name) for r in results]
    return pd.DataFrame(columns, dtype=object)


def _check_sources(table: pd.DataFrame, ids: pd.Series) -> None:
    """A file none of whose custom_ids is in the table belongs to another job."""
    if table.empty:
        return
    matched = table["custom_id"].isin(ids)
    per_source = matched.groupby(table["source"], sort=False).any()
    strangers = per_source.index[~per_source.to_numpy(dtype=bool)]
    if len(strangers):
        source = str(strangers[0]) or "a results file"
        example = table.loc[table["source"] == strangers[0], "custom_id"].iat[0]
        raise ResultsError(
            f"None of the results in {source} match a row of this table (e.g. custom_id "
            f"'{example}'): the file seems to belong to another job, or the ID column differs "
            "from the one the job used."
        )


def _one_result_per_id(table: pd.DataFrame) -> pd.DataFrame:
    """An ok result wins over failures; otherwise the last given."""
    is_ok = (table["status"] == "ok").to_numpy(dtype=np.int8)
    order = np.lexsort((np.arange(len(table)), is_ok))  # failures first, then by position
    return table.iloc[order].drop_duplicates("custom_id", keep="last")


def _field_column(values: np.ndarray, spec: OutputField) -> pd.Series:
    if spec.type == "number":
        return pd.Series(pd.array(values.tolist(), dtype="Float64"))
    if spec.type == "integer":
        return pd.Series(pd.array(values.tolist(), dtype="Int64"))
    texts: list[FieldValue | None] = values.tolist()
    return pd.Series(["" if v is None else v for v in texts], dtype=str)


def _costs(
    input_tokens: np.ndarray,
    output_tokens: np.ndarray,
    models: np.ndarray,
    recipe_model: str,
    overrides: Mapping[str, ModelPrice] | None,
    provider: ProviderProfile | None = None,
) -> pd.Series:
    """USD at the provider's batch price; the recipe's model prices every row, else each row's
    model."""
    input_rate = np.full(len(models), np.nan)
    output_rate = np.full(len(models), np.nan)
    recipe_price = price_for(recipe_model, overrides, provider)
    for model in pd.unique(models):
        price = recipe_price or price_for(str(model), overrides, provider)
        if price is not None:
            rows = models == model
            input_rate[rows] = price.cost(1, 0)
            output_rate[rows] = price.cost(0, 1)
    cost = np.round(input_tokens * input_rate + output_tokens * output_rate, _COST_DECIMALS)
    cost[(input_tokens == 0) & (output_tokens == 0)] = 0.0  # nothing billed costs nothing
    return pd.Series(pd.array(cost, dtype="Float64"))


def _input_names(columns: list[object], added: set[str]) -> list[str]:
    names: list[str] = []
    for column in columns:
        name = str(column)
        while name in added or name in names:
            name = f"{name} (input)"
        names.append(name)
    return names
