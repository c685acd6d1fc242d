"""A job through a faulty sandbox, from submit to the downloaded merged CSV, with its figures.

Shared by tests/reliability/test_faults.py (a few thousand rows) and bench/bench_faults.py
(100,000 rows). The sandbox serves on a 127.0.0.1 socket, so a stall really outlasts the
client's timeout; every HTTP request the gateway sends and every answer it gets are counted
with httpx2 hooks, and every notice the analyst would read is kept. Afterwards the sandbox is
started again without faults on the same data directory to count the batches and files each
part got.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pandas as pd
from openai import OpenAI

from batchdash.api.batch_tags import JOB_TAG, PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.api.notices import listening_to_notices
from batchdash.api.retry_policy import RetryPolicy
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.results.export import to_csv_bytes
from sandbox.server import running_sandbox
from tests.jobs_kit import API_KEY, RECIPE, reviews

SCOPE = "scope-faults"
_ID = re.compile(r"/(file|batch)[-_][A-Za-z0-9]+")
_PART_FILE = re.compile(r"-part-(\d{4})\.jsonl$")


@dataclass(frozen=True)
class Faults:
    """How the sandbox misbehaves and how patient the client is."""

    #: Share of API calls that answer 500, 429 (retry-after 1 s) or stall.
    rate: float = 0.2
    #: Seed of the sandbox's fault draws.
    seed: int = 0
    #: How long a stall lasts before the call is carried out (longer than `timeout`).
    stall_seconds: float = 3.0
    #: The gateway's timeout per call.
    timeout: float = 2.0
    #: Seconds between refreshes while the job runs.
    poll_seconds: float = 0.5


class Traffic:
    """Every request the gateway sent and every answer it got, by kind of call and status."""

    def __init__(self) -> None:
        #: Requests by "METHOD /path" (ids replaced by {id}).
        self.requests: Counter[str] = Counter()
        #: Answers by HTTP status.
        self.statuses: Counter[int] = Counter()

    def on_request(self, request: httpx2.Request) -> None:
        """httpx2 request hook."""
        path = _ID.sub(r"/{\1}", request.url.path)
        self.requests[f"{request.method} {path}"] += 1

    def on_response(self, response: httpx2.Response) -> None:
        """httpx2 response hook."""
        self.statuses[response.status_code] += 1

    @property
    def total(self) -> int:
        """Requests sent."""
        return sum(self.requests.values())

    @property
    def unanswered(self) -> int:
        """Requests the client gave up on (timeouts)."""
        return self.total - sum(self.statuses.values())

    @property
    def faults(self) -> int:
        """Calls that met a fault: 429s, 5xx answers and timeouts."""
        failed = sum(n for status, n in self.statuses.items() if status == 429 or status >= 500)
        return failed + self.unanswered


@dataclass
class FaultRun:
    """What happened to one job run through the faulty sandbox."""

    #: The job.
    job_id: str
    #: Its rows.
    rows: int
    #: Its parts.
    parts: int
    #: Seconds per phase: submit, run (refreshes until finished), download.
    seconds: dict[str, float]
    #: The gateway's HTTP traffic.
    traffic: Traffic
    #: Every notice the analyst was told, in order.
    notices: list[str]
    #: Batches tagged with the job, by part number, in the sandbox's unfaulted list.
    batches_per_part: Counter[str]
    #: Uploaded input files of the job, by part number.
    files_per_part: Counter[str]
    #: The downloaded merged CSV, read back as text.
    merged: pd.DataFrame
    #: Refreshes made while the job ran.
    refreshes: int = 0
    #: The CSV's size in bytes.
    csv_bytes: int = field(default=0)


def run_faulty_job(
    work: Path,
    rows: int,
    faults: Faults,
    *,
    enqueued_token_limit: int | None = None,
    policy: RetryPolicy | None = None,
    deadline_seconds: float = 600,
) -> FaultRun:
    """Submit a job of `rows` reviews, refresh it to the end, download its CSV; the figures."""
    traffic = Traffic()
    notices: list[str] = []
    seconds: dict[str, float] = {}
    data_dir = work / "sandbox"
    options = {
        "fault_rate": faults.rate,
        "seed": faults.seed,
        "stall_seconds": faults.stall_seconds,
    }
    registry = Registry(f"sqlite:///{work / 'registry.sqlite3'}")
    hooks = {"request": [traffic.on_request], "response": [traffic.on_response]}
    try:
        with (
            running_sandbox(data_dir, **options) as base_url,
            httpx2.Client(event_hooks=hooks) as http,
            listening_to_notices(notices.append),
        ):
            gateway = Gateway(API_KEY, base_url, http_client=http, timeout=faults.timeout)
            service = JobService(registry, gateway, SCOPE, retry_policy=policy or RetryPolicy())
            table = reviews(rows)
            started = time.monotonic()
            job_id = service.create_job(
                "Faults", table, RECIPE, enqueued_token_limit=enqueued_token_limit
            )
            service.submit(job_id)
            seconds["submit"] = time.monotonic() - started
            started = time.monotonic()
            refreshes = 0
            while (status := service.refresh(job_id)).state != "finished":
                refreshes += 1
                if time.monotonic() - started > deadline_seconds:
                    raise AssertionError(f"job {job_id} still {status.counts}")  # a hang
                time.sleep(faults.poll_seconds)
            seconds["run"] = time.monotonic() - started
            started = time.monotonic()
            download = to_csv_bytes(service.merged_table(job_id))
            (work / "merged.csv").write_bytes(download)
            seconds["download"] = time.monotonic() - started
            parts = status.parts
            deleted = _deleted_inputs(registry, job_id)
    finally:
        registry.close()
    merged = pd.read_csv(
        io.BytesIO(download), encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    batches, files = _count_unfaulted(data_dir, job_id)
    files.update(deleted)  # uploads deleted once their batch was over count as well
    return FaultRun(
        job_id=job_id,
        rows=rows,
        parts=parts,
        seconds=seconds,
        traffic=traffic,
        notices=notices,
        batches_per_part=batches,
        files_per_part=files,
        merged=merged,
        refreshes=refreshes,
        csv_bytes=len(download),
    )


def _deleted_inputs(registry: Registry, job_id: str) -> Counter[str]:
    """The job's input files Batchdash deleted once their batch was over, by part."""
    numbers = {part.input_file_id: part.number for part in registry.parts(job_id)}
    done = registry.file_deletions(file_id for file_id in numbers if file_id)
    return Counter(str(numbers[file_id]) for file_id, record in done.items() if record.done)


def _count_unfaulted(data_dir: Path, job_id: str) -> tuple[Counter[str], Counter[str]]:
    """Batches and input files of the job, by part, from the same sandbox without faults."""
    with running_sandbox(data_dir) as base_url, httpx2.Client() as http:
        client = OpenAI(api_key=API_KEY, base_url=base_url, http_client=http, max_retries=0)
        batches = Counter(
            batch.metadata[PART_TAG]
            for batch in client.batches.list(limit=100)
            if batch.metadata and batch.metadata.get(JOB_TAG) == job_id
        )
        files: Counter[str] = Counter()
        for found in client.files.list(purpose="batch"):
            match = _PART_FILE.search(found.filename)
            if found.filename.startswith(job_id) and match:
                files[str(int(match.group(1)))] += 1
    return batches, files
