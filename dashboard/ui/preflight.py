"""The Preflight step of New job: problems, tokens, cost and parts, computed when they can change.

Counting the tokens of every row is the heavy part, and only the table, the prompts, the model,
the endpoint, the ID column and the output fields change it. So the full preflight runs on the
recipe with its sampling parameters left out, and a second one over the first rows, with the
whole recipe, adds what the parameters decide (their problems, the request bodies shown and
tried). Changing the temperature of 50,000 rows then costs a three-row preflight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from batchdash.errors import InputError
from batchdash.preflight.cost import CostEstimate, estimate_cost
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.preflight.problems import Problem
from batchdash.preflight.template import parse, placeholders
from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.recipe import Recipe
from ui import cached
from ui.cost_views import show_estimate
from ui.memo import remembered
from ui.source import Source
from ui.text import plain

#: Rows of the sample preflight: shown as requests, and tried synchronously.
SAMPLE_ROWS = 3
# A request body longer than this many lines (a structured output schema) scrolls in a box of
# this many pixels, so the page stays short.
_REQUEST_LINES = 20
_REQUEST_HEIGHT = 420


@dataclass(frozen=True, eq=False)
class Preflight:
    """Everything the page shows about a batch before it is sent."""

    #: Every row, with the parameters that change no count left out.
    plan: BatchPlan
    #: The first rows with the whole recipe.
    sample: BatchPlan
    #: The problems of both, blocking ones first.
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing blocks the batch."""
        return not any(problem.blocking for problem in self.problems)


def preflight(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    provider: ProviderProfile = OPENAI,
) -> Preflight:
    """The preflight of `source` through `recipe` for `provider`, recomputed only when its
    inputs change."""
    frame = source.table.frame
    counting = recipe.for_counting()
    prices = dict(price_overrides)
    plan = remembered(
        "plan",
        (source.digest, counting, enqueued_token_limit, tuple(prices.items()), provider.name),
        lambda: cached.plan(source.digest, frame, counting, enqueued_token_limit, prices, provider),
    )
    sample = remembered(
        "sample",
        (source.digest, recipe, enqueued_token_limit, tuple(prices.items()), provider.name),
        lambda: cached.plan(
            f"{source.digest}:head{SAMPLE_ROWS}",
            frame.head(SAMPLE_ROWS),
            recipe,
            enqueued_token_limit,
            prices,
            provider,
        ),
    )
    problems = list(plan.problems)
    # The sample adds only the problems of the recipe itself (those name no rows); problems of
    # rows come from the full plan, which sees every row.
    problems += [p for p in sample.problems if not p.rows and p not in problems]
    problems.sort(key=lambda problem: not problem.blocking)
    return Preflight(plan, sample, tuple(problems))


def full_plan(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    provider: ProviderProfile = OPENAI,
) -> BatchPlan:
    """The preflight of every row with the whole recipe: what is downloaded and submitted."""
    prices = dict(price_overrides)
    return remembered(
        "full_plan",
        (source.digest, recipe, enqueued_token_limit, tuple(prices.items()), provider.name),
        lambda: cached.plan(
            source.digest, source.table.frame, recipe, enqueued_token_limit, prices, provider
        ),
    )


def part_file(
    frame: pd.DataFrame,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    number: int,
    provider: ProviderProfile = OPENAI,
) -> bytes:
    """The JSONL of part `number`, planned afresh (for a download made outside the script run)."""
    plan = plan_batch(
        frame,
        recipe,
        enqueued_token_limit=enqueued_token_limit,
        price_overrides=price_overrides,
        provider=provider,
    )
    return plan.part_bytes(number)


def templates_ready(recipe: Recipe, columns: pd.Index) -> bool:
    """Whether both templates parse and name only existing columns (requests can be shown)."""
    try:
        names = placeholders(recipe.template) + placeholders(recipe.system_prompt)
        parse(recipe.template)
    except InputError:
        return False
    return bool(recipe.template.strip()) and all(name in columns for name in names)


def show_requests(pre: Preflight, recipe: Recipe, columns: pd.Index) -> None:
    """The request bodies of the first rows, as they will be sent."""
    if not templates_ready(recipe, columns):
        st.caption(
            "The requests appear here once the template names only existing columns (see "
            "the problem under Preflight)."
        )
        return
    tabs = st.tabs([f"Row {row + 1}" for row in range(pre.sample.rows)])
    for row, tab in enumerate(tabs):
        body = pre.sample.request_body(row)
        text = json.dumps(body, indent=2, ensure_ascii=False)
        tall = text.count("\n") > _REQUEST_LINES
        tab.code(
            text, language="json", wrap_lines=True, height=_REQUEST_HEIGHT if tall else "content"
        )


def show_problems(problems: Sequence[Problem], *, blocking_only: bool = False) -> None:
    """Each problem as an error (it blocks the batch) or a warning, in the order given."""
    for problem in problems:
        if problem.blocking:
            st.error(plain(problem.message), icon=":material/error:")
        elif not blocking_only:
            st.warning(plain(problem.message), icon=":material/warning:")


def show_preflight(
    pre: Preflight, recipe: Recipe, enqueued_token_limit: int | None
) -> DeltaGenerator:
    """Problems with their rows, rows, tokens and the parts; an empty slot under the figures for
    the cost (`show_cost`), which a try further down the page may still change."""
    plan = pre.plan
    show_problems(pre.problems)
    with st.container(horizontal=True):
        st.metric("Rows", f"{plan.rows:,}", border=True)
        if plan.tokens_exact:
            st.metric("Input tokens", f"{plan.input_tokens:,}", border=True)
        else:
            st.metric(
                "Input tokens (estimate)",
                f"≈ {plan.input_tokens:,}",
                border=True,
                help=f"No tokenizer of {plain(recipe.model)} ships with Batchdash, so its "
                "tokens are estimated with OpenAI's o200k_base; the provider's own count may "
                "differ by some percent.",
            )
        st.metric(
            "Batches",
            f"{len(plan.parts):,}" if pre.ok else "–",
            border=True,
            help="The job is sent as this many batches (parts): a job too big for one batch "
            "file, or for the queue limit in Settings, is split.",
        )
    cost_slot = st.container()
    _show_limit(plan, recipe, enqueued_token_limit)
    if pre.ok and len(plan.parts) > 1:
        st.dataframe(
            pd.DataFrame(
                {
                    "part": [part.number for part in plan.parts],
                    "rows": [f"{part.first_row + 1:,}–{part.stop_row:,}" for part in plan.parts],
                    "requests": [part.requests for part in plan.parts],
                    "input tokens": [part.input_tokens for part in plan.parts],
                    "size (MB)": [round(part.size_bytes / 1e6, 1) for part in plan.parts],
                }
            ),
            hide_index=True,
            alt="The parts the job is split into",
        )
    return cost_slot


def job_estimate(
    pre: Preflight,
    recipe: Recipe,
    price_overrides: Mapping[str, ModelPrice],
    tried_output_tokens: Sequence[int] = (),
    provider: ProviderProfile = OPENAI,
) -> CostEstimate:
    """The cost of every row: input counted (exactly where the model's tokenizer ships),
    answers bounded and, after a try, projected."""
    price = price_for(recipe.model, price_overrides, provider)
    plan = pre.plan
    return estimate_cost(recipe, plan.rows, plan.input_tokens, price, tried_output_tokens)


def show_cost(
    pre: Preflight,
    recipe: Recipe,
    price_overrides: Mapping[str, ModelPrice],
    *,
    sandbox: bool,
    tried_output_tokens: Sequence[int] = (),
    provider: ProviderProfile = OPENAI,
) -> None:
    """What the job costs (in Sandbox mode: would cost), once the prompts can be counted."""
    if pre.plan.estimated_cost_usd is None:
        st.metric("Input would cost" if sandbox else "Input cost", "unknown", border=True)
        return
    estimate = job_estimate(pre, recipe, price_overrides, tried_output_tokens, provider)
    show_estimate(
        estimate,
        recipe.model,
        sandbox=sandbox,
        synchronous_usd=pre.plan.synchronous_cost_usd,
        tokens_estimated=not pre.plan.tokens_exact,
    )


def _show_limit(plan: BatchPlan, recipe: Recipe, limit: int | None) -> None:
    model = plain(recipe.model)
    if limit is None:
        st.caption(
            f"No queue limit is set for {model}; set your organisation's in Settings (How much "
            "may wait in the queue) so the job is split into batches that fit it."
        )
        return
    if plan.input_tokens > limit:
        st.warning(
            f"The job needs {plan.input_tokens:,} input tokens, more than the {limit:,} your "
            f"organisation may have waiting in the queue for {model} (its enqueued-token "
            "limit). It is split into batches that each fit, but OpenAI refuses a batch while "
            "those already queued hold the limit: submit, and repair refused batches once "
            "earlier ones finish.",
            icon=":material/warning:",
        )
