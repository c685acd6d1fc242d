"""Two processes submitting the same job at once make one batch per part, on PostgreSQL.

The sandbox runs over a real 127.0.0.1 socket so both processes reach it.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchdash.api.batch_tags import PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from sandbox.server import running_sandbox
from tests.jobs_kit import API_KEY, RECIPE, reviews
from tests.postgres import Cluster, fresh_database

SCOPE = "scope-race"


def _submit_side(url: str, base_url: str, job_id: str, barrier: Any, results: Any) -> None:
    registry = Registry(url)
    try:
        gateway = Gateway(API_KEY, base_url, max_retries=2)
        upload = gateway.upload_part

        def slow_upload(name: str, data: bytes, **options: Any) -> str:
            time.sleep(0.2)  # both sides are sure to be submitting at the same time
            return upload(name, data, **options)

        gateway.upload_part = slow_upload  # type: ignore[method-assign]
        service = JobService(registry, gateway, SCOPE)
        made: list[str] = []

        def note(_done: int, _total: int, message: str) -> None:
            if message.endswith(".") and " is batch " in message:
                made.append(message.split(" is batch ")[1].rstrip("."))

        barrier.wait(timeout=60)
        results.put((service.submit(job_id, on_progress=note), made))
    finally:
        registry.close()


@pytest.fixture
def registry_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh database on the test run's PostgreSQL (replicas share one in production)."""
    with fresh_database(postgres_cluster) as url:
        yield url


@pytest.mark.postgres
def test_two_processes_submitting_one_job_make_one_batch_per_part(
    registry_url: str, tmp_path: Path
) -> None:
    registry = Registry(registry_url)
    with running_sandbox(tmp_path / "sandbox") as base_url:
        gateway = Gateway(API_KEY, base_url)
        service = JobService(registry, gateway, SCOPE)
        job_id = service.create_job("Race", reviews(60), RECIPE, enqueued_token_limit=150)
        parts = registry.parts(job_id)
        assert len(parts) >= 6

        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(2)
        results = context.Queue()
        processes = [
            context.Process(
                target=_submit_side, args=(registry_url, base_url, job_id, barrier, results)
            )
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [process.exitcode for process in processes] == [0, 0]
        returned = [results.get(timeout=10), results.get(timeout=10)]

        tagged = [
            info for info in gateway.list_batches() if info.metadata.get("batchdash_job") == job_id
        ]
        per_part = Counter(info.metadata[PART_TAG] for info in tagged)
        recorded = [part.batch_id for part in registry.parts(job_id)]
    registry.close()

    assert per_part == Counter({str(part.number): 1 for part in parts})
    assert sorted(recorded) == sorted(info.id for info in tagged)  # type: ignore[type-var]
    (seen_a, made_a), (seen_b, made_b) = returned
    assert made_a and made_b  # both sides submitted parts...
    assert sorted(made_a + made_b) == sorted(recorded)  # ...each part exactly once
    for seen in (seen_a, seen_b):  # each side returns the job's batches it saw, in part order
        assert seen == [b for b in recorded if b in seen]
