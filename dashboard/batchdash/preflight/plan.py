"""Preflight: everything about a batch before anything is sent.

`plan_batch` checks the table and recipe, counts input tokens exactly, prices them and splits
the rows into parts within the API's limits. It never raises for bad input: every problem is
reported with the rows it concerns, and a plan with a blocking problem has no parts.

Rows are rendered, counted and encoded in chunks, and a part's JSONL is built only when asked
for, so memory stays near the size of the table itself however long it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.preflight import limits, tokens
from batchdash.preflight.ids import checked_ids
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.preflight.problems import (
    Problem,
    cell_problems,
    recipe_problems,
    same_prompt_warning,
    size_problems,
    system_template,
    template_problems,
)
from batchdash.preflight.provider_checks import part_limits, provider_problems, split_notes
from batchdash.preflight.request_lines import (
    jsonl_line_sizes,
    jsonl_lines,
    lines_bytes,
    request_body,
    structured_format,
)
from batchdash.preflight.schema import field_problems
from batchdash.preflight.template import (
    placeholders,
    render,
)
from batchdash.recipe import ENDPOINTS, Recipe
from batchdash.wording import describe_rows

if TYPE_CHECKING:
    from batchdash.providers.profiles import ProviderProfile


class PlanStopped(Exception):
    """A plan given up before it was done: its `should_stop` said so between two chunks."""


#: Rows rendered, counted and encoded at a time: bounds the memory a plan needs on top of the
#: table (a few times the chunk's text), and is large enough that the per-chunk overhead of
#: the column operations does not show.
CHUNK_ROWS = 5_000
#: Bytes of text a chunk holds at most (its first row excepted): with long cells, 5,000 rows
#: are hundreds of megabytes, and each is held several times over while it is rendered,
#: counted and escaped into JSON. 4 MB is 5,000 rows of ~800 characters.
CHUNK_BYTES = 4 << 20

_CHAT_LIKE = ("/v1/chat/completions", "/v1/responses")


@dataclass(frozen=True)
class PlannedPart:
    """A run of consecutive rows that becomes one input file and one batch."""

    #: 1-based position among the parts of the plan.
    number: int
    #: 0-based position of the first row (inclusive).
    first_row: int
    #: 0-based position after the last row (exclusive).
    stop_row: int
    #: Exact input tokens of the part's requests.
    input_tokens: int
    #: Bytes of the part's JSONL file.
    size_bytes: int

    @property
    def requests(self) -> int:
        """Number of requests (lines) in the part."""
        return self.stop_row - self.first_row


@dataclass(frozen=True, eq=False)
class BatchPlan:
    """The outcome of a preflight: problems, counts, cost and parts."""

    #: The recipe the plan was made for.
    recipe: Recipe
    #: Every problem found, blocking ones first.
    problems: tuple[Problem, ...]
    #: Number of input rows.
    rows: int
    #: custom_id of every row, in row order.
    custom_ids: pd.Series
    #: Exact input tokens of every row's request, message overhead included (0 if unrendered).
    row_input_tokens: np.ndarray
    #: Bytes of every row's JSONL line, newline included.
    row_bytes: np.ndarray
    #: Sum of `row_input_tokens`.
    input_tokens: int
    #: USD for the input tokens at the batch price; None when the model's price is unknown.
    estimated_cost_usd: float | None
    #: USD for the same tokens at the synchronous price; None when unknown.
    synchronous_cost_usd: float | None
    #: The parts to upload, in row order; empty when a problem blocks the batch.
    parts: tuple[PlannedPart, ...]
    # The columns the templates use (a copy-on-write view of the caller's frame).
    _texts: pd.DataFrame = field(repr=False)
    #: Whether the input tokens are counted with the model's own tokenizer (else estimated).
    tokens_exact: bool = True

    @property
    def ok(self) -> bool:
        """Whether no problem blocks the batch."""
        return not any(problem.blocking for problem in self.problems)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems that do not block the batch."""
        return tuple(problem for problem in self.problems if not problem.blocking)

    def part_bytes(self, number: int) -> bytes:
        """The JSONL of part `number` (1-based): UTF-8 without BOM, one request per line."""
        return b"".join(self._part_chunks(number))

    def write_part(self, number: int, out: BinaryIO) -> int:
        """Write the JSONL of part `number` to `out` a chunk of rows at a time; return its bytes.

        The same bytes as `part_bytes`, without ever holding the whole part in memory.
        """
        return sum(out.write(chunk) for chunk in self._part_chunks(number))

    def _part_chunks(self, number: int) -> Iterator[bytes]:
        if not 1 <= number <= len(self.parts):
            if not self.ok:
                raise InputError(
                    _l(
                        "The batch has no part {number}; it has {parts}. Fix the problems listed "
                        "first.",
                        number=number,
                        parts=len(self.parts),
                    )
                )
            raise InputError(
                _l(
                    "The batch has no part {number}; it has {parts}. Pick an existing part.",
                    number=number,
                    parts=len(self.parts),
                )
            )
        part = self.parts[number - 1]
        for first, stop in _chunks(part.first_row, part.stop_row, self.row_bytes):
            yield lines_bytes(self._lines(first, stop))

    def request_body(self, row: int) -> dict[str, Any]:
        """The request body of row `row` (0-based), e.g. to try a few rows synchronously."""
        prompts, systems = _render_rows(self._texts, self.recipe, row, row + 1)
        system = str(systems.iat[0]) if systems is not None else system_template(self.recipe)
        return request_body(self.recipe, str(prompts.iat[0]), system)

    def _lines(self, first: int, stop: int) -> pa.LargeStringArray:
        prompts, systems = _render_rows(self._texts, self.recipe, first, stop)
        ids = pa.array(self.custom_ids.iloc[first:stop])
        system = pa.array(systems) if systems is not None else system_template(self.recipe)
        return jsonl_lines(self.recipe, ids, pa.array(prompts), system)


def load_ahead(model: str, provider: ProviderProfile | None = None) -> None:
    """Load what planning `model` takes first: its token table and the price list (a quarter
    of a second), e.g. while a workbook is parsed without the GIL (`read_table`'s
    `while_parsing`). A failure here is left for the plan to meet and report."""
    with contextlib.suppress(Exception):
        tokens.counting_for(model, provider.tokens if provider else None)
        price_for(model, None, provider)
        limits.context_window(model)


def plan_batch(
    frame: pd.DataFrame,
    recipe: Recipe,
    *,
    enqueued_token_limit: int | None = None,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    max_part_requests: int | None = None,
    max_part_bytes: int | None = None,
    provider: ProviderProfile | None = None,
    should_stop: Callable[[], bool] | None = None,
    forked_counting: bool = False,
) -> BatchPlan:
    """Check, count, price and split `frame` run through `recipe`; bad input becomes problems.

    With a `provider`, the job is checked against what it takes, split within its per-file
    limits, priced from its price list and counted with its models' tokenizer (or estimated).
    `should_stop` is asked between two chunks of rows; when it says so, PlanStopped is raised
    (a count nobody waits for any more gives the core back at once).
    With `forked_counting`, a forked copy of the process counts part of the tokens (see
    `tokens.counting_on_both_cores`): for one-off commands, not for a server's threads.
    """
    requests_limit, bytes_limit = part_limits(provider, recipe.model)
    max_part_requests = max_part_requests or requests_limit
    max_part_bytes = max_part_bytes or bytes_limit
    problems = recipe_problems(recipe, enqueued_token_limit)
    if provider is not None:
        problems += provider_problems(recipe, provider)
    if recipe.structured:
        problems += [Problem(text) for text in field_problems(recipe.output_fields, frame.columns)]
    templates_ok, found = template_problems(recipe, frame.columns)
    problems += found
    if templates_ok and len(frame) > 1 and not used_columns(recipe):
        problems.append(same_prompt_warning(frame))
    if len(frame) == 0:
        problems.append(Problem(_l("The table has no rows. Add at least one row with a prompt.")))

    ids, id_problems = checked_ids(frame, recipe.id_column)
    problems += [Problem(text, tuple(rows)) for text, rows in id_problems]

    used = used_columns(recipe) if templates_ok else []
    texts = frame[used]
    rows = len(frame)
    row_tokens = np.zeros(rows, dtype=np.int64)
    row_bytes = np.zeros(rows, dtype=np.int64)
    measured = templates_ok and recipe.endpoint in ENDPOINTS
    counter, exact = tokens.counting_for(recipe.model, provider.tokens if provider else None)
    if measured:
        problems += cell_problems(texts)
        if forked_counting:
            with tokens.counting_on_both_cores(counter) as start_count:
                empty = _measure(
                    texts, recipe, ids, row_tokens, row_bytes, counter, start_count, should_stop
                )
        else:
            empty = _measure(texts, recipe, ids, row_tokens, row_bytes, counter, None, should_stop)
        if empty:
            problems.append(
                Problem(
                    _l(
                        "The prompt is empty in {rows}. Fill the cells the template uses, or remove those "
                        "rows.",
                        rows=describe_rows(empty),
                    ),
                    tuple(empty),
                )
            )
        problems += size_problems(
            recipe, row_tokens, row_bytes, enqueued_token_limit, max_part_bytes
        )

    input_tokens = int(row_tokens.sum())
    # Without rendered prompts there is nothing to price (a cost of 0 would mislead).
    price = price_for(recipe.model, price_overrides, provider) if measured else None
    if price is None and measured and recipe.model.strip():
        if provider is not None and provider.price_list is None:
            unpriced = _l(
                "No price is known for the model '{model}', so the cost is not estimated. "
                "{provider}'s prices are not in the packaged price list. Enter its price per "
                "million tokens under Settings > Price overrides.",
                model=recipe.model,
                provider=provider.label,
            )
        else:
            unpriced = _l(
                "No price is known for the model '{model}', so the cost is not estimated. Enter "
                "its price per million tokens under Settings > Price overrides.",
                model=recipe.model,
            )
        problems.append(Problem(unpriced, blocking=False))
    parts: tuple[PlannedPart, ...] = ()
    if not any(problem.blocking for problem in problems):
        spans = limits.split_into_parts(
            row_bytes,
            row_tokens,
            max_requests=max_part_requests,
            max_bytes=max_part_bytes,
            max_tokens=enqueued_token_limit,
        )
        parts = tuple(
            PlannedPart(
                number=number,
                first_row=first,
                stop_row=stop,
                input_tokens=int(row_tokens[first:stop].sum()),
                size_bytes=int(row_bytes[first:stop].sum()),
            )
            for number, (first, stop) in enumerate(spans, start=1)
        )
        if provider is not None:
            problems += split_notes(provider, recipe.model, rows, len(parts), max_part_requests)
    problems.sort(key=lambda problem: not problem.blocking)
    return BatchPlan(
        recipe=recipe,
        problems=tuple(problems),
        rows=rows,
        custom_ids=ids,
        row_input_tokens=row_tokens,
        row_bytes=row_bytes,
        input_tokens=input_tokens,
        estimated_cost_usd=price.cost(input_tokens, 0) if price else None,
        synchronous_cost_usd=price.cost(input_tokens, 0, batch=False) if price else None,
        parts=parts,
        _texts=texts,
        tokens_exact=exact,
    )


def used_columns(recipe: Recipe) -> list[str]:
    """The columns the template and the system prompt use, each once, in order of first use."""
    names = placeholders(recipe.template) + placeholders(system_template(recipe))
    return list(dict.fromkeys(names))


def _chunks(first: int, stop: int, sizes: np.ndarray) -> list[tuple[int, int]]:
    """(first, stop) spans covering first..stop, each of at most CHUNK_ROWS rows and, past
    its first row, at most CHUNK_BYTES of `sizes` (bytes per row, measured or estimated)."""
    ends = np.cumsum(sizes[first:stop], dtype=np.int64)
    spans = []
    start = first
    while start < stop:
        before = int(ends[start - first - 1]) if start > first else 0
        fitting = int(np.searchsorted(ends, before + CHUNK_BYTES, side="right")) + first
        end = min(max(fitting, start + 1), start + CHUNK_ROWS, stop)
        spans.append((start, end))
        start = end
    return spans


def _text_sizes(texts: pd.DataFrame, recipe: Recipe) -> np.ndarray:
    """Characters per row the templates take from the table: how much text rendering a row
    makes, before JSON escaping (which adds at most a few times that)."""
    sizes = np.zeros(len(texts), dtype=np.int64)
    uses = placeholders(recipe.template) + placeholders(system_template(recipe))
    for name in dict.fromkeys(uses):
        lengths = texts[name].str.len().to_numpy(dtype=np.int64, na_value=0)
        sizes += lengths * uses.count(name)
    return sizes


def _render_rows(
    texts: pd.DataFrame, recipe: Recipe, first: int, stop: int
) -> tuple[pd.Series, pd.Series | None]:
    """Prompts of rows first..stop, and their system texts when the system prompt varies."""
    chunk = texts.iloc[first:stop]
    system = system_template(recipe)
    systems = render(system, chunk) if placeholders(system) else None
    return render(recipe.template, chunk), systems


def request_overhead(recipe: Recipe, counter: tokens.TokenCounter) -> tuple[int, int]:
    """Tokens every request of `recipe` holds besides its rendered prompt, and the tokens a
    rendered system text costs on top of its own (0 where the endpoint has no messages)."""
    if recipe.endpoint not in _CHAT_LIKE:
        return 0, 0
    # Chat formatting (OpenAI cookbook): each message costs TOKENS_PER_MESSAGE plus its role
    # and content, and the reply is primed with TOKENS_PER_REPLY.
    user_overhead = tokens.TOKENS_PER_MESSAGE + tokens.count_text("user", counter)
    system_overhead = tokens.TOKENS_PER_MESSAGE + tokens.count_text("system", counter)
    constant = user_overhead + tokens.TOKENS_PER_REPLY
    system = system_template(recipe)
    if system and not placeholders(system):
        constant += system_overhead + tokens.count_text(system, counter)
    if recipe.structured:
        constant += tokens.count_format(structured_format(recipe), counter)
    return constant, system_overhead


def _measure(
    texts: pd.DataFrame,
    recipe: Recipe,
    ids: pd.Series,
    row_tokens: np.ndarray,
    row_bytes: np.ndarray,
    counter: tokens.TokenCounter,
    start_count: tokens.CountStarter | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[int]:
    """Fill in tokens and line bytes of every row; return the rows (1-based) with empty prompts.

    `start_count` starts counting an array of texts (default: `tokens.count_texts` in this
    process, at once). The counts of a chunk are collected after the next chunk's counting
    has started, so a helper process counting part of them is never left waiting. Raises
    PlanStopped when `should_stop` says so before a chunk."""
    if start_count is None:

        def start_count(texts: pa.Array | pa.ChunkedArray) -> Callable[[], np.ndarray]:
            counts = tokens.count_texts(texts.to_pylist(), counter)
            return lambda: counts

    constant_system = system_template(recipe)
    constant_tokens, system_overhead = request_overhead(recipe, counter)
    empty: list[int] = []
    pending: list[Callable[[], None]] = []
    for first, stop in _chunks(0, len(texts), _text_sizes(texts, recipe)):
        if should_stop is not None and should_stop():
            raise PlanStopped
        rendered, rendered_systems = _render_rows(texts, recipe, first, stop)
        blank = (rendered.str.strip() == "").to_numpy()
        empty += (np.flatnonzero(blank) + first + 1).tolist()
        prompts = pa.array(rendered)
        systems = None if rendered_systems is None else pa.array(rendered_systems)
        prompt_counts = start_count(prompts)
        system_counts = None if systems is None else start_count(systems)
        row_bytes[first:stop] = jsonl_line_sizes(
            recipe,
            pa.array(ids.iloc[first:stop]),
            prompts,
            constant_system if systems is None else systems,
        )

        def collect(
            first: int = first,
            stop: int = stop,
            prompt_counts: Callable[[], np.ndarray] = prompt_counts,
            system_counts: Callable[[], np.ndarray] | None = system_counts,
        ) -> None:
            counts = prompt_counts() + constant_tokens
            if system_counts is not None:
                per_system = system_counts()
                counts += np.where(per_system > 0, per_system + system_overhead, 0)
            row_tokens[first:stop] = counts

        pending.append(collect)
        if len(pending) > 1:
            pending.pop(0)()
    for remaining in pending:
        remaining()
    return empty
