"""Helpers for job-service tests and benchmarks: an in-process sandbox that can be restarted with
other options on the same data directory, a gateway that counts its API calls, and tables."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pandas as pd
import pytest
from starlette.testclient import TestClient

from batchdash.api.batch_info import BatchInfo
from batchdash.api.batch_tags import JOB_TAG
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.recipe import Recipe
from batchdash.registry.holders import holder_of
from sandbox.app import create_app
from tests.sandbox.kit import conformance_hook

BASE_URL = "http://sandbox.test/v1"
API_KEY = "sk-test-jobs"
RECIPE = Recipe(model="gpt-4o-mini", template="Review: {review}", max_output_tokens=20)


class CallLog:
    """Counts the HTTP requests a gateway sends, by method and path."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def hook(self, request: httpx2.Request) -> None:
        """httpx2 request hook."""
        self.calls[(request.method, request.url.path)] += 1

    @property
    def total(self) -> int:
        """Requests sent so far."""
        return sum(self.calls.values())

    def count(self, method: str, prefix: str) -> int:
        """Requests of `method` whose path starts with `prefix`."""
        return sum(
            n for (m, path), n in self.calls.items() if m == method and path.startswith(prefix)
        )

    def reset(self) -> None:
        """Forget every request counted."""
        self.calls.clear()


class Sandbox:
    """An in-process sandbox on one data directory; `restart` it with other options."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log = CallLog()
        self._stack = ExitStack()
        self._client: TestClient | None = None

    def start(self, **options: Any) -> Sandbox:
        """Run the app (options of `create_app`); a running one is stopped first."""
        self.stop()
        app = create_app(self.data_dir, **options)
        client = self._stack.enter_context(TestClient(app, base_url="http://sandbox.test"))
        client.event_hooks = {"request": [self.log.hook], "response": [conformance_hook]}
        self._client = client
        return self

    def stop(self) -> None:
        """Stop the app and its engine (its state stays in the data directory)."""
        self._stack.close()
        self._client = None

    @property
    def client(self) -> TestClient:
        """The running app's HTTP client (a restart makes a new one, without added hooks)."""
        assert self._client is not None, "start the sandbox first"
        return self._client

    def gateway(self, **options: Any) -> Gateway:
        """A gateway on the running app (no retries unless asked)."""
        assert self._client is not None, "start the sandbox first"
        options.setdefault("max_retries", 0)
        return Gateway(API_KEY, BASE_URL, http_client=self._client, **options)

    def batches(self) -> list[BatchInfo]:
        """Every batch the sandbox holds."""
        return list(self.gateway().list_batches())


@contextmanager
def sandbox(data_dir: Path, **options: Any) -> Iterator[Sandbox]:
    """A started in-process sandbox, stopped afterwards."""
    box = Sandbox(data_dir).start(**options)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    """Fixture: an in-process sandbox at full speed (import it into a test module to use it)."""
    with sandbox(tmp_path / "sandbox") as started:
        yield started


def reviews(rows: int, markers: dict[int, str] | None = None) -> pd.DataFrame:
    """A table of `rows` reviews; `markers` adds a sandbox marker to some (0-based) rows."""
    texts = [f"Review {n}: arrived on time, works as described." for n in range(1, rows + 1)]
    for row, marker in (markers or {}).items():
        texts[row] = f"{texts[row]} {marker}"
    return pd.DataFrame({"review": texts}, dtype=str)


def wait_until(
    check: Callable[[], JobStatus], done: Callable[[JobStatus], bool], timeout: float = 120
) -> JobStatus:
    """Call `check` until `done` says yes (the timeout only guards against a hang)."""
    deadline = time.monotonic() + timeout
    while not done(status := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {status.job_id} stayed {status.state}: {status.counts}")
        time.sleep(0.05)
    return status


def run_to_end(service: JobService, job_id: str, timeout: float = 120) -> JobStatus:
    """Refresh the job until it is finished."""
    return wait_until(
        lambda: service.refresh(job_id), lambda s: s.state == "finished", timeout=timeout
    )


def job_batches(box: Sandbox, job_id: str) -> list[BatchInfo]:
    """The sandbox's batches tagged with `job_id`."""
    return [info for info in box.batches() if info.metadata.get(JOB_TAG) == job_id]


def gone_holder() -> str:
    """A claim holder naming a process of this machine that has ended (killed by the test)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        holder = holder_of(child.pid, "run-1")
    finally:
        child.kill()
        child.wait()
    assert holder is not None
    return holder.text()
