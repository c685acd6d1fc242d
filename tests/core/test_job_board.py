"""The job board, the download progress and the Results files, over the in-process sandbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchdash.api.fetch_progress import listening_to_fetches, reporting
from batchdash.display.results_page import (
    download_bytes,
    file_name,
    filter_rows,
    result_figures,
    results_version,
    status_breakdown,
)
from batchdash.errors import ApiError
from batchdash.jobs.board import JobBoard
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.registry.records import Job
from batchdash.registry.store import Registry
from batchdash.results.export import to_csv_bytes, to_xlsx_bytes
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end

box = jobs_kit.box  # the sandbox fixture

SCOPE = "scope-board"


@pytest.fixture
def service(tmp_path: Path, box: Sandbox) -> Iterator[JobService]:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    yield JobService(registry, reporting(box.gateway()), SCOPE)
    registry.close()


def finished_job(service: JobService, name: str, markers: dict[int, str] | None = None) -> str:
    job_id = service.create_job(name, reviews(4, markers), RECIPE)
    service.submit(job_id)
    run_to_end(service, job_id)
    return job_id


class CountingService:
    """Counts the jobs whose status a JobService works out (how many the board asks again)."""

    def __init__(self, service: JobService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = service.statuses_of

        def statuses_of(jobs: list[Job]) -> list[JobStatus]:
            self.calls.extend(job.id for job in jobs)
            return original(jobs)

        monkeypatch.setattr(service, "statuses_of", statuses_of)


def test_the_board_lists_like_the_service_and_works_out_finished_jobs_once(
    service: JobService, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = finished_job(service, "First")
    second = finished_job(service, "Second", {0: "[[sandbox:error]]"})
    box.start(rate=0.001)  # from now on a new batch stays running
    running = service.create_job("Running", reviews(4), RECIPE)
    service.submit(running)
    board = JobBoard(service)
    counting = CountingService(service, monkeypatch)

    listed = board.statuses()
    assert [s.job_id for s in listed] == [running, second, first]
    assert sorted(counting.calls) == sorted([running, second, first])
    assert listed == service.list_jobs()

    counting.calls.clear()
    again = board.statuses()
    assert counting.calls == [running]  # finished jobs come from the board
    assert again == board.statuses()

    service.archive(second)
    counting.calls.clear()
    assert [s.job_id for s in board.statuses()] == [running, first]
    assert [s.job_id for s in board.statuses(include_archived=True)] == [running, second, first]
    assert second in counting.calls  # archiving moved the job: worked out again
    assert next(s for s in board.statuses(include_archived=True) if s.job_id == second).archived


def test_a_repaired_job_is_worked_out_again(service: JobService, box: Sandbox) -> None:
    job_id = finished_job(service, "Flaky", {1: "[[sandbox:flaky]]"})
    board = JobBoard(service)
    assert board.statuses()[0].counts["error"] == 1

    service.repair(job_id, ["error"])
    repaired = board.statuses()[0]
    assert repaired.state == "active"
    assert len(repaired.batches) == 2
    run_to_end(service, job_id)
    assert board.statuses()[0].counts["ok"] == 4


def test_a_board_refresh_polls_only_running_batches(service: JobService, box: Sandbox) -> None:
    finished_job(service, "Done")
    box.start(rate=0.001)
    board = JobBoard(service)
    running = service.create_job("Running", reviews(4), RECIPE, enqueued_token_limit=60)
    service.submit(running)
    batches = len(service.status(running).batches)
    assert batches == 2
    box.log.reset()

    statuses = board.refresh()

    assert box.log.total == batches  # one retrieve each, none for the finished job
    assert box.log.count("GET", "/v1/batches/") == batches
    assert [s.name for s in statuses] == ["Running", "Done"]


def test_sessions_sharing_a_board_share_its_refreshes(
    service: JobService, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    box.start(rate=0.001)
    running = service.create_job("Running", reviews(4), RECIPE)
    service.submit(running)
    now = [100.0]
    board = JobBoard(service, clock=lambda: now[0])
    box.log.reset()

    board.refresh()
    assert box.log.total == 1
    now[0] += 1.0  # another session's timer, a second later
    assert [s.job_id for s in board.refresh()] == [running]
    assert box.log.total == 1
    now[0] += 0.5  # the shared refresh is 1.5 s old: ask again
    board.refresh()
    assert box.log.total == 2
    now[0] += 0.1
    board.refresh(fresh_within=0.0)  # whoever needs it fresh gets it fresh
    assert box.log.total == 3

    # While one session's refresh waits on the API, another shows the registry at once.
    inside, release = threading.Event(), threading.Event()
    original = service.refresh_all

    def slow_refresh_all() -> list[JobStatus]:
        inside.set()
        assert release.wait(30)
        return original()

    monkeypatch.setattr(service, "refresh_all", slow_refresh_all)
    now[0] += 10.0
    first = threading.Thread(target=board.refresh)
    first.start()
    try:
        assert inside.wait(30)
        assert [s.job_id for s in board.refresh()] == [running]
        assert box.log.total == 3
    finally:
        release.set()
        first.join(30)
    assert box.log.total == 4


def test_a_failed_refresh_is_not_shared(
    service: JobService, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    box.start(rate=0.001)
    service.submit(service.create_job("Running", reviews(4), RECIPE))
    board = JobBoard(service, clock=lambda: 100.0)
    original = service.refresh_all

    def failing() -> list[JobStatus]:
        raise ApiError("OpenAI has a server problem.")

    monkeypatch.setattr(service, "refresh_all", failing)
    with pytest.raises(ApiError):
        board.refresh()
    monkeypatch.setattr(service, "refresh_all", original)
    box.log.reset()
    board.refresh()  # at the same moment: the failed one did not count
    assert box.log.total == 1


def test_downloads_of_result_files_report_their_progress(service: JobService, box: Sandbox) -> None:
    job_id = service.create_job("Progress", reviews(30), RECIPE)
    service.submit(job_id)
    reports: list[tuple[str, int, int | None]] = []
    with listening_to_fetches(lambda file_id, done, total: reports.append((file_id, done, total))):
        run_to_end(service, job_id)
    output, _errors = service.raw_results(job_id)

    assert reports, "the output file was fetched inside the block"
    file_id, done, total = reports[-1]
    assert done == total == len(output)
    assert reports[0] == (file_id, 0, None)
    quiet = service.create_job("Quiet", reviews(3), RECIPE)
    service.submit(quiet)
    run_to_end(service, quiet)
    assert reports[-1][0] == file_id  # nothing reported outside the block


def test_every_download_is_built_from_the_job_service(service: JobService) -> None:
    job_id = finished_job(service, "Mixed: ok/error?", {2: "[[sandbox:error]]"})
    status = service.status(job_id)
    merged = service.merged_table(job_id)

    assert download_bytes(service, job_id, "csv") == to_csv_bytes(merged)
    assert download_bytes(service, job_id, "xlsx")[:2] == to_xlsx_bytes(merged)[:2] == b"PK"
    output, errors = service.raw_results(job_id)
    assert download_bytes(service, job_id, "output") == output
    assert download_bytes(service, job_id, "errors") == errors
    manifest = json.loads(download_bytes(service, job_id, "manifest"))
    assert manifest == json.loads(json.dumps(service.manifest(job_id)))
    assert manifest["parts"][0]["batch_id"] == status.batches[0].id

    assert file_name(status, "csv") == "Mixed-ok-error-results.csv"
    assert file_name(status, "errors") == "Mixed-ok-error-errors.jsonl"
    assert results_version(service, status) == (status.batches[0].id,)
    assert filter_rows(merged, ["error"])["custom_id"].tolist() == ["row-3"]
    assert len(filter_rows(merged, [])) == 4
    figures = result_figures(merged)
    assert figures.input_tokens == int(merged["input_tokens"].sum()) > 0
    assert figures.rows_with_result == 4
    breakdown = status_breakdown(status)
    assert dict(zip(breakdown["status"], breakdown["rows"], strict=True)) == {
        "ok": 3,
        "error": 1,
        "expired": 0,
        "cancelled": 0,
        "not run": 0,
    }


def test_the_results_version_grows_as_batches_are_fetched(
    service: JobService, box: Sandbox
) -> None:
    box.start(rate=0.001)
    job_id = service.create_job("Two parts", reviews(4), RECIPE, enqueued_token_limit=60)
    service.submit(job_id)
    running = service.refresh(job_id)
    assert results_version(service, running) == ()
    assert "still running" in status_breakdown(running)["status"].tolist()

    box.start()
    done = run_to_end(service, job_id)
    assert results_version(service, done) == tuple(batch.id for batch in done.batches)
