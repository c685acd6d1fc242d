"""Honest cost: one rounding for figures side by side, the answers' upper bound, the projection
from tried rows, the schema's tokens, and the projection checked against a job the sandbox ran.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from batchdash.jobs.service import JobService
from batchdash.money import usd, usd_all
from batchdash.preflight import tokens
from batchdash.preflight.cost import answer_limit, estimate_cost, project_output_tokens
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.pricing import ModelPrice, require_price
from batchdash.preflight.request_lines import structured_format
from batchdash.recipe import OutputField, Recipe
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import Sandbox, run_to_end
from ui.trial import run_trial

box = jobs_kit.box  # the sandbox fixture

PRICE = ModelPrice(input_per_million=0.15, output_per_million=0.60)


def test_figures_side_by_side_share_one_rounding() -> None:
    # The three costs the Jobs table showed as $0.02, $0.002828 and $0.0009.
    shown = usd_all([0.02, 0.002828, 0.0009])
    assert shown == ["$0.02000", "$0.00283", "$0.00090"]
    assert len({len(text.split(".")[1]) for text in shown}) == 1
    assert usd_all([12.5, 0.3]) == ["$12.50", "$0.30"]
    assert usd(0.002828) == "$0.0028"
    assert usd(None) == "unknown"
    assert usd(0.0000001) == "under $0.000001"


def _cents(text: str) -> Decimal:
    """The amount a text shows ("under $0.000001" shows less than one unit: 0)."""
    return Decimal(0) if text.startswith("under") else Decimal(text[1:].replace(",", ""))


def test_parts_shown_beside_their_sum_add_up_to_it() -> None:
    # Each half of $0.000045 rounds to $0.000023 on its own: "$0.000023 and $0.000023,
    # $0.000045 in all" does not add up. The parts give up the unit the total keeps.
    halves = usd_all([0.0000225, 0.0000225, 0.000045], sums={2: (0, 1)})
    assert halves[2] == "$0.000045"
    assert sorted(halves[:2]) == ["$0.000022", "$0.000023"]
    # The part nearest the next unit up gets it: 0.0000048 -> 5, 0.0000472 -> 47.
    assert usd_all([0.0000048, 0.0000472, 0.000052], sums={2: (0, 1)}) == [
        "$0.000005",
        "$0.000047",
        "$0.000052",
    ]
    # Cents, thousands separators and a figure outside the sum keep their usual rounding.
    shown = usd_all([1234.565, 0.125, 1234.69, 7.0], sums={2: (0, 1)})
    assert shown[3] == "$7.00"
    assert _cents(shown[0]) + _cents(shown[1]) == _cents(shown[2]) == Decimal("1234.69")
    # An unknown part: nothing to add up, each rounded on its own.
    assert usd_all([None, 0.0000225, None], sums={2: (0, 1)}) == [
        "unknown",
        "$0.000023",
        "unknown",
    ]


def test_parts_add_up_to_their_sum_whatever_the_amounts() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        parts = [rng.choice([rng.uniform(0, 3e-5), rng.uniform(0, 50), 0.0]) for _ in range(3)]
        total = sum(parts)
        amounts = [*parts, total, rng.uniform(0, 1)]
        shown = usd_all(amounts, sums={3: (0, 1, 2)})
        # The sum and the figure beside it are rounded as they would be without the sum.
        assert shown[3:] == usd_all(amounts)[3:]
        assert sum(_cents(text) for text in shown[:3]) == _cents(shown[3]), (parts, shown)
        unit = Decimal(1).scaleb(-len(shown[4].split(".")[1]))
        for part, text in zip(parts, shown[:3], strict=True):
            # No part moves by a whole unit of the last decimal shown.
            assert abs(_cents(text) - Decimal(part)) < unit, (parts, shown)


def test_the_answer_limit_comes_from_max_output_tokens_then_the_model() -> None:
    assert answer_limit(Recipe(model="gpt-4o-mini", max_output_tokens=200)).tokens == 200
    model = answer_limit(Recipe(model="gpt-4o-mini"))
    assert (model.tokens, model.source) == (16_384, "model")
    assert answer_limit(Recipe(model="gpt-4.1-mini-2025-04-14")).tokens == 32_768
    vectors = Recipe(model="text-embedding-3-small", endpoint="/v1/embeddings")
    embeddings = answer_limit(vectors)
    assert (embeddings.tokens, embeddings.source) == (0, "none")
    # Nothing to project: the input is the whole cost, before any try.
    exact = estimate_cost(vectors, 10, 500, PRICE)
    assert exact.expected_usd == exact.input_usd == PRICE.cost(500, 0)
    assert exact.projected_from == 0


def test_the_estimate_bounds_the_answers_and_projects_them_from_tried_rows() -> None:
    recipe = Recipe(model="gpt-4o-mini", template="{text}", max_output_tokens=100)
    before = estimate_cost(recipe, 300, 9_000, PRICE)
    assert before.input_usd == pytest.approx(PRICE.cost(9_000, 0))
    assert before.answers_max_usd == pytest.approx(PRICE.cost(0, 300 * 100))
    assert before.max_usd == pytest.approx(PRICE.cost(9_000, 30_000))
    assert before.expected_usd is None and before.projected_from == 0

    after = estimate_cost(recipe, 300, 9_000, PRICE, [30, 40, 50])
    assert project_output_tokens([30, 40, 50], 300) == pytest.approx(12_000)
    assert after.expected_output_tokens == pytest.approx(12_000)
    assert after.expected_usd == pytest.approx(PRICE.cost(9_000, 12_000))
    assert after.projected_from == 3
    assert not after.approximate_input

    # A model whose limits nobody knows: no bound, but a try still projects the answers.
    unknown = estimate_cost(Recipe(model="acme-large", template="{text}"), 300, 9_000, PRICE, [40])
    assert unknown.answers_max_usd is None and unknown.max_usd is None
    assert unknown.projected_from == 1
    assert unknown.expected_usd == pytest.approx(PRICE.cost(9_000, 12_000))


def test_the_structured_output_schema_is_counted_as_input_and_the_sandbox_bills_it_alike(
    box: Sandbox,
) -> None:
    frame = pd.DataFrame({"review": ["Kettle leaks 水.", "Great lamp, bright."]})
    fields = (OutputField("sentiment", "text"), OutputField("score", "number"))
    for endpoint in ("/v1/chat/completions", "/v1/responses"):
        structured = Recipe(
            model="gpt-4o-mini", template="Rate: {review}", endpoint=endpoint, output_fields=fields
        )
        schema = tokens.count_format(
            structured_format(structured), tokens.counter_for_model("gpt-4o-mini")
        )
        assert schema > 20
        plain = plan_batch(
            frame, Recipe(model="gpt-4o-mini", template="Rate: {review}", endpoint=endpoint)
        )
        plan = plan_batch(frame, structured)
        assert plan.input_tokens == plain.input_tokens + 2 * schema
        assert estimate_cost(structured, 2, plan.input_tokens, PRICE).approximate_input

        answer = box.gateway().complete(endpoint, plan.request_body(0))
        usage = answer["usage"]
        billed = usage.get("prompt_tokens", usage.get("input_tokens"))
        assert billed == plan.row_input_tokens[0]


# Reviews as analysts bring them: short and long, emoji, Chinese without spaces. The sandbox's
# answer is a fixed sentence around the first eight words of the prompt, so its length depends
# on the prompt's opening words, much as a one-sentence summary depends little on the review.
REVIEWS = [
    "Arrived on time, works as described.",
    "The strap broke after two days and support never answered my three e-mails about it.",
    "Great value 😀",
    "质量很好，物流也快，下次还会再买。",
    "Colour is nothing like the photo; returned it.",
    "Battery lasts a full week of daily use, the screen is sharp even in sun, and set-up "
    "took five minutes.",
    "OK.",
    "房间干净，服务员态度很好，但是早餐种类太少了。",
    "Smaller than expected but does the job.",
    "Two of the six glasses were cracked in the box.",
    "Would buy again!!!",
    "The instructions are only in German, which made assembly a guessing game for an hour.",
] * 3


@pytest.mark.parametrize(
    "template", ["Summarise this review in one sentence: {review}", "{review}"]
)
def test_the_expected_cost_projected_from_a_3_row_try_is_within_1_5x_of_what_the_job_cost(
    template: str, box: Sandbox, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"review": REVIEWS}, dtype=str)
    recipe = Recipe(model="gpt-4o-mini", template=template)
    price = require_price(recipe.model)
    plan = plan_batch(frame, recipe)
    trial = run_trial(box.gateway(), plan_batch(frame.head(3), recipe), "try")
    tried = [row.result.output_tokens for row in trial.rows if row.result is not None]
    assert len(tried) == 3
    estimate = estimate_cost(recipe, plan.rows, plan.input_tokens, price, tried)
    assert estimate.expected_output_tokens is not None and estimate.expected_usd is not None

    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        service = JobService(registry, box.gateway(), "scope")
        job_id = service.create_job(
            "Summaries", frame, recipe, output_tokens_per_row=sum(tried) / len(tried)
        )
        service.submit(job_id)
        status = run_to_end(service, job_id)
    finally:
        registry.close()
    actual = status.actual_cost_usd
    assert actual is not None and status.counts["ok"] == len(REVIEWS)
    ratio = estimate.expected_usd / actual
    print(
        f"\n{template!r}: input {usd(estimate.input_usd)}, answers at most "
        f"{usd(estimate.answers_max_usd)}, expected {usd(estimate.expected_usd)}, actual "
        f"{usd(actual)}, expected/actual {ratio:.3f}"
    )
    assert 1 / 1.5 <= ratio <= 1.5
    # The input alone, all the preview used to show, is far below what the job cost.
    assert estimate.input_usd is not None and estimate.input_usd < actual / 1.5
    assert estimate.max_usd is not None and estimate.max_usd >= actual
    # The Jobs and Results pages show the same expectation and bound beside the actual cost.
    assert status.expected_cost_usd == pytest.approx(estimate.expected_usd)
    assert status.answers_max_usd == pytest.approx(price.cost(0, len(REVIEWS) * 16_384))
