"""What a job will cost: the input (counted exactly), the answers' upper bound, and the answers
projected from a few tried rows.

The input tokens are known before anything is sent; the answers' are not. Their cost is bounded
by the most tokens each answer may have (Max output tokens, else the model's own limit), and,
once a few rows were tried, expected from the tried answers' mean length times the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from batchdash.preflight import limits
from batchdash.preflight.pricing import ModelPrice
from batchdash.recipe import Recipe

#: Where the per-answer token limit of the upper bound comes from.
LimitSource = Literal["max_output_tokens", "model", "context_window", "none"]


@dataclass(frozen=True)
class AnswerLimit:
    """The most output tokens one answer may use, and where that figure comes from."""

    #: Tokens per answer; None when nothing bounds them.
    tokens: int | None
    #: "max_output_tokens" (the recipe's), "model" (the model's output limit),
    #: "context_window" (no output limit known; the context window bounds it) or "none"
    #: (embeddings: nothing is written back).
    source: LimitSource


@dataclass(frozen=True)
class CostEstimate:
    """A job's cost at the batch price: input, answers at most, and answers expected."""

    #: USD of the input tokens (exact count); None when the model's price is unknown.
    input_usd: float | None
    #: USD if every answer used its whole limit; None when unknown.
    answers_max_usd: float | None
    #: The per-answer limit behind `answers_max_usd`.
    answer_limit: AnswerLimit
    #: Output tokens of the whole job projected from tried rows; None before a try.
    expected_output_tokens: float | None
    #: USD of those projected output tokens; None before a try or without a price.
    answers_expected_usd: float | None
    #: Rows the projection comes from (0: none).
    projected_from: int
    #: Whether the input count holds an approximation (a structured-output schema).
    approximate_input: bool

    @property
    def max_usd(self) -> float | None:
        """Input plus the answers' upper bound."""
        if self.input_usd is None or self.answers_max_usd is None:
            return None
        return self.input_usd + self.answers_max_usd

    @property
    def expected_usd(self) -> float | None:
        """Input plus the projected answers; None before a try."""
        if self.input_usd is None or self.answers_expected_usd is None:
            return None
        return self.input_usd + self.answers_expected_usd


def answer_limit(recipe: Recipe) -> AnswerLimit:
    """The most output tokens one answer of `recipe` may use."""
    if recipe.endpoint in ("/v1/embeddings", "/v1/moderations"):
        return AnswerLimit(0, "none")
    if recipe.max_output_tokens:
        return AnswerLimit(recipe.max_output_tokens, "max_output_tokens")
    if (tokens := limits.output_limit(recipe.model)) is not None:
        return AnswerLimit(tokens, "model")
    return AnswerLimit(limits.context_window(recipe.model), "context_window")


def project_output_tokens(tried: Sequence[int], rows: int) -> float | None:
    """Output tokens of `rows` answers, from the mean of the `tried` answers; None if none."""
    if not tried:
        return None
    return sum(tried) / len(tried) * rows


def estimate_cost(
    recipe: Recipe,
    rows: int,
    input_tokens: int,
    price: ModelPrice | None,
    tried_output_tokens: Sequence[int] = (),
) -> CostEstimate:
    """The cost of `rows` requests of `recipe` holding `input_tokens` in all.

    `tried_output_tokens` are the output tokens of the answered tried rows (empty: no try).
    """
    limit = answer_limit(recipe)
    # Embeddings and moderations write no answer tokens: their cost is known without a try.
    expected = 0.0 if limit.tokens == 0 else project_output_tokens(tried_output_tokens, rows)
    free = price is not None and price.answers_free
    return CostEstimate(
        input_usd=price.cost(input_tokens, 0) if price else None,
        answers_max_usd=(
            0.0
            if free
            else price.cost(0, rows * limit.tokens)
            if price and limit.tokens is not None
            else None
        ),
        answer_limit=limit,
        expected_output_tokens=expected,
        answers_expected_usd=(
            0.0 if free else price.cost(0, expected) if price and expected is not None else None
        ),
        projected_from=(
            len(tried_output_tokens) if expected is not None and limit.tokens != 0 else 0
        ),
        approximate_input=recipe.structured,
    )
