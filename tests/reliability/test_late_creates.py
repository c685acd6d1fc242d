"""A create the server carries out late, after the service made the part's batch itself: the
extra batch is cancelled once, never read, told to the analyst, and looking for it costs no API
call when every answer came back."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from batchdash.api.batch_info import BatchInfo
from batchdash.api.batch_tags import part_tag
from batchdash.api.notices import listening_to_notices
from batchdash.api.polling import LIST_FROM
from batchdash.jobs.extra_batches import WATCH, WATCH_EVERY, extras
from batchdash.jobs.service import JobService
from batchdash.preflight.plan import plan_batch
from batchdash.registry.records import Part
from batchdash.registry.store import Registry
from tests import jobs_kit
from tests.jobs_kit import RECIPE, Sandbox, job_batches, reviews, run_to_end

box = jobs_kit.box  # the in-process sandbox fixture

SCOPE = "scope-late"
#: Requests per second of a sandbox whose batches stay running until it restarts at full speed.
SLOW = 0.001


class LateCreate:
    """httpx2 request hook: the first batch create is held back (the client times out and the
    server does nothing yet) until `land` carries it out: a server far slower than the client."""

    def __init__(self) -> None:
        self.held: httpx2.Request | None = None

    def __call__(self, request: httpx2.Request) -> None:
        if self.held is None and (request.method, request.url.path) == ("POST", "/v1/batches"):
            request.read()
            self.held = request
            raise httpx2.ReadTimeout("no answer yet", request=request)

    def land(self, sandbox: Sandbox, input_file_id: str | None = None) -> str:
        """Carry the held create out now (over `input_file_id` if given); the id of the batch
        it makes."""
        assert self.held is not None, "no create was held"
        headers = {name: self.held.headers[name] for name in ("authorization", "content-type")}
        content = self.held.content
        if input_file_id is not None:
            content = json.dumps({**json.loads(content), "input_file_id": input_file_id}).encode()
        response = sandbox.client.post("/v1/batches", content=content, headers=headers)
        response.raise_for_status()
        return str(response.json()["id"])


def hold_first_create(sandbox: Sandbox) -> LateCreate:
    late = LateCreate()
    sandbox.client.event_hooks["request"].append(late)
    return late


class Clock:
    """The service's clock, `shift` seconds ahead of the real one."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry(f"sqlite:///{tmp_path / 'late.sqlite3'}")
    yield opened
    opened.close()


def service_on(
    sandbox: Sandbox, registry: Registry, *, scope: str = SCOPE, clock: Clock | None = None
) -> JobService:
    """A service with the gateway's 60 s timeout, whose waits after it take no time."""
    return JobService(
        registry, sandbox.gateway(), scope, sleep=lambda _s: None, clock=clock or time.time
    )


def second_batch(extra: str, kept: str) -> str:
    return (
        f"The server at sandbox.test made a second batch, {extra}, for it after a slow or lost "
        f"answer; Batchdash cancelled it, and the part's answers come from {kept}."
    )


def cancels(sandbox: Sandbox) -> Counter[str]:
    """Cancel calls since the log was reset, by batch id."""
    return Counter(
        path.split("/")[3]
        for (method, path), n in sandbox.log.calls.items()
        for _ in range(n)
        if method == "POST" and path.endswith("/cancel")
    )


def test_a_create_carried_out_after_the_part_got_its_batch_is_cancelled_once_and_told(
    box: Sandbox, registry: Registry
) -> None:
    box.start(rate=SLOW)
    late = hold_first_create(box)
    service = service_on(box, registry)
    job_id = service.create_job("Slow server", reviews(5), RECIPE)
    notices: list[str] = []
    with listening_to_notices(notices.append):
        [kept] = service.submit(job_id)
    assert notices == [
        "Part 1: The server at sandbox.test did not answer within 60 s; trying again in 60 s."
    ]
    extra = late.land(box)  # the first create, carried out now
    assert sorted(b.id for b in job_batches(box, job_id)) == sorted([kept, extra])

    box.log.reset()
    with listening_to_notices(notices.append):
        status = service.refresh(job_id)
    told = second_batch(extra, kept)
    # One retrieve of the part's batch, one list while the part is watched, one cancel.
    assert box.log.calls == Counter(
        {
            ("GET", f"/v1/batches/{kept}"): 1,
            ("GET", "/v1/batches"): 1,
            ("POST", f"/v1/batches/{extra}/cancel"): 1,
        }
    )
    assert notices[1:] == [f"Job Slow server, part 1: {told}"]
    assert f"Part 1: {told}" in status.problems
    assert [batch.id for batch in status.batches] == [kept]

    box.start()  # full speed: the part's batch runs to its end
    service.gateway = box.gateway()
    with listening_to_notices(notices.append):
        final = run_to_end(service, job_id)
    assert cancels(box) == {extra: 1}
    assert notices.count(f"Job Slow server, part 1: {told}") == 1
    assert final.counts["ok"] == 5 and f"Part 1: {told}" in final.problems
    assert set(service.merged_table(job_id)["batch_id"]) == {kept}
    assert not registry.has_results(extra)
    assert box.gateway().retrieve_batch(extra).status in ("cancelling", "cancelled")
    [part] = service.manifest(job_id)["parts"]
    assert (part["batch_id"], part["extra_batches"]) == (kept, {extra: told})
    assert not registry.note_extra_batch(registry.parts(job_id)[0].id, extra, "again")


def test_a_late_create_after_the_job_finished_is_cancelled_by_refreshing_every_job(
    box: Sandbox, registry: Registry
) -> None:
    late = hold_first_create(box)
    clock = Clock()
    service = service_on(box, registry, clock=clock)
    job_id = service.create_job("Quick job", reviews(3), RECIPE)
    [kept] = service.submit(job_id)
    assert run_to_end(service, job_id).counts["ok"] == 3
    box.start(rate=SLOW)  # the late batch stays running
    service.gateway = box.gateway()
    # A real late create is carried out when it arrives, before the refresh that fetched the
    # results deleted the part's input file: the replay here gets a file of its own.
    again = box.gateway().upload_part("late.jsonl", plan_batch(reviews(3), RECIPE).part_bytes(1))
    extra = late.land(box, again)
    clock.shift = WATCH_EVERY  # the refreshes above listed the batches moments ago

    box.log.reset()
    notices: list[str] = []
    with listening_to_notices(notices.append):
        assert service.refresh_all() == []  # no unfinished job
    assert box.log.calls == Counter(
        {("GET", "/v1/batches"): 1, ("POST", f"/v1/batches/{extra}/cancel"): 1}
    )
    told = second_batch(extra, kept)
    assert notices == [f"Job Quick job, part 1: {told}"]
    status = service.status(job_id)
    assert status.state == "finished" and f"Part 1: {told}" in status.problems
    assert set(service.merged_table(job_id)["batch_id"]) == {kept}


def test_a_listing_made_anyway_finds_an_extra_and_leaves_attached_and_other_scopes_batches(
    box: Sandbox, registry: Registry
) -> None:
    box.start(rate=SLOW)
    service = service_on(box, registry)
    job_id = service.create_job("Four parts", reviews(8), RECIPE, enqueued_token_limit=60)
    kept = service.submit(job_id)
    assert len(kept) == LIST_FROM  # so a refresh lists the batches instead of retrieving them
    other = service_on(box, registry, scope="scope-colleague")
    other_job = other.create_job("Colleague's", reviews(2), RECIPE)
    other.submit(other_job)
    gateway = box.gateway()
    files = {part.number: part.input_file_id or "" for part in registry.parts(job_id)}
    other_file = registry.parts(other_job)[0].input_file_id or ""
    # Tagged with part 2, made without the service knowing (a create whose doubt was lost).
    extra = gateway.create_batch(files[2], RECIPE.endpoint, part_tag(job_id, 2)).id
    # Tagged with part 3, then attached by the analyst as a job of its own.
    attached = gateway.create_batch(files[3], RECIPE.endpoint, part_tag(job_id, 3)).id
    service.attach(attached, name="Attached")
    # Another scope's part with a second batch: its owner's business.
    theirs = gateway.create_batch(other_file, RECIPE.endpoint, part_tag(other_job, 1)).id

    box.log.reset()
    notices: list[str] = []
    with listening_to_notices(notices.append):
        service.refresh(job_id)
    # The list call the poll makes anyway, and the cancel: nothing more.
    assert box.log.calls == Counter(
        {("GET", "/v1/batches"): 1, ("POST", f"/v1/batches/{extra}/cancel"): 1}
    )
    assert notices == [f"Job Four parts, part 2: {second_batch(extra, kept[1])}"]
    statuses = {batch_id: gateway.retrieve_batch(batch_id).status for batch_id in kept}
    for batch_id in (attached, theirs):
        statuses[batch_id] = gateway.retrieve_batch(batch_id).status
    assert not {"cancelling", "cancelled"} & set(statuses.values())


def test_parts_whose_answers_came_back_cost_nothing_and_a_watch_ends(
    box: Sandbox, registry: Registry
) -> None:
    box.start(rate=SLOW)
    clock = Clock()
    service = service_on(box, registry, clock=clock)
    normal = service.create_job("Normal", reviews(4), RECIPE, enqueued_token_limit=60)
    assert len(service.submit(normal)) == 2
    hold_first_create(box)
    doubtful = service.create_job("Doubtful", reviews(2), RECIPE)
    service.submit(doubtful)
    assert registry.parts(normal)[0].create_doubt_since is None

    box.log.reset()
    service.refresh(normal)
    assert box.log.total == box.log.count("GET", "/v1/batches/") == 2  # one retrieve each

    box.log.reset()
    service.refresh_all()
    assert box.log.count("GET", "/v1/batches/") == 3
    assert box.log.total == 4  # and one list, for the part whose create lost its answer
    box.log.reset()
    service.refresh_all()
    assert box.log.total == 3  # not again so soon
    clock.shift = WATCH_EVERY
    box.log.reset()
    service.refresh_all()
    assert box.log.total == 4

    clock.shift = WATCH.total_seconds() + 60
    box.log.reset()
    service.refresh_all()
    assert box.log.total == box.log.count("GET", "/v1/batches/") == 3
    assert not cancels(box)


def _part(number: int, kind: str, batch_id: str | None, *extra: str) -> Part:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    return Part(
        id=number,
        job_id="job_1",
        number=number,
        kind=kind,
        first_row=None,
        stop_row=None,
        custom_ids=(),
        requests=1,
        state="created" if batch_id else "uploaded",
        input_file_id="file-1",
        batch_id=batch_id,
        estimated_input_tokens=None,
        estimated_cost_usd=None,
        error=None,
        claim_expires_at=None,
        created_at=moment,
        uploaded_at=moment,
        submitted_at=moment if batch_id else None,
        extra_batches=tuple((batch, "noted") for batch in extra),
    )


def _listed(batch_id: str, number: int, *, job_id: str = "job_1", status: str = "") -> BatchInfo:
    return BatchInfo(
        id=batch_id,
        status=status or "in_progress",
        endpoint=RECIPE.endpoint,
        metadata=part_tag(job_id, number),
    )


def test_only_a_batch_tagged_with_a_part_that_has_another_batch_is_an_extra() -> None:
    parts = [
        _part(1, "initial", "batch_a", "batch_a3"),
        _part(2, "initial", None),  # its submitter is still looking: nothing is an extra yet
        _part(3, "attached", "batch_x"),
        _part(4, "repair", "batch_r"),  # tagged with its own number, like every part
    ]
    listed = [
        _listed("batch_r", 4),
        _listed("batch_a2", 1),
        _listed("batch_a3", 1),  # noted already
        _listed("batch_b", 2),
        _listed("batch_x2", 3),
        _listed("batch_r", 1),  # some part's own batch, whatever its tag says
        _listed("batch_o", 1, job_id="job_2"),
        _listed("batch_r2", 4),
        _listed("batch_a2", 1, status="cancelling"),  # listed again later: the latest state
        BatchInfo(id="batch_z", status="in_progress", endpoint=RECIPE.endpoint),
    ]
    found = [(part.number, info.id, info.status) for part, info in extras(listed, parts)]
    assert found == [(1, "batch_a2", "cancelling"), (4, "batch_r2", "in_progress")]
