"""Spending limits: the refusal's figures, the month's spend on SQLite and PostgreSQL, and the
submit, repair and direct run refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batchdash.direct.jobs import DirectJobs
from batchdash.errors import InputError
from batchdash.i18n import use_language
from batchdash.jobs.service import JobService
from batchdash.preflight.budget import (
    JOB_LIMIT,
    MONTH_LIMIT,
    Limits,
    MonthSpend,
    OverBudget,
    budget_refusal,
    month_start,
    parse_limit,
    saved_limits,
    scope_month_spend,
)
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.pricing import price_for
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-budget"
SINCE = datetime(2026, 12, 1, tzinfo=UTC)
FIX = (
    "Send fewer rows, set a lower Max output tokens, pick a cheaper model, or raise the limit "
    "under Settings > Budgets."
)


def test_a_limit_is_a_positive_amount_of_dollars_or_nothing() -> None:
    assert parse_limit("25", "The limit per job") == 25.0
    assert parse_limit(" $1,000.50 ", "The limit per job") == 1000.5
    assert parse_limit(".5", "The limit per job") == 0.5
    assert parse_limit("  ", "The limit per job") is None
    assert parse_limit("12,500", "The limit per job") == 12_500.0
    # A decimal comma is not read as a thousands separator: "1,50" is not $150.
    for text in ("1,50", "$2,5", "1,5000", "1,000,00"):
        with pytest.raises(InputError) as refused:
            parse_limit(text, "The limit per job")
        assert "1.50" in str(refused.value) and repr(text) in str(refused.value)
    for text in ("ten", "-3", "0", "1e400", "2.5.1"):
        with pytest.raises(InputError) as refused:
            parse_limit(text, "The limit per month")
        assert str(refused.value) == (
            f"The limit per month is {text!r}, which is not an amount of dollars: write a "
            "number above zero, like 25 or 2.50, or leave it empty for no limit."
        )


def test_the_first_of_the_month_is_taken_in_utc() -> None:
    # 00:30 on 1 January in Shanghai is still 31 December in UTC.
    from zoneinfo import ZoneInfo

    shanghai = datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert month_start(shanghai) == SINCE
    assert month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == SINCE


def test_a_job_over_the_job_limit_is_refused_with_the_figures() -> None:
    spend = MonthSpend(SINCE, spent_usd=1.0, running_usd=0.25)
    refusal = budget_refusal(0.5, "gpt-4o-mini", Limits(job_usd=0.4), spend)
    assert str(refusal) == (
        "This may cost up to $0.50, more than the limit of $0.40 per job (this month so far: "
        "$1.00 spent, up to $0.25 for unfinished jobs). " + FIX
    )
    assert budget_refusal(0.4, "gpt-4o-mini", Limits(job_usd=0.4), spend) is None


def test_a_job_taking_the_month_past_its_limit_is_refused_with_the_figures() -> None:
    spend = MonthSpend(SINCE, spent_usd=1.5, running_usd=0.000025)
    limits = Limits(job_usd=10.0, month_usd=2.0)
    refusal = budget_refusal(0.5, "gpt-4o-mini", limits, spend)
    assert str(refusal) == (
        "This may cost up to $0.500000; with $1.500000 spent this month and up to $0.000025 for "
        "unfinished jobs, that passes the limit of $2.000000 per month (UTC). " + FIX
    )
    assert budget_refusal(0.49, "gpt-4o-mini", limits, spend) is None


def test_an_unknown_price_is_refused_only_under_a_limit() -> None:
    spend = MonthSpend(SINCE, 0.0, 0.0)
    assert budget_refusal(None, "my-model", Limits(), spend) is None
    refusal = budget_refusal(None, "my-model", Limits(month_usd=5.0), spend)
    assert str(refusal) == (
        "A spending limit is set, but the price of my-model is unknown, so what this would cost "
        "cannot be checked against it. Give the model's price under Settings > Price overrides, "
        "or remove the limit under Settings > Budgets."
    )


def test_a_refusal_made_in_english_is_shown_in_chinese_after_a_switch() -> None:
    refusal = budget_refusal(0.5, "gpt-4o-mini", Limits(job_usd=0.4), MonthSpend(SINCE, 0, 0))
    with use_language("zh-CN"):
        chinese = str(refusal)
    assert "$0.50" in chinese and "$0.40" in chinese
    assert "预算" in chinese and "This may cost" not in chinese


def test_limits_are_saved_per_scope_and_removed(registry: Registry) -> None:
    registry.set_preference(SCOPE, JOB_LIMIT, 2.5)
    registry.set_preference(SCOPE, MONTH_LIMIT, 40)
    assert saved_limits(registry, SCOPE) == Limits(2.5, 40.0)
    assert saved_limits(registry, "another") == Limits()
    registry.set_preference(SCOPE, JOB_LIMIT, None)
    assert saved_limits(registry, SCOPE) == Limits(None, 40.0)


def _upper_bound(rows: int, recipe: Recipe = RECIPE, *, batch: bool = True) -> float:
    """Input tokens as the preflight counts them, every answer at Max output tokens."""
    price = price_for(recipe.model)
    assert price is not None and recipe.max_output_tokens is not None
    tokens = plan_batch(reviews(rows), recipe).input_tokens
    return price.cost(tokens, rows * recipe.max_output_tokens, batch=batch)


def test_the_months_spend_is_finished_costs_plus_unfinished_upper_bounds(
    box: Sandbox, registry_url: str
) -> None:
    # A job of November (the registry's clock says so) is not this month's.
    november = Registry(registry_url, clock=lambda: datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    JobService(november, box.gateway(), SCOPE).create_job("Old", reviews(3), RECIPE)
    november.close()
    registry = Registry(registry_url, clock=lambda: datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    service = JobService(registry, box.gateway(), SCOPE)
    done = service.create_job("Done", reviews(4), RECIPE)
    service.submit(done)
    run_to_end(service, done)
    service.archive(done)  # archived jobs were paid for all the same
    waiting = service.create_job("Waiting", reviews(6), RECIPE)
    JobService(registry, box.gateway(), "another").create_job("Not ours", reviews(5), RECIPE)
    spent = float(service.merged_table(done)["cost_usd"].sum())
    assert spent > 0
    spend = scope_month_spend(service, datetime(2026, 12, 20, tzinfo=UTC))
    assert spend.since == SINCE
    assert spend.spent_usd == pytest.approx(spent, rel=1e-9)
    assert spend.running_usd == pytest.approx(_upper_bound(6), rel=1e-9)
    assert spend.unknown == 0
    assert service.status(waiting).state == "active"
    january = scope_month_spend(service, datetime(2027, 1, 2, tzinfo=UTC))
    assert (january.spent_usd, january.running_usd) == (0.0, 0.0)
    registry.close()


def _refusal(service: JobService, name: str) -> str:
    """What refuses a 4-row job named `name`."""
    with pytest.raises(OverBudget) as refused:
        service.create_job(name, reviews(4), RECIPE)
    return str(refused.value)


def test_a_submit_over_a_limit_is_refused_before_anything_is_saved_or_sent(
    box: Sandbox, registry: Registry
) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    bound = _upper_bound(4)
    assert bound == pytest.approx(30.3e-6)  # 84 input and 80 output tokens at half price
    registry.set_preference(SCOPE, JOB_LIMIT, 0.00002)
    assert _refusal(service, "Too dear") == (
        "This may cost up to $0.000030, more than the limit of $0.000020 per job (this month so "
        "far: $0.000000 spent, up to $0.000000 for unfinished jobs). " + FIX
    )
    assert registry.list_jobs(SCOPE) == []
    assert box.log.count("POST", "/v1/files") == 0
    registry.set_preference(SCOPE, JOB_LIMIT, 0.0001)
    first = service.create_job("Fits", reviews(4), RECIPE)
    # A month limit counts the first job's upper bound: a second one no longer fits.
    registry.set_preference(SCOPE, MONTH_LIMIT, 0.00005)
    assert _refusal(service, "Second") == (
        "This may cost up to $0.000030; with $0.000000 spent this month and up to $0.000030 for "
        "unfinished jobs, that passes the limit of $0.000050 per month (UTC). " + FIX
    )
    service.discard(first)  # a job discarded unsent costs nothing
    service.create_job("Second", reviews(4), RECIPE)


def test_a_model_without_a_price_is_refused_under_a_limit(box: Sandbox, registry: Registry) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    recipe = Recipe(model="my-own-model", template="Review: {review}", max_output_tokens=20)
    registry.set_preference(SCOPE, MONTH_LIMIT, 100)
    with pytest.raises(OverBudget, match="the price of my-own-model is unknown"):
        service.create_job("Unpriced", reviews(2), recipe)
    registry.set_preference(SCOPE, MONTH_LIMIT, None)
    service.create_job("Unpriced", reviews(2), recipe)


def test_a_repair_is_checked_like_a_submit(box: Sandbox, registry: Registry) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Flaky", reviews(4, {1: "[[sandbox:error]]"}), RECIPE)
    service.submit(job_id)
    status = run_to_end(service, job_id)
    assert status.counts["error"] == 1
    registry.set_preference(SCOPE, JOB_LIMIT, 0.000001)
    with pytest.raises(OverBudget, match="more than the limit of"):
        service.repair(job_id, ["error"])
    assert len(registry.parts(job_id)) == 1
    registry.set_preference(SCOPE, JOB_LIMIT, None)
    assert len(service.repair(job_id, ["error"])) == 1


def test_a_direct_run_is_checked_at_the_normal_price(box: Sandbox, registry: Registry) -> None:
    service = JobService(registry, box.gateway(), SCOPE)
    direct = DirectJobs(service)  # type: ignore[arg-type]
    bound = _upper_bound(4, batch=False)
    assert bound == pytest.approx(60.6e-6)
    registry.set_preference(SCOPE, JOB_LIMIT, 0.00005)  # above the batch price, below this
    with pytest.raises(OverBudget, match=r"up to \$0.000061, more than the limit of \$0.000050"):
        direct.create("Direct", reviews(4), RECIPE)
    assert registry.list_jobs(SCOPE) == []
    registry.set_preference(SCOPE, JOB_LIMIT, 0.0001)
    direct.create("Direct", reviews(4), RECIPE)
    # Not run yet, the job counts in the month's spend at the price it will be billed.
    spend = scope_month_spend(service)
    assert spend.running_usd == pytest.approx(bound, rel=1e-9)
    assert spend.unknown == 0
