"""The preflight's problem finders: the template, the cells, the sizes and the recipe, each
problem a plain sentence with the rows it concerns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from batchdash.errors import InputError
from batchdash.i18n import Message, _l
from batchdash.preflight import limits
from batchdash.preflight.template import (
    THE_TEMPLATE,
    parse,
    placeholders,
    starting_template,
    unknown_placeholder_message,
)
from batchdash.recipe import ENDPOINTS, MODERATION_CATEGORIES, REASONING_EFFORTS, Recipe
from batchdash.wording import alternatives, describe_rows

_CHAT_LIKE = ("/v1/chat/completions", "/v1/responses")
# Endpoints that classify or embed the text: no sampling, no output tokens.
_NO_SAMPLING = ("/v1/embeddings", "/v1/moderations")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth knowing) about a batch, with the rows it concerns."""

    #: One plain sentence naming the problem and the fix, translated when shown.
    sentence: str | Message
    #: 1-based row numbers concerned; empty when the problem is with the recipe.
    rows: tuple[int, ...] = ()
    #: Whether the batch cannot be sent until this is fixed.
    blocking: bool = True

    @property
    def message(self) -> str:
        """The sentence in the language in use now: a plan computed (and cached) in one
        language shows its problems in the language of the moment they are shown."""
        return str(self.sentence)


def system_template(recipe: Recipe) -> str:
    """The system text template, or "" where the endpoint has no place for it."""
    return recipe.system_prompt if recipe.endpoint in _CHAT_LIKE else ""


def template_problems(recipe: Recipe, columns: pd.Index) -> tuple[bool, list[Problem]]:
    """Whether both templates can be rendered, and the problems when they cannot."""
    problems: list[Problem] = []
    known = set(columns)
    for what, template in (
        (THE_TEMPLATE, recipe.template),
        (_l("The system prompt"), system_template(recipe)),
    ):
        try:
            parse(template, what=what)
        except InputError as error:
            problems.append(Problem(error.args[0]))
            continue
        missing = [name for name in placeholders(template) if name not in known]
        if missing:
            problems.append(Problem(unknown_placeholder_message(missing, columns, what=what)))
    if not recipe.template.strip():
        problems.append(
            Problem(_l("The prompt template is empty. Write the prompt to send for each row."))
        )
    return not problems, problems


def same_prompt_warning(frame: pd.DataFrame) -> Problem:
    """A template without a column sends one prompt many times: allowed, but rarely meant."""
    rows = len(frame)
    start = starting_template(frame)
    if start:
        message = _l(
            "The template uses no column, so all {rows:,} rows get the same prompt and are "
            "billed for it {rows:,} times. To send each row its own text, put a column name in "
            "braces into the template (such as {start}), or pick one with Insert column. If "
            "one prompt for every row is what you want, go on.",
            rows=rows,
            start=start,
        )
    else:
        message = _l(
            "The template uses no column, so all {rows:,} rows get the same prompt and are "
            "billed for it {rows:,} times. To send each row its own text, put a column name in "
            "braces into the template, or pick one with Insert column. If one prompt for every "
            "row is what you want, go on.",
            rows=rows,
        )
    return Problem(message, blocking=False)


def cell_problems(texts: pd.DataFrame) -> list[Problem]:
    """Cells longer than Excel allows, per column the templates use (a warning)."""
    problems = []
    for column in texts.columns:
        lengths = texts[column].astype("str").str.len().fillna(0).to_numpy()
        if rows := rows_over(lengths, limits.EXCEL_CELL_CHARS):
            problems.append(
                Problem(
                    _l(
                        "The column '{column}' has cells of more than {limit:,} characters (the longest has "
                        "{longest:,}) in {rows}. Check those cells; an unclosed quote in a CSV file swallows "
                        "the rows after it.",
                        column=column,
                        limit=limits.EXCEL_CELL_CHARS,
                        longest=int(lengths.max()),
                        rows=describe_rows(rows),
                    ),
                    rows,
                    blocking=False,
                )
            )
    return problems


def size_problems(
    recipe: Recipe,
    row_tokens: np.ndarray,
    row_bytes: np.ndarray,
    enqueued_token_limit: int | None,
    max_part_bytes: int,
) -> list[Problem]:
    problems = []
    window = limits.context_window(recipe.model)
    if window is not None and (rows := rows_over(row_tokens, window)):
        problems.append(
            Problem(
                _l(
                    "The requests of {rows} need up to {tokens:,} input tokens, more than the {window:,} "
                    "that '{model}' takes. Shorten those cells, or pick a model with a larger context "
                    "window.",
                    rows=describe_rows(rows),
                    tokens=int(row_tokens.max()),
                    window=window,
                    model=recipe.model,
                ),
                rows,
            )
        )
    limit = enqueued_token_limit
    if limit is not None and limit > 0 and (rows := rows_over(row_tokens, limit)):
        problems.append(
            Problem(
                _l(
                    "The requests of {rows} alone need more input tokens than the enqueued-token limit "
                    "of {limit:,}. Shorten those cells, or raise the limit in Settings if your "
                    "organisation's is higher.",
                    rows=describe_rows(rows),
                    limit=limit,
                ),
                rows,
            )
        )
    if rows := rows_over(row_bytes, max_part_bytes):
        problems.append(
            Problem(
                _l(
                    "The requests of {rows} are each larger than one batch file may be ({max_bytes:,} "
                    "bytes). Shorten those cells.",
                    rows=describe_rows(rows),
                    max_bytes=max_part_bytes,
                ),
                rows,
            )
        )
    return problems


def rows_over(values: np.ndarray, limit: int) -> tuple[int, ...]:
    """1-based numbers of the rows whose value is over `limit`."""
    return tuple((np.flatnonzero(values > limit) + 1).tolist())


def recipe_problems(recipe: Recipe, enqueued_token_limit: int | None) -> list[Problem]:
    """Problems with the endpoint, model and parameters, whatever the rows."""
    problems: list[Problem] = []

    def block(message: Message) -> None:
        problems.append(Problem(message))

    def note(message: Message) -> None:
        problems.append(Problem(message, blocking=False))

    endpoint, model = recipe.endpoint, recipe.model.strip()
    if endpoint not in ENDPOINTS:
        block(
            _l(
                "The endpoint '{endpoint}' is not supported. Choose one of: {endpoints}.",
                endpoint=endpoint,
                endpoints=", ".join(ENDPOINTS),
            )
        )
    if not model:
        block(_l("No model is chosen. Enter a model name such as 'gpt-4o-mini'."))
    elif any(char.isspace() for char in recipe.model):
        guess = "-".join(recipe.model.split())
        if limits.known_model(guess):
            block(
                _l(
                    "The model name '{model}' contains spaces. Enter the exact model name "
                    "(perhaps '{guess}'), without spaces.",
                    model=recipe.model,
                    guess=guess,
                )
            )
        else:
            block(
                _l(
                    "The model name '{model}' contains spaces. Enter the exact model name, "
                    "without spaces.",
                    model=recipe.model,
                )
            )
    reasoning = bool(model) and limits.is_reasoning_model(model)

    takes_max_tokens = endpoint not in _NO_SAMPLING
    if recipe.max_output_tokens is not None and takes_max_tokens:
        minimum = limits.MIN_RESPONSES_OUTPUT_TOKENS if endpoint == "/v1/responses" else 1
        if recipe.max_output_tokens < minimum:
            block(
                _l(
                    "The maximum output tokens is {value}; it must be at least {minimum}. Raise it, or "
                    "leave it empty for the model's default.",
                    value=recipe.max_output_tokens,
                    minimum=minimum,
                )
            )
    if recipe.temperature is not None and endpoint not in _NO_SAMPLING:
        low, high = limits.TEMPERATURE_RANGE
        if not low <= recipe.temperature <= high:
            block(
                _l(
                    "The temperature {temperature} is outside {low:g} to {high:g}. Pick a value in that "
                    "range, or leave it empty.",
                    temperature=recipe.temperature,
                    low=low,
                    high=high,
                )
            )
        elif reasoning:
            block(
                _l(
                    "The reasoning model '{model}' does not take a temperature. Clear the temperature, "
                    "or pick a non-reasoning model.",
                    model=model,
                )
            )
    if recipe.reasoning_effort is not None and endpoint in _CHAT_LIKE and model and not reasoning:
        note(
            _l(
                "'{model}' is not a reasoning model, so the reasoning effort is not sent. Clear it, "
                "or pick a reasoning model (o-series, gpt-5).",
                model=model,
            )
        )
    elif recipe.reasoning_effort not in (None, *REASONING_EFFORTS) and endpoint in _CHAT_LIKE:
        # A recipe read from a record or a file is not checked against the Literal type.
        block(
            _l(
                "The reasoning effort '{effort}' is not one the API takes. Choose one of: {efforts}, "
                "or leave it empty for the model's default.",
                effort=recipe.reasoning_effort,
                efforts=", ".join(REASONING_EFFORTS),
            )
        )

    if endpoint == "/v1/embeddings":
        ignored = ignored_settings(recipe)
        if ignored:
            note(
                _l(
                    "Embeddings take no {settings}; those settings are not sent.",
                    settings=alternatives(ignored),
                )
            )
        if recipe.dimensions is not None and recipe.dimensions < 1:
            block(
                _l(
                    "The embedding size {size} must be at least 1. Raise it, or leave it empty for the "
                    "model's default.",
                    size=recipe.dimensions,
                )
            )
        elif recipe.dimensions is not None and "ada" in model:
            block(
                _l(
                    "'{model}' has a fixed embedding size. Leave the size empty, or pick a "
                    "text-embedding-3 model.",
                    model=model,
                )
            )
        if model and "embedding" not in model:
            note(
                _l(
                    "'{model}' does not look like an embedding model. Check the model name.",
                    model=model,
                )
            )
    elif endpoint == "/v1/moderations":
        problems.extend(moderation_problems(recipe))
    elif model and "embedding" in model:
        note(
            _l(
                "'{model}' is an embedding model; it cannot answer prompts. Check the model name.",
                model=model,
            )
        )
    if endpoint == "/v1/completions" and recipe.reasoning_effort is not None:
        note(_l("Completions take no reasoning effort; it is not sent."))
    if endpoint in ("/v1/embeddings", "/v1/completions", "/v1/moderations"):
        if recipe.system_prompt.strip():
            note(
                _l(
                    "This endpoint has no system prompt, so it is not sent. Put that text into the "
                    "prompt template instead."
                )
            )
        if recipe.output_fields:
            note(
                _l(
                    "This endpoint cannot return structured fields, so answers come back as plain text. "
                    "Use Chat Completions or Responses for structured output."
                )
            )
    if enqueued_token_limit is not None and enqueued_token_limit < 1:
        block(
            _l(
                "The enqueued-token limit {limit} must be a positive number of tokens. Enter your "
                "organisation's limit, or leave it empty.",
                limit=enqueued_token_limit,
            )
        )
    return problems


def ignored_settings(recipe: Recipe) -> list[Message]:
    """The sampling settings a recipe holds, in words: what embeddings and moderation ignore."""
    return [
        name
        for name, value in (
            (_l("temperature"), recipe.temperature),
            (_l("maximum output tokens"), recipe.max_output_tokens),
            (_l("reasoning effort"), recipe.reasoning_effort),
        )
        if value is not None
    ]


def moderation_problems(recipe: Recipe) -> list[Problem]:
    """What a moderation recipe may get wrong: an unknown category, settings it ignores."""
    found: list[Problem] = []
    unknown = [c for c in recipe.moderation_categories if c not in MODERATION_CATEGORIES]
    if unknown:
        found.append(
            Problem(
                _l(
                    "The moderation categories {categories} are not ones the API scores. Choose among: "
                    "{choices}.",
                    categories=", ".join(unknown),
                    choices=", ".join(MODERATION_CATEGORIES),
                )
            )
        )
    ignored = ignored_settings(recipe)
    if ignored:
        found.append(
            Problem(
                _l(
                    "Moderation takes no {settings}; those settings are not sent.",
                    settings=alternatives(ignored),
                ),
                blocking=False,
            )
        )
    model = recipe.model.strip()
    if model and "moderation" not in model:
        found.append(
            Problem(
                _l(
                    "'{model}' does not look like a moderation model (such as 'omni-moderation-latest'). "
                    "Check the model name.",
                    model=model,
                ),
                blocking=False,
            )
        )
    return found
