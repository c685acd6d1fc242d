"""Direct runs against the sandbox's synchronous routes: faults ridden out, rate limits obeyed,
refusals kept as a batch keeps them, costs at the normal price, cancel from another process.

The registry is the shared fixture (SQLite and PostgreSQL), but for the 2,000-row run (SQLite
only: it takes minutes)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from batchdash.api.gateway import Gateway
from batchdash.api.retry_policy import RetryPolicy
from batchdash.direct.background import start_direct_run
from batchdash.direct.jobs import DirectBusy, DirectJobs
from batchdash.direct.progress import DirectProgress
from batchdash.direct.runner import RunSettings
from batchdash.jobs.service import JobService
from batchdash.preflight.pricing import price_for
from batchdash.providers.profiles import CUSTOM
from batchdash.registry.store import Registry
from sandbox.server import running_sandbox
from tests.direct_kit import RECIPE, counting_sandbox, keyed_rows
from tests.jobs_kit import RECIPE as REVIEW_RECIPE
from tests.jobs_kit import reviews, run_to_end

#: Quick retries: the sandbox's faults pass at once.
QUICK = RetryPolicy(attempts=12, first_wait=0.05, max_wait=0.5)


def direct_jobs(
    registry: Registry, url: str, concurrency: int = 8, *, timeout: float = 10, **service: object
) -> DirectJobs:
    gateway = Gateway("sandbox", url, timeout=timeout)
    settings = RunSettings(concurrency=concurrency, retry_policy=QUICK)
    return DirectJobs(JobService(registry, gateway, "scope", **service), settings)  # type: ignore[arg-type]


def test_a_2000_row_job_at_20_percent_faults_ends_with_every_row_answered_once(
    tmp_path: Path,
) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'data' / 'registry.sqlite3'}")
    try:
        run_2000_rows_at_20_percent_faults(tmp_path, registry)
    finally:
        registry.close()


def run_2000_rows_at_20_percent_faults(tmp_path: Path, registry: Registry) -> None:
    ids = [f"k{i}" for i in range(1, 2001)]
    # Stalls outlast the client's timeout; a fault's 429 asks for no wait (speed only).
    with counting_sandbox(
        tmp_path / "sandbox", fault_rate=0.2, stall_seconds=0.6, fault_retry_after=0
    ) as (url, log):
        jobs = direct_jobs(registry, url, timeout=0.5)
        job_id = jobs.create("Faults", keyed_rows(2000), RECIPE)
        progress = jobs.run(job_id)
        merged = jobs.service.merged_table(job_id)
        status = jobs.service.status(job_id)

    assert list(merged["custom_id"]) == ids
    assert set(merged["status"]) == {"ok"} and set(merged["batch_id"]) == {"direct"}
    assert status.state == "finished" and status.counts["ok"] == 2000
    part = registry.parts(job_id)[0]
    assert registry.direct_line_counts([part.id])[part.id].ok == 2000
    # Every call the server saw is counted, retries included, and faults did happen.
    per_row = log.per_row()
    assert set(per_row) == set(ids)
    assert progress == DirectProgress(2000, 2000, 0, 0, 0, 0, sum(per_row.values()), None, "done")
    failed_calls = [call for call in log.snapshot() if call.status != 200]
    assert {call.status for call in failed_calls} >= {429, 500}
    assert progress.calls > 2000


def test_429_with_retry_after_is_obeyed_and_the_concurrency_lowered(
    tmp_path: Path, registry: Registry
) -> None:
    seen: list[int] = []

    def note(progress: DirectProgress) -> None:
        if progress.concurrency is not None:
            seen.append(progress.concurrency)

    # Two calls at a time, 50 ms each: a runner sending eight at once is pushed back.
    with counting_sandbox(tmp_path / "sandbox", sync_pace=0.05, sync_concurrency=2) as (url, log):
        jobs = direct_jobs(registry, url)
        job_id = jobs.create("Busy", keyed_rows(40), RECIPE)
        progress = jobs.run(job_id, on_progress=note)
        merged = jobs.service.merged_table(job_id)

    assert set(merged["status"]) == {"ok"} and progress.answered == 40
    calls = log.snapshot()
    pushed_back = [call for call in calls if call.status == 429]
    assert pushed_back and all(call.retry_after == 1 for call in pushed_back)
    assert min(seen) < 8
    for refused in pushed_back:
        later = [
            c for c in calls if c.custom_id == refused.custom_id and c.arrived > refused.arrived
        ]
        assert later, refused  # tried again ...
        assert min(c.arrived for c in later) - refused.arrived >= 1  # ... after Retry-After


def test_a_refused_request_is_the_rows_error_as_in_a_batch_and_is_not_retried(
    tmp_path: Path, registry: Registry
) -> None:
    table = reviews(6, {2: "[[sandbox:error]]"})
    with running_sandbox(tmp_path / "sandbox") as url:
        jobs = direct_jobs(registry, url)
        direct_id = jobs.create("Direct", table, REVIEW_RECIPE)
        progress = jobs.run(direct_id)
        direct = jobs.service.merged_table(direct_id)
        batch_id = jobs.service.create_job("Batch", table, REVIEW_RECIPE)
        jobs.service.submit(batch_id)
        run_to_end(jobs.service, batch_id)
        batch = jobs.service.merged_table(batch_id)

    assert list(direct["status"]) == ["ok", "ok", "error", "ok", "ok", "ok"]
    assert progress.calls == 6 and progress.failed == 1  # a 4xx is not tried again
    assert direct.loc[2, "error"] == batch.loc[2, "error"]
    assert "(HTTP 400" in direct.loc[2, "error"]
    # The same merged table, lineage aside: the batch id, and the price of each row.
    same = [c for c in direct.columns if c not in ("batch_id", "cost_usd")]
    assert direct[same].equals(batch[same])


def test_direct_rows_cost_the_normal_price_or_nothing_on_a_free_server(
    tmp_path: Path, registry: Registry
) -> None:
    free = dataclasses.replace(CUSTOM, name="own-server", direct_free=True)
    price = price_for(RECIPE.model)
    assert price is not None
    with running_sandbox(tmp_path / "sandbox") as url:
        paid = direct_jobs(registry, url)
        paid_id = paid.create("Paid", keyed_rows(5), RECIPE)
        paid.run(paid_id)
        own = direct_jobs(registry, url, provider=free)
        own_id = own.create("Own", keyed_rows(5), RECIPE)
        own.run(own_id)
        paid_table = paid.service.merged_table(paid_id)
        own_table = own.service.merged_table(own_id)
        paid_status = paid.service.status(paid_id)
        own_status = own.service.status(own_id)

    for row in paid_table.itertuples():
        normal = price.cost(row.input_tokens, row.output_tokens, batch=False)
        assert row.cost_usd == pytest.approx(normal) and row.cost_usd > 0
    assert paid_status.actual_cost_usd == pytest.approx(paid_table["cost_usd"].sum())
    assert list(own_table["cost_usd"]) == [0.0] * 5 and own_status.actual_cost_usd == 0.0
    assert own_status.estimated_cost_usd == 0.0


CANCEL = """
import os, sys
sys.path.insert(0, sys.argv[1])
from batchdash.api.gateway import Gateway
from batchdash.direct.background import start_direct_run
from batchdash.direct.jobs import DirectBusy, DirectJobs
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
service = JobService(Registry(sys.argv[2]), Gateway("sandbox", sys.argv[3]), "scope")
print(DirectJobs(service).cancel(sys.argv[4]))
"""


def test_a_cancel_from_another_process_stops_sending_and_the_rest_ends_cancelled(
    tmp_path: Path, registry: Registry
) -> None:
    dashboard = str(Path(__file__).resolve().parents[2] / "dashboard")
    answered = threading.Event()

    def note(progress: DirectProgress) -> None:
        if progress.answered >= 20:
            answered.set()

    with counting_sandbox(tmp_path / "sandbox", sync_pace=0.05) as (url, log):
        jobs = direct_jobs(registry, url, concurrency=2)
        job_id = jobs.create("Cancelled", keyed_rows(400), RECIPE)
        ended: list[DirectProgress] = []
        runner = threading.Thread(target=lambda: ended.append(jobs.run(job_id, on_progress=note)))
        runner.start()
        assert answered.wait(60)
        cancelled = subprocess.run(
            [sys.executable, "-c", CANCEL, dashboard, registry.url, url, job_id],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        runner.join(60)
        merged = jobs.service.merged_table(job_id)
        calls = log.per_row()

    assert cancelled.stdout.strip() == "1" and not runner.is_alive()
    [progress] = ended
    assert progress.state == "done" and progress.cancelled > 0
    assert progress.answered + progress.cancelled == 400
    statuses = dict(zip(merged["custom_id"], merged["status"], strict=True))
    assert set(statuses.values()) == {"ok", "cancelled"}
    # Rows ended as cancelled were never sent; each answered one was.
    assert all(calls[row] == 0 for row, status in statuses.items() if status == "cancelled")
    assert all(calls[row] >= 1 for row, status in statuses.items() if status == "ok")
    assert jobs.service.status(job_id).state == "finished"


def test_a_background_run_is_stopped_resumed_and_never_doubled(
    tmp_path: Path, registry: Registry
) -> None:
    with counting_sandbox(tmp_path / "sandbox", sync_pace=0.05) as (url, log):
        jobs = direct_jobs(registry, url, concurrency=2)
        job_id = jobs.create("Background", keyed_rows(200), RECIPE)
        handle = start_direct_run(jobs, job_id)
        wait_for(lambda: jobs.progress(job_id).answered >= 10)
        assert jobs.progress(job_id).state == "running"
        with pytest.raises(DirectBusy, match=f"Job {job_id} is being run directly by process"):
            jobs.run(job_id)  # a second runner is refused while the first one runs
        handle.stop()
        assert handle.join(60) and handle.error is None
        stopped = jobs.progress(job_id)
        assert stopped.state == "stopped" and 0 < stopped.left < 200 and stopped.in_flight == 0
        assert f"cli.py resume {job_id}" in jobs.service.status(job_id).unsent_hint

        again = start_direct_run(jobs, job_id)
        assert again.join(120) and again.error is None
        merged = jobs.service.merged_table(job_id)
        calls = log.per_row()

    assert jobs.progress(job_id).state == "done" and set(merged["status"]) == {"ok"}
    assert set(calls.values()) == {1}  # no row was sent twice
    assert again.latest is not None and again.latest.answered == 200


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # guards against a hang only
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)
