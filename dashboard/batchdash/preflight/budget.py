"""Spending limits: per job and per calendar month (UTC), checked before anything is sent.

A job's cost is known only once its answers are written, so the check uses the estimate's upper
bound: the input tokens, counted exactly, plus every answer at its most tokens (Max output
tokens, else the model's limit). The month's spend is what finished jobs cost (their merged
`cost_usd`) plus what unfinished ones may still cost (their upper bound), over the jobs created
since the first of the month in UTC. A job whose model has no known price cannot be checked:
with a limit set, it is refused with a plain word on how to give its price, never guessed.

The limits are saved per scope in the registry (`budget.job_usd`, `budget.month_usd`), so the
command line and every page of the same key read the same ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from batchdash.errors import InputError
from batchdash.i18n import Message, _l, n_l
from batchdash.money import usd_all
from batchdash.preflight.cost import estimate_cost
from batchdash.preflight.pricing import ModelPrice
from batchdash.recipe import Recipe
from batchdash.registry.records import Job
from batchdash.registry.store import Registry

#: Preference names of the two limits (USD, a positive number; absent: no limit).
JOB_LIMIT = "budget.job_usd"
MONTH_LIMIT = "budget.month_usd"

# "25", "2.50", "$1,000", " 3 " are amounts; commas group thousands, three digits at a time.
_AMOUNT = re.compile(r"^\$?\s*((?:\d{1,3}(?:,\d{3})+|\d+)(\.\d*)?|\.\d+)$")
# A comma where a point belongs ("1,50", as many languages write cents): never read as $150.
_DECIMAL_COMMA = re.compile(r"^\$?\s*\d[\d,]*,(\d{1,2}|\d{4,})$")


class OverBudget(InputError):
    """A submit, repair or direct run whose upper-bound estimate passes a spending limit."""


@dataclass(frozen=True)
class Limits:
    """A scope's spending limits in USD; None: no limit."""

    #: Most one job (or one repair, one direct run) may cost.
    job_usd: float | None = None
    #: Most the jobs created this calendar month (UTC) may cost together.
    month_usd: float | None = None

    @property
    def any(self) -> bool:
        """Whether either limit is set."""
        return self.job_usd is not None or self.month_usd is not None


@dataclass(frozen=True)
class MonthSpend:
    """What the jobs created since the first of the month (UTC) cost, and may still cost."""

    #: Midnight UTC of the first day of the month.
    since: datetime
    #: USD the finished jobs cost (their merged `cost_usd`).
    spent_usd: float
    #: USD the unfinished jobs may cost at most (their upper-bound estimate).
    running_usd: float
    #: Jobs whose cost is unknown (no price for their model), counted in neither figure.
    unknown: int = 0

    @property
    def total_usd(self) -> float:
        """Spent plus what may still be spent."""
        return self.spent_usd + self.running_usd


class SpentJob(Protocol):
    """What the month's spend reads of a job's status (`jobs.status.JobStatus`, named here so
    that the preflight does not import the jobs package, which imports it)."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def state(self) -> str: ...

    @property
    def discarded(self) -> bool: ...

    @property
    def actual_cost_usd(self) -> float | None: ...

    @property
    def max_cost_usd(self) -> float | None: ...


class SpendingScope(Protocol):
    """What the month's spend is read from: a job service (its registry, scope and statuses)."""

    @property
    def registry(self) -> Registry: ...

    @property
    def scope(self) -> str: ...

    def statuses_of(self, jobs: list[Job]) -> Sequence[SpentJob]: ...


def saved_limits(registry: Registry, scope: str) -> Limits:
    """The limits saved for `scope`."""
    return Limits(
        job_usd=_positive(registry.preference(scope, JOB_LIMIT)),
        month_usd=_positive(registry.preference(scope, MONTH_LIMIT)),
    )


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def parse_limit(text: str, what: str | Message) -> float | None:
    """The amount typed as a limit; None for an empty box (no limit). InputError naming `what`
    ("The limit per job") for anything that is not a positive amount of dollars."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if _DECIMAL_COMMA.match(cleaned):
        raise InputError(
            _l(
                "{what} is {text}: write the cents after a point, like 1.50 (a comma only "
                "groups thousands, as in 1,000).",
                what=what,
                text=repr(cleaned),
            )
        )
    match = _AMOUNT.match(cleaned)
    amount = float(match.group(1).replace(",", "")) if match else math.nan
    if not math.isfinite(amount) or amount <= 0:
        raise InputError(
            _l(
                "{what} is {text}, which is not an amount of dollars: write a number above "
                "zero, like 25 or 2.50, or leave it empty for no limit.",
                what=what,
                text=repr(cleaned),
            )
        )
    return amount


def month_start(now: datetime) -> datetime:
    """Midnight UTC of the first day of `now`'s month (in UTC)."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(statuses: Iterable[SpentJob], now: datetime) -> MonthSpend:
    """The month's spend over the jobs of `statuses` created since the first of `now`'s month."""
    since = month_start(now)
    spent = running = 0.0
    unknown = 0
    for status in statuses:
        if _aware(status.created_at) < since or status.discarded:
            continue
        cost = status.actual_cost_usd if status.state == "finished" else status.max_cost_usd
        if cost is None or not math.isfinite(cost):
            unknown += 1
        elif status.state == "finished":
            spent += cost
        else:
            running += cost
    return MonthSpend(since, round(spent, 10), round(running, 10), unknown)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def scope_month_spend(service: SpendingScope, now: datetime | None = None) -> MonthSpend:
    """The month's spend of the service's scope, archived jobs included (they were paid)."""
    now = now or datetime.now(UTC)
    since = month_start(now)
    jobs = service.registry.list_jobs(service.scope, include_archived=True)
    return month_spend(service.statuses_of([j for j in jobs if _aware(j.created_at) >= since]), now)


def budget_refusal(
    max_usd: float | None, model: str, limits: Limits, spend: MonthSpend
) -> Message | None:
    """Why a spending of at most `max_usd` (None: the price of `model` is unknown) may not go
    ahead under `limits` with the month's `spend` so far; None when it may."""
    if not limits.any:
        return None
    if max_usd is None:
        return _l(
            "A spending limit is set, but the price of {model} is unknown, so what this would "
            "cost cannot be checked against it. Give the model's price under Settings > Price "
            "overrides, or remove the limit under Settings > Budgets.",
            model=model,
        )

    def figures(limit: float) -> dict[str, str | Message]:
        shown = usd_all([max_usd, limit, spend.spent_usd, spend.running_usd])
        fix = _l(
            "Send fewer rows, set a lower Max output tokens, pick a cheaper model, or raise the "
            "limit under Settings > Budgets."
        )
        return dict(zip(("estimate", "limit", "spent", "running"), shown, strict=True)) | {
            "fix": fix
        }

    if limits.job_usd is not None and max_usd > limits.job_usd:
        return _l(
            "This may cost up to {estimate}, more than the limit of {limit} per job (this month "
            "so far: {spent} spent, up to {running} for unfinished jobs). {fix}",
            **figures(limits.job_usd),
        )
    if limits.month_usd is not None and spend.total_usd + max_usd > limits.month_usd:
        return _l(
            "This may cost up to {estimate}; with {spent} spent this month and up to {running} "
            "for unfinished jobs, that passes the limit of {limit} per month (UTC). {fix}",
            **figures(limits.month_usd),
        )
    return None


def check_budget(service: SpendingScope, max_usd: float | None, model: str) -> None:
    """OverBudget when a spending of at most `max_usd` passes the scope's saved limits."""
    limits = saved_limits(service.registry, service.scope)
    if not limits.any:
        return  # no limit: the month's spend is not even read
    refusal = budget_refusal(max_usd, model, limits, scope_month_spend(service))
    if refusal is not None:
        raise OverBudget(refusal)


def check_spending(
    service: SpendingScope, recipe: Recipe, rows: int, input_tokens: int, price: ModelPrice | None
) -> None:
    """`check_budget` for `rows` requests of `recipe` holding `input_tokens`, at `price` (None:
    unknown), every answer at its most tokens."""
    estimate = estimate_cost(recipe, rows, input_tokens, price)
    check_budget(service, estimate.max_usd, recipe.model)


def unknown_note(spend: MonthSpend) -> Message | None:
    """A word on the jobs left out of the month's spend for want of a price; None if none."""
    if not spend.unknown:
        return None
    return n_l(
        "{n} job of this month has a model without a known price: its cost is not counted.",
        "{n} jobs of this month have a model without a known price: their cost is not counted.",
        spend.unknown,
    )
