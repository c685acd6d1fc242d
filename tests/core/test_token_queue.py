"""The queue for the enqueued-token limit: parts that do not fit wait in their job and are sent,
in order, as earlier batches finish; a batch refused for the limit goes back in the queue; a
part over the limit on its own is refused at submit. Against the in-process sandbox, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from batchdash.errors import InputError
from batchdash.i18n import use_language
from batchdash.jobs import token_queue
from batchdash.jobs.service import JobService
from batchdash.jobs.status import JobStatus
from batchdash.registry.store import Registry
from sandbox.token_limit import every_model
from tests.jobs_kit import RECIPE, Sandbox, job_batches, reviews, sandbox, wait_until

SCOPE = "scope-q"
MakeService = Callable[[Sandbox], JobService]

# Each part of `reviews(30)` split under this limit holds about 280 input tokens: one fits
# under the limit at a time, three make the job.
LIMIT = 300


@pytest.fixture
def make_service(registry_url: str) -> Iterator[MakeService]:
    registries: list[Registry] = []

    def make(box: Sandbox) -> JobService:
        registries.append(Registry(registry_url))
        return JobService(registries[-1], box.gateway(), SCOPE)

    yield make
    for registry in registries:
        registry.close()


def _set_limit(service: JobService, tokens: int | None) -> None:
    token_queue.save_token_limits(
        service.registry, SCOPE, {} if tokens is None else {RECIPE.model: tokens}
    )


def _follow(service: JobService, job_id: str) -> tuple[JobStatus, int]:
    """Refresh until the job is finished; it, and the most of its batches that were unfinished
    at once as the registry knew them after a refresh."""
    most = 0

    def check() -> JobStatus:
        nonlocal most
        status = service.refresh(job_id)
        most = max(most, len(service._view(service._job(job_id)).active_batches()))
        return status

    return wait_until(check, lambda status: status.state == "finished"), most


def test_parts_that_fit_together_are_all_sent_at_once(
    make_service: MakeService, tmp_path: Path
) -> None:
    with sandbox(tmp_path / "box") as box:
        service = make_service(box)
        job_id = service.create_job("Fits", reviews(30), RECIPE, enqueued_token_limit=LIMIT)
        _set_limit(service, 10 * LIMIT)
        assert len(service.submit(job_id)) == 3
        assert service.status(job_id).unsent_note == ""


def test_parts_over_the_limit_wait_and_are_sent_in_order_as_room_frees(
    make_service: MakeService, tmp_path: Path
) -> None:
    with sandbox(tmp_path / "box", rate=200) as box:
        service = make_service(box)
        _set_limit(service, LIMIT)
        job_id = service.create_job("Queued", reviews(30), RECIPE)
        parts = service.registry.parts(job_id)
        assert len(parts) == 3  # split to fit the saved limit
        assert len(service.submit(job_id)) == 1

        status = service.status(job_id)
        waits = [part.number for part in token_queue.waiting_parts(service.registry.parts(job_id))]
        assert waits == [2, 3]
        assert "Part 2 waits for" in status.unsent_note
        assert f"under {RECIPE.model}'s limit of 300" in status.unsent_note
        assert "1 later part waits behind it" in status.unsent_note
        assert not status.sending
        # Waiting is not a submission that stopped: nothing resumes it.
        assert not service._interrupted(service._view(service._job(job_id)))
        with use_language("zh-CN"):
            assert "等待" in str(status.unsent_note)

        final, most = _follow(service, job_id)
        assert final.counts["ok"] == 30
        assert most == 1  # never two batches in the queue at once
        # In order, each sent once the one before had finished.
        parts = service.registry.parts(job_id)
        infos = {info.id: info for info in job_batches(box, job_id)}
        assert len(infos) == 3
        for earlier, later in itertools.pairwise(parts):
            assert earlier.submitted_at is not None and later.submitted_at is not None
            assert earlier.submitted_at < later.submitted_at
            completed = infos[earlier.batch_id or ""].completed_at
            assert completed is not None and completed <= later.submitted_at.timestamp()
        assert not token_queue.waiting_parts(service.registry.parts(job_id))


def test_a_batch_refused_for_the_limit_goes_back_in_the_queue(
    make_service: MakeService, tmp_path: Path
) -> None:
    # No limit saved here: the server alone knows it, and refuses what does not fit.
    with sandbox(tmp_path / "box", rate=20, token_limits=every_model(LIMIT)) as box:
        service = make_service(box)
        job_id = service.create_job("Refused", reviews(30), RECIPE, enqueued_token_limit=LIMIT)
        assert len(service.submit(job_id)) == 3

        final, _most = _follow(service, job_id)

        assert final.counts["ok"] == 30
        assert final.state == "finished"
        parts = service.registry.parts(job_id)
        refused = [batch for part in parts for batch, _note in part.extra_batches]
        assert refused, "the sandbox refused no batch: the test proves nothing"
        failed = [info for info in job_batches(box, job_id) if info.status == "failed"]
        assert sorted(info.id for info in failed) == sorted(refused)
        assert all(info.errors[0].code == "token_limit_exceeded" for info in failed)
        # Every part ends with a batch of its own that completed.
        assert all(
            info.status == "completed"
            for info in job_batches(box, job_id)
            if info.id in {part.batch_id for part in parts}
        )


def test_a_part_over_the_limit_on_its_own_is_refused_at_submit_with_the_figures(
    make_service: MakeService, tmp_path: Path
) -> None:
    with sandbox(tmp_path / "box") as box:
        service = make_service(box)
        job_id = service.create_job("Big", reviews(30), RECIPE)  # one part, no limit yet
        _set_limit(service, 100)
        with pytest.raises(InputError) as refused:
            service.submit(job_id)
        message = str(refused.value)
        assert "more than gpt-4o-mini's enqueued-token limit of 100" in message
        assert "Submit the table again as a new job" in message
        assert job_batches(box, job_id) == []

        _set_limit(service, None)  # the limit removed: it goes
        assert len(service.submit(job_id)) == 1


def test_the_wait_is_said_in_the_language_of_the_moment_it_is_shown() -> None:
    wait = token_queue.QueueWait("gpt-4o-mini", 900_000, 2_300_000, 2_000_000)
    said = wait.says(3)
    assert str(said) == (
        "Part 3 waits for 1.2M enqueued tokens to free up under gpt-4o-mini's limit of 2M."
    )
    with use_language("zh-CN"):
        assert "120万" in str(said) and "gpt-4o-mini" in str(said)


def test_a_part_refused_while_nothing_of_its_scope_runs_is_tried_again_later(
    registry_url: str, tmp_path: Path
) -> None:
    """Another key's batch fills the limit: nothing seen from here frees room, so the part
    waits REFUSED_RETRY_SECONDS before its next batch instead of being refused at each refresh."""
    now = [time.time()]
    with sandbox(tmp_path / "box", rate=20, token_limits=every_model(LIMIT)) as box:
        registry = Registry(registry_url)
        try:
            other = JobService(registry, box.gateway(), "another-key")
            other_job = other.create_job("Theirs", reviews(14), RECIPE)
            other.submit(other_job)
            service = JobService(registry, box.gateway(), SCOPE, clock=lambda: now[0])
            job_id = service.create_job("Ours", reviews(14), RECIPE)
            service.submit(job_id)

            def requeued(_status: JobStatus) -> bool:
                return bool(token_queue.waiting_parts(registry.parts(job_id)))

            wait_until(lambda: service.refresh(job_id), requeued)
            wait_until(lambda: other.refresh(other_job), lambda s: s.state == "finished")
            service.refresh(job_id)
            assert len(job_batches(box, job_id)) == 1  # the refused one only
            assert "the API refused its batch" in service.status(job_id).unsent_note

            now[0] += token_queue.REFUSED_RETRY_SECONDS + 1
            final = wait_until(lambda: service.refresh(job_id), lambda s: s.state == "finished")
            assert final.counts["ok"] == 14
            assert [info.status for info in job_batches(box, job_id)] == ["completed", "failed"]
        finally:
            registry.close()
