"""A quick estimate of a batch's input tokens, shown while every row is counted exactly.

Counting 50,000 rows exactly takes a second or more, too long for a page that should answer a
template edit at once. Every row's prompt length is known without rendering it (the template's
literal text plus the lengths of the cells it names), so the estimate counts an evenly spread
sample of rows exactly and scales their tokens per character to all the characters. It is
rounded to three significant digits, so it never looks like an exact count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from batchdash.preflight import tokens
from batchdash.preflight.plan import request_overhead
from batchdash.preflight.problems import system_template
from batchdash.preflight.template import placeholders, render, rendered_length
from batchdash.recipe import Recipe

#: Rows counted exactly for an estimate: a few milliseconds of tokenizing.
SAMPLE_ROWS = 200
#: Significant digits an estimate keeps.
_DIGITS = 3
# Characters per token assumed when the sampled prompts are all empty (OpenAI's rule of thumb).
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class TokenEstimate:
    """Input tokens of every row, estimated from a sample."""

    #: Estimated input tokens of all rows, rounded to three significant digits.
    input_tokens: int
    #: Rows counted exactly to make it.
    sampled_rows: int
    #: Characters of every row's prompts (template and system text), summed.
    characters: int


def prompt_characters(frame: pd.DataFrame, recipe: Recipe) -> int:
    """Characters of every row's rendered prompt and system text, summed, without rendering.

    The recipe's templates must parse and name only columns of `frame`.
    """
    system = system_template(recipe)
    varying = rendered_length(system, frame) if placeholders(system) else 0
    return rendered_length(recipe.template, frame) + varying


def estimate_input_tokens(
    frame: pd.DataFrame,
    recipe: Recipe,
    sample_rows: int = SAMPLE_ROWS,
    provider_counting: str | None = None,
) -> TokenEstimate:
    """Input tokens of every row of `frame` through `recipe`, estimated from `sample_rows` rows,
    with the tables the exact count would use (`provider_counting` as in `tokens.counting_for`).

    The recipe's templates must parse and name only columns of `frame`.
    """
    rows = len(frame)
    characters = prompt_characters(frame, recipe)
    if rows == 0:
        return TokenEstimate(0, 0, 0)
    picked = np.unique(np.linspace(0, rows - 1, min(rows, sample_rows)).astype(np.int64))
    sample = frame.iloc[picked]
    counter, _ = tokens.counting_for(recipe.model, provider_counting)
    constant, system_overhead = request_overhead(recipe, counter)
    texts = render(recipe.template, sample).tolist()
    system = system_template(recipe)
    if placeholders(system):
        texts += render(system, sample).tolist()
    sample_tokens = int(tokens.count_texts(texts, counter).sum())
    sample_characters = sum(len(text) for text in texts)
    if sample_characters:
        content = sample_tokens * characters / sample_characters
    else:
        content = characters / _CHARS_PER_TOKEN
    per_row = constant + (system_overhead if placeholders(system) else 0)
    total = rows * per_row + content
    return TokenEstimate(_rounded(total), len(picked), characters)


def _rounded(value: float) -> int:
    """`value` to three significant digits, as a whole number."""
    if value < 1:
        return 0
    digits = _DIGITS - int(np.floor(np.log10(value))) - 1
    return int(round(value, min(digits, 0)))
