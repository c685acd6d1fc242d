"""The Preflight step of New job: problems, tokens, cost and parts, computed when they can change.

Counting the tokens of every row is the heavy part, and only the table, the prompts, the model,
the endpoint, the ID column and the output fields change it. So the full preflight runs on the
recipe with its sampling parameters left out, and a second one over the first rows, with the
whole recipe, adds what the parameters decide (their problems, the request bodies shown and
tried). Changing the temperature of 50,000 rows then costs a three-row preflight.

A big table (more than SYNC_CHARACTERS of prompts) is counted in a background thread
(ui.counting): until the count is done the page shows an estimate from a sample of rows, marked
with ≈, says that the rows are still being checked (the problems of single rows, such as a row
too long for the model, are known only once every row is counted), and offers no download or
submit (their parts are split by the exact count).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from batchdash.errors import InputError
from batchdash.i18n import _
from batchdash.preflight.cost import CostEstimate, estimate_cost
from batchdash.preflight.estimate import TokenEstimate, estimate_input_tokens, prompt_characters
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.preflight.problems import Problem
from batchdash.preflight.template import parse, placeholders
from batchdash.preflight.tokens import counting_for
from batchdash.providers.profiles import OPENAI, ProviderProfile
from batchdash.recipe import Recipe
from ui import cached
from ui.cost_views import show_estimate
from ui.counting import await_count, count_in_background, counted
from ui.memo import caching_on, remembered
from ui.source import Source
from ui.text import plain

#: Rows of the sample preflight: shown as requests, and tried synchronously.
SAMPLE_ROWS = 3
#: Characters of prompts (all rows) up to which every row is counted before the page is drawn:
#: about a tenth of a second of tokenizing. Bigger tables are counted in the background.
SYNC_CHARACTERS = 1_000_000
# A request body longer than this many lines (a structured output schema) scrolls in a box of
# this many pixels, so the page stays short.
_REQUEST_LINES = 20
_REQUEST_HEIGHT = 420


@dataclass(frozen=True, eq=False)
class Preflight:
    """Everything the page shows about a batch before it is sent."""

    #: Every row, with the parameters that change no count left out; None while the rows are
    #: counted in the background.
    plan: BatchPlan | None
    #: The first rows with the whole recipe.
    sample: BatchPlan
    #: The problems of both (of the sample alone while counting), blocking ones first.
    problems: tuple[Problem, ...]
    #: Number of rows.
    rows: int
    #: The input tokens estimated from a sample while the rows are counted; else None.
    estimate: TokenEstimate | None = None
    #: The count under way while `plan` is None.
    counting: Future[BatchPlan] | None = None
    #: Whether the model's own tokenizer counts the rows (else o200k_base estimates them).
    tokenizer_exact: bool = True

    @property
    def counted(self) -> bool:
        """Whether every row is counted (the figures are exact)."""
        return self.plan is not None

    @property
    def input_tokens(self) -> int:
        """Input tokens of every row: exact once counted, else the estimate."""
        if self.plan is not None:
            return self.plan.input_tokens
        return self.estimate.input_tokens if self.estimate is not None else 0

    @property
    def ok(self) -> bool:
        """Whether every row is counted and nothing blocks the batch."""
        return self.counted and not any(problem.blocking for problem in self.problems)


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
    key = _plan_key(source, counting, enqueued_token_limit, prices, provider)
    ready = templates_ready(recipe, frame.columns)
    characters = remembered(
        "characters", key, lambda: prompt_characters(frame, counting) if ready else 0
    )
    plan: BatchPlan | None = None
    future: Future[BatchPlan] | None = None
    if characters <= SYNC_CHARACTERS or not caching_on():
        plan = remembered(
            "plan",
            key,
            lambda: cached.plan(
                source.digest, frame, counting, enqueued_token_limit, prices, provider
            ),
        )
    else:
        future = count_in_background(
            key,
            lambda should_stop: plan_batch(
                frame,
                counting,
                enqueued_token_limit=enqueued_token_limit,
                price_overrides=prices,
                provider=provider,
                should_stop=should_stop,
            ),
        )
        plan = future.result() if future.done() else None
    sample = remembered(
        "sample",
        _plan_key(source, recipe, enqueued_token_limit, prices, provider),
        lambda: cached.plan(
            f"{source.digest}:head{SAMPLE_ROWS}",
            frame.head(SAMPLE_ROWS),
            recipe,
            enqueued_token_limit,
            prices,
            provider,
        ),
    )
    problems = list(plan.problems) if plan is not None else []
    # The sample adds only the problems of the recipe itself (those name no rows); problems of
    # rows come from the full plan, which sees every row.
    problems += [p for p in sample.problems if not p.rows and p not in problems]
    problems.sort(key=lambda problem: not problem.blocking)
    if plan is not None:
        return Preflight(
            plan, sample, tuple(problems), plan.rows, tokenizer_exact=plan.tokens_exact
        )
    estimate = remembered(
        "estimate",
        key,
        lambda: estimate_input_tokens(frame, counting, provider_counting=provider.tokens),
    )
    exact = counting_for(recipe.model, provider.tokens)[1]
    return Preflight(None, sample, tuple(problems), len(frame), estimate, future, exact)


def _plan_key(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    prices: dict[str, ModelPrice],
    provider: ProviderProfile,
) -> tuple[object, ...]:
    """What a plan of the rows depends on: the key of the page's count, its sample and submit's."""
    return (source.digest, recipe, enqueued_token_limit, tuple(prices.items()), provider.name)


def full_plan(
    source: Source,
    recipe: Recipe,
    enqueued_token_limit: int | None,
    price_overrides: Mapping[str, ModelPrice],
    provider: ProviderProfile = OPENAI,
) -> BatchPlan:
    """The preflight of every row with the whole recipe: what is downloaded and submitted."""
    prices = dict(price_overrides)
    if recipe == recipe.for_counting():
        # No sampling parameters: the page's own count of every row is this very plan.
        done = counted(_plan_key(source, recipe, enqueued_token_limit, prices, provider))
        if done is not None:
            return done
    return remembered(
        "full_plan",
        _plan_key(source, recipe, enqueued_token_limit, prices, provider),
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
            _(
                "The requests appear here once the template names only existing columns (see "
                "the problem under Preflight)."
            )
        )
        return
    tabs = st.tabs([_("Row {row}", row=row + 1) for row in range(pre.sample.rows)])
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
    if pre.counting is not None:
        # First, so no one takes the problems listed below for all there are.
        await_count(pre.counting)
    show_problems(pre.problems)
    with st.container(horizontal=True):
        st.metric(_("Rows"), f"{pre.rows:,}", border=True)
        exact = pre.counted and pre.tokenizer_exact
        st.metric(
            _("Input tokens") if pre.tokenizer_exact else _("Input tokens (estimate)"),
            f"{pre.input_tokens:,}" if exact else f"≈ {pre.input_tokens:,}",
            border=True,
            help=_token_help(pre, recipe),
        )
        st.metric(
            _("Batches"),
            f"{len(plan.parts):,}" if plan is not None and pre.ok else "–",
            border=True,
            help=batches_help()
            + ("" if pre.counted else " " + _("Known once every row is counted.")),
        )
    cost_slot = st.container()
    _show_limit(pre, recipe, enqueued_token_limit)
    if plan is not None and pre.ok and len(plan.parts) > 1:
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
            column_config={
                "part": _("part"),
                "rows": _("rows"),
                "requests": _("requests"),
                "input tokens": _("input tokens"),
                "size (MB)": _("size (MB)"),
            },
            alt=_("The parts the job is split into"),
        )
    return cost_slot


def batches_help() -> str:
    """What the Batches figure counts."""
    return _(
        "The job is sent as this many batches (parts): a job too big for one batch file, or "
        "for the queue limit in Settings, is split."
    )


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
    return estimate_cost(recipe, pre.rows, pre.input_tokens, price, tried_output_tokens)


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
    price = price_for(recipe.model, price_overrides, provider)
    # While counting, the templates render (else nothing is counted in the background).
    priced = pre.plan.estimated_cost_usd is not None if pre.plan is not None else price is not None
    if not priced or price is None:
        st.metric(_("Input would cost") if sandbox else _("Input cost"), _("unknown"), border=True)
        return
    estimate = job_estimate(pre, recipe, price_overrides, tried_output_tokens, provider)
    show_estimate(
        estimate,
        recipe.model,
        sandbox=sandbox,
        synchronous_usd=price.cost(pre.input_tokens, 0, batch=False),
        estimated_input=not (pre.counted and pre.tokenizer_exact),
        tokenizer_exact=pre.tokenizer_exact,
    )


def _token_help(pre: Preflight, recipe: Recipe) -> str | None:
    """Why the input tokens are an estimate, when they are one."""
    notes = []
    if not pre.tokenizer_exact:
        notes.append(
            _(
                "No tokenizer of {model} ships with Batchdash, so its tokens are estimated "
                "with OpenAI's o200k_base; the provider's own count may differ by some percent.",
                model=plain(recipe.model),
            )
        )
    if pre.estimate is not None:
        notes.append(
            _(
                "Estimated from {rows:,} rows spread over the table while every row is "
                "counted; the count replaces it in a moment.",
                rows=pre.estimate.sampled_rows,
            )
        )
    return " ".join(notes) or None


def _show_limit(pre: Preflight, recipe: Recipe, limit: int | None) -> None:
    model = plain(recipe.model)
    if limit is None:
        st.caption(
            _(
                "No queue limit is set for {model}; set your organisation's in Settings (How "
                "much may wait in the queue) so the job is split into batches that fit it.",
                model=model,
            )
        )
        return
    if pre.input_tokens > limit:
        tokens = pre.input_tokens
        needs = f"{tokens:,}" if pre.counted else _("about {tokens:,}", tokens=tokens)
        st.warning(
            _(
                "The job needs {needs} input tokens, more than the {limit:,} your organisation "
                "may have waiting in the queue for {model} (its enqueued-token limit). It is "
                "split into batches that each fit, but OpenAI refuses a batch while those "
                "already queued hold the limit: submit, and repair refused batches once "
                "earlier ones finish.",
                needs=needs,
                limit=limit,
                model=model,
            ),
            icon=":material/warning:",
        )
