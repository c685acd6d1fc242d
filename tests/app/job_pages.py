"""Fixtures for the Jobs and Results page tests: the app on an in-process sandbox.

The app is configured with an API key and the sandbox's base URL (in `at.secrets`), and its
gateway factory is pointed at an in-process sandbox (jobs_kit.Sandbox), which the test can
restart with another rate and whose API calls it counts. The test makes its own jobs with a
JobService on the app's registry and scope, as another replica of the app would.

Download buttons are built with callables (run when clicked); the fixture records each one by
file name, so a test can get the exact bytes a click would download.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from batchdash.api.batch_info import BatchInfo
from batchdash.api.gateway import Gateway
from batchdash.jobs import board
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import JOBS, RESULTS, MakeApp
from tests.jobs_kit import API_KEY, BASE_URL, RECIPE, Sandbox, reviews, run_to_end, sandbox
from ui import resources

#: The scope of the app's jobs (its key and base URL).
SCOPE = owner_scope(API_KEY, BASE_URL)


@dataclass
class Pages:
    """The app, the sandbox behind it, and a job service of the test's own on the same registry."""

    #: The whole app (run it, switch pages).
    at: AppTest
    #: The sandbox the app talks to.
    box: Sandbox
    #: The registry the app uses.
    registry: Registry
    #: Download callables of the last runs, by file name.
    downloads: dict[str, Callable[[], Any]]
    _gateway: Gateway | None = field(default=None, repr=False)

    def gateway(self) -> Gateway:
        """The gateway the app gets (one per sandbox start)."""
        if self._gateway is None:
            self._gateway = self.box.gateway()
        return self._gateway

    @property
    def service(self) -> JobService:
        """A job service of the test, on the app's registry and scope."""
        return JobService(self.registry, self.gateway(), SCOPE)

    def restart(self, **options: Any) -> None:
        """Restart the sandbox (e.g. `rate=0.001` keeps new batches running)."""
        self.box.start(**options)
        self._gateway = None

    def open(self, page: str = JOBS) -> AppTest:
        """Run the app on `page`."""
        self.at.run()
        self.at.switch_page(page).run()
        assert not self.at.exception
        return self.at

    def finished_job(self, name: str, markers: dict[int, str] | None = None, rows: int = 4) -> str:
        """A job of `rows` reviews run to the end; its id."""
        service = self.service
        job_id = service.create_job(name, reviews(rows, markers), RECIPE)
        service.submit(job_id)
        run_to_end(service, job_id)
        return job_id

    def running_job(self, name: str, rows: int = 4, parts: int = 1) -> str:
        """A job of one or two parts whose batches keep running (the sandbox is restarted
        almost stopped)."""
        self.restart(rate=0.001)
        service = self.service
        frame = reviews(rows)
        # An enqueued-token limit that holds the first half of the rows splits them in two.
        tokens = plan_batch(frame, RECIPE).row_input_tokens
        limit = None if parts == 1 else int(sum(tokens[: (rows + 1) // 2]))
        job_id = service.create_job(name, frame, RECIPE, enqueued_token_limit=limit)
        service.submit(job_id)
        assert len(service.status(job_id).batches) == parts
        return job_id

    def wait_for_sandbox(self, done: Callable[[list[BatchInfo]], bool]) -> None:
        """Wait until the sandbox's batches are as `done` wants (the deadline guards a hang)."""
        deadline = time.monotonic() + 60
        while not done(self.box.batches()):
            assert time.monotonic() < deadline, "the sandbox batches did not move"
            time.sleep(0.05)

    def download(self, name: str) -> bytes:
        """The bytes a click on the download button of file `name` gives."""
        data = self.downloads[name]()
        return data if isinstance(data, bytes) else str(data).encode()


def record_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """The callables of every download button drawn from now on (a click runs them), by file
    name."""
    downloads: dict[str, Callable[[], Any]] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(
        manager: MediaFileManager,
        data_callable: Callable[[], Any],
        mimetype: str | None,
        coordinates: str,
        file_name: str | None = None,
        **options: Any,
    ) -> str:
        downloads[file_name or coordinates] = data_callable
        return original(manager, data_callable, mimetype, coordinates, file_name, **options)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return downloads


@pytest.fixture
def pages(
    make_app: MakeApp, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pages]:
    """The app with a key and base URL, on an in-process sandbox at full speed."""
    downloads = record_downloads(monkeypatch)
    # Each `at.run()` stands for a timer tick seconds after the last: none shares a refresh.
    monkeypatch.setattr(board, "SHARED_REFRESH_AGE", 0.0)
    registry = Registry(default_db_url(data_dir))
    with sandbox(tmp_path / "sandbox") as box:
        found = Pages(
            make_app(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=BASE_URL), box, registry, downloads
        )
        monkeypatch.setattr(resources, "gateway", lambda _url, _key, *_extra: found.gateway())
        yield found
    registry.close()


__all__ = ["JOBS", "RESULTS", "SCOPE", "Pages", "pages"]
