"""The New job page's heavy core calls, cached by what they depend on (see ui.memo).

Big inputs travel in `_`-prefixed arguments, which `st.cache_data` does not hash; the digest
beside them names their content.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from batchdash.errors import InputError
from batchdash.inputs.reading import Table, read_pasted, read_table
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice
from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.recipe import Recipe
from ui.memo import cached_data


@cached_data(max_entries=4)
def read_upload(
    digest: str,
    _data: bytes,
    filename: str,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
) -> Table | InputError:
    """The uploaded file (content `digest`) read with these options, or why it cannot be (the
    error, whose message is said in the language of the moment it is shown)."""
    try:
        return read_table(_data, filename, encoding=encoding, delimiter=delimiter, sheet=sheet)
    except InputError as error:
        return error.with_traceback(None)  # no frames kept in the cache


@cached_data(max_entries=8)
def read_paste(text: str) -> Table | InputError:
    """Pasted rows read into a table, or why they cannot be."""
    try:
        return read_pasted(text)
    except InputError as error:
        return error.with_traceback(None)  # no frames kept in the cache


@cached_data(max_entries=8)
def plan(
    digest: str,
    _frame: pd.DataFrame,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    provider: ProviderProfile = OPENAI,
) -> BatchPlan:
    """The preflight of the table with content `digest` run through `recipe` for `provider`."""
    return plan_batch(
        _frame,
        recipe,
        enqueued_token_limit=enqueued_token_limit,
        price_overrides=price_overrides,
        provider=provider,
    )
