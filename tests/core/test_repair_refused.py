"""Repair tells apart rows the server refused as they stand (a 4xx such as 400: they fail again
if sent unchanged) from rows that failed by chance (a 500, a 429, a lapse of time)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from batchdash.jobs.repair import refused_again, refused_warning
from batchdash.jobs.service import JobService
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from batchdash.results.parse import parse_result_lines
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end

box = jobs_kit.box  # the sandbox fixture


def error_of(status_code: int, code: str | None = "some_code") -> str:
    """The error text the results reader writes for a request answered with `status_code`."""
    body = {"error": {"message": "Something about the request", "type": "x", "code": code}}
    line = {
        "id": "r1",
        "custom_id": "row-1",
        "response": {"status_code": status_code, "request_id": "q", "body": body},
        "error": None,
    }
    [result] = parse_result_lines(json.dumps(line).encode(), recipe=Recipe(model="gpt-4o-mini"))
    return result.error


@pytest.mark.parametrize(
    ("status_code", "refused"),
    [(400, True), (404, True), (413, True), (422, True), (408, False), (409, False),
     (429, False), (500, False), (503, False)],
)  # fmt: skip
def test_a_4xx_is_a_refusal_but_a_timeout_conflict_limit_or_5xx_is_not(
    status_code: int, refused: bool
) -> None:
    errors = pd.Series([error_of(status_code), error_of(status_code, None), ""])
    assert refused_again(errors, np.array([0, 1, 2])) == (2 if refused else 0)
    assert refused_again(errors, np.array([2])) == 0


def test_the_warning_counts_the_refused_rows_and_says_what_to_do() -> None:
    assert refused_warning(0, 5) is None
    some = refused_warning(2, 5)
    assert some is not None and some.startswith("2 of these rows were refused")
    assert "will fail again" in some
    one = refused_warning(1, 3)
    assert one is not None and one.startswith("1 of these rows was refused")
    every = refused_warning(2, 2)
    assert every is not None and every.startswith("Every row picked was refused")


def test_plan_repair_counts_the_rows_that_will_be_refused_again(
    box: Sandbox, registry: Registry
) -> None:
    service = JobService(registry, box.gateway(), "scope-refused")
    frame = reviews(
        6,
        {1: "[[sandbox:error]]", 2: "[[sandbox:flaky]]", 4: "[[sandbox:error]]"},
    )
    job_id = service.create_job("Refused", frame, RECIPE)
    service.submit(job_id)
    assert run_to_end(service, job_id).counts["error"] == 3

    plan = service.plan_repair(job_id)
    assert (plan.rows, plan.refused) == (3, 2)
    service.repair(job_id)
    run_to_end(service, job_id)
    again = service.plan_repair(job_id)
    assert (again.rows, again.refused) == (2, 2)
