"""The deadline guard's core: a batch near its expiry is offered for finishing directly, and
finishing cancels the batch and runs the rows without an answer as a direct part of the job."""

from __future__ import annotations

import time

import pytest

from batchdash.direct.jobs import DirectJobs
from batchdash.errors import InputError
from batchdash.i18n import use_language
from batchdash.jobs.deadline import finish_directly, near_deadline, plan_finish
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-deadline"


def test_a_batch_near_its_expiry_is_finished_directly(box: Sandbox, registry: Registry) -> None:
    box.start(rate=0.001, completion_window_seconds=3 * 3600)
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Late", reviews(5), RECIPE)
    service.submit(job_id)
    status = service.status(job_id)
    expires_at = status.expires_at
    assert expires_at is not None
    # Three hours left: not yet; within two: offered.
    assert not near_deadline(status, now=time.time())
    assert near_deadline(status, now=expires_at - 2 * 3600 + 60)
    jobs = DirectJobs(service)
    plan = plan_finish(service, jobs, job_id)
    assert plan.custom_ids == tuple(f"row-{n}" for n in range(1, 6))
    assert plan.input_tokens > 0
    assert plan.input_usd is not None and plan.input_usd > 0

    assert finish_directly(service, jobs, job_id) == 5
    assert service.status(job_id).batches[0].status in ("cancelling", "cancelled")
    jobs.run(job_id)

    finished = run_to_end(service, job_id)
    merged = service.merged_table(job_id)
    assert list(merged["status"]) == ["ok"] * 5
    assert set(merged["batch_id"]) == {"direct"}
    assert finished.direct is not None and finished.direct.answered == 5
    assert not near_deadline(finished, now=expires_at)  # nothing left to finish


def test_a_job_with_every_row_answered_has_nothing_to_finish(
    box: Sandbox, registry: Registry
) -> None:
    box.start()
    service = JobService(registry, box.gateway(), SCOPE)
    job_id = service.create_job("Done", reviews(2), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)

    with pytest.raises(InputError) as refused:
        finish_directly(service, DirectJobs(service), job_id)
    assert str(refused.value) == (
        f"Every row of job {job_id} has its answer: there is nothing to finish."
    )
    with use_language("zh-CN"):
        assert str(refused.value) == f"任务 {job_id} 的每行都已有回答：没有需要完成的行。"
