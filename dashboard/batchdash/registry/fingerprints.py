"""A job's fingerprint: one digest of its rows and its recipe, so a table submitted again with
the same recipe is recognised as the job already made of it (and not paid for twice)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from batchdash.recipe import Recipe
from batchdash.registry.blobs import text_frame


def job_fingerprint(rows: pd.DataFrame, recipe: Recipe) -> str:
    """SHA-256 (hex) of the recipe, the column names and every cell, in order.

    `rows` is the job's table as the registry keeps it (`blobs.text_frame`: every cell text).
    Each part is written as JSON, so no cell's text can pass for a boundary between cells.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    digest.update(json.dumps([str(name) for name in rows.columns]).encode())
    for position in range(rows.shape[1]):
        cells = [str(cell) for cell in rows.iloc[:, position].tolist()]
        digest.update(json.dumps(cells, ensure_ascii=False).encode())
    return digest.hexdigest()


def table_fingerprint(frame: pd.DataFrame, recipe: Recipe) -> str:
    """`job_fingerprint` of a table as read (any cell types): what its job would be saved with."""
    return job_fingerprint(text_frame(frame), recipe)
