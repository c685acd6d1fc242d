"""A busy and failing API: a 100,000-row job through the sandbox at fault rate 0.2, answers lost
after the server acted, the retry policy, and the plain-words notices the analyst reads."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx2
import openai._base_client
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from batchdash.api.batch_tags import PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.api.notices import listening_to_notices
from batchdash.api.retry_policy import RetryPolicy, retrying
from batchdash.errors import ApiTimeout, BadRequest, RateLimited, ServerUnavailable
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from sandbox.app import create_app
from tests import jobs_kit
from tests.jobs_kit import API_KEY, BASE_URL, RECIPE, Sandbox, job_batches, reviews, run_to_end
from tests.reliability.fault_run import Faults, Traffic, run_faulty_job

box = jobs_kit.box  # the in-process sandbox fixture

SCOPE = "scope-faults"
#: Seed whose first draws at rate 0.2 hold a 500, stalls and a 429: the first part's create
#: meets a 500, then a stall (the create is carried out after the client gave up).
SEED = 2
#: Every notice: what was being done (for the service's own retries), what went wrong, the wait.
NOTICE = re.compile(
    r"((Part \d+|Checking the batches|Fetching the results of batch \S+): )?"
    r"(The server at 127\.0\.0\.1:\d+ (is busy \(rate limit\)|has a server problem"
    r"( \(HTTP 5\d\d\))?|did not answer within 2 s)|Cannot reach 127\.0\.0\.1:\d+)"
    r"(; trying again|, retrying) in \d+ s\."
)


def test_a_100000_row_job_rides_out_a_faulty_api(tmp_path: Path) -> None:
    """Submit to downloaded CSV at fault rate 0.2: every row ok, one batch and one file per
    part, and every fault the client met told to the analyst once, in plain words."""
    patient = RetryPolicy(first_wait=0.5, max_wait=4)
    run = run_faulty_job(tmp_path, 100_000, Faults(seed=SEED), policy=patient)

    assert run.parts == 2
    assert len(run.merged) == 100_000
    assert run.merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, 100_001)]
    assert set(run.merged["status"]) == {"ok"}
    assert run.merged["response"].str.len().min() > 0
    assert run.batches_per_part == {"1": 1, "2": 1}
    assert run.files_per_part == {"1": 1, "2": 1}
    traffic = run.traffic
    assert traffic.statuses[429] and traffic.statuses[500] and traffic.unanswered
    assert len(run.notices) == traffic.faults
    for notice in run.notices:
        assert NOTICE.fullmatch(notice), notice


class LoseAnswers:
    """httpx2 response hook: the server acted, but the answer to `call` never reaches the client."""

    def __init__(self, call: str, times: int = 1) -> None:
        self.call = call
        self.left = times

    def __call__(self, response: httpx2.Response) -> None:
        if f"{response.request.method} {response.request.url.path}" == self.call and self.left:
            self.left -= 1
            raise httpx2.ReadTimeout("the answer was lost", request=response.request)


@pytest.fixture
def lossy(tmp_path: Path) -> Iterator[tuple[TestClient, Traffic]]:
    """An in-process sandbox whose client counts its requests; add a LoseAnswers hook to it."""
    with TestClient(create_app(tmp_path / "lossy"), base_url="http://sandbox.test") as client:
        traffic = Traffic()
        client.event_hooks = {"request": [traffic.on_request], "response": []}
        yield client, traffic


def lossy_service(client: TestClient, tmp_path: Path, sleeps: list[float]) -> JobService:
    registry = Registry(f"sqlite:///{tmp_path / 'lossy.sqlite3'}")
    gateway = Gateway(API_KEY, BASE_URL, http_client=client)  # the SDK's 3 retries, 60 s timeout
    return JobService(registry, gateway, SCOPE, sleep=sleeps.append)


def test_a_create_whose_answer_is_lost_is_found_not_made_again(
    lossy: tuple[TestClient, Traffic], tmp_path: Path
) -> None:
    client, traffic = lossy
    # What the SDK's own retry does with a create it thinks failed: a second batch.
    client.event_hooks["response"] = [LoseAnswers("POST /v1/batches")]
    raw = OpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=client, max_retries=1)
    file_id = raw.files.create(file=("x.jsonl", b"", "application/jsonl"), purpose="batch").id
    raw.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert len(raw.batches.list().data) == 2

    client.event_hooks["response"] = [LoseAnswers("POST /v1/batches")]
    traffic.requests.clear()
    sleeps: list[float] = []
    notices: list[str] = []
    service = lossy_service(client, tmp_path, sleeps)
    job_id = service.create_job("Lost create", reviews(5), RECIPE)
    with listening_to_notices(notices.append):
        [batch_id] = service.submit(job_id)
    assert traffic.requests["POST /v1/batches"] == 1
    tagged = [b for b in service.gateway.list_batches() if b.metadata.get(PART_TAG) == "1"]
    assert [b.id for b in tagged] == [batch_id]
    # A timeout is followed by a wait as long again, for a call still in flight to land.
    assert sleeps == [60.0]
    assert notices == [
        "Part 1: The server at sandbox.test did not answer within 60 s; trying again in 60 s."
    ]
    assert run_to_end(service, job_id).counts["ok"] == 5
    service.registry.close()


def test_an_upload_whose_answer_is_lost_is_reused_not_sent_again(
    lossy: tuple[TestClient, Traffic], tmp_path: Path
) -> None:
    client, traffic = lossy
    gateway = Gateway(API_KEY, BASE_URL, http_client=client)
    client.event_hooks["response"] = [LoseAnswers("POST /v1/files")]
    gateway.upload_part("by-the-sdk.jsonl", b"")  # the SDK's own retry uploads it twice
    assert traffic.requests["POST /v1/files"] == 2

    client.event_hooks["response"] = [LoseAnswers("POST /v1/files")]
    traffic.requests.clear()
    sleeps: list[float] = []
    service = lossy_service(client, tmp_path, sleeps)
    job_id = service.create_job("Lost upload", reviews(5), RECIPE)
    service.submit(job_id)
    assert traffic.requests["POST /v1/files"] == 1
    assert traffic.requests["GET /v1/files"] == 1  # looked for before uploading again
    assert sleeps == [60.0]
    assert run_to_end(service, job_id).counts["ok"] == 5
    service.registry.close()


def test_a_server_that_cannot_list_files_gets_the_upload_again(
    lossy: tuple[TestClient, Traffic], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, traffic = lossy
    client.event_hooks["response"] = [LoseAnswers("POST /v1/files")]
    service = lossy_service(client, tmp_path, [])

    def refuse(*_args: object) -> None:
        raise BadRequest("The server at sandbox.test rejected the request: unknown parameter")

    monkeypatch.setattr(service.gateway, "find_file", refuse)
    job_id = service.create_job("No file list", reviews(5), RECIPE)
    [batch_id] = service.submit(job_id)
    assert traffic.requests["POST /v1/files"] == 2
    assert service.registry.parts(job_id)[0].batch_id == batch_id
    service.registry.close()


def test_the_retry_policy_honours_retry_after_backs_off_and_lets_a_timeout_land() -> None:
    policy = RetryPolicy(first_wait=2, max_wait=30, max_retry_after=300)
    busy = ServerUnavailable("busy")
    assert [policy.wait(n, busy) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert policy.wait(1, RateLimited("slow down", 20)) == 20
    assert policy.wait(5, RateLimited("slow down", 3600)) == 300
    assert policy.wait(1, RateLimited("slow down")) == 2
    assert policy.wait(1, ApiTimeout("late"), timeout=60) == 60
    assert policy.wait(6, ApiTimeout("late"), timeout=10) == 30


def test_retrying_stops_at_an_error_not_worth_retrying_and_when_the_tries_run_out() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def refused() -> None:
        calls.append(1)
        raise BadRequest("no")

    with pytest.raises(BadRequest):
        retrying(refused, policy=RetryPolicy(), describe=lambda *_: "", sleep=sleeps.append)
    assert (len(calls), sleeps) == (1, [])

    def busy() -> None:
        calls.append(1)
        raise ServerUnavailable("busy")

    told: list[str] = []
    with listening_to_notices(told.append), pytest.raises(ServerUnavailable):
        retrying(
            busy,
            policy=RetryPolicy(attempts=3, first_wait=1),
            describe=lambda error, wait: f"{error} Again in {wait:g} s.",
            sleep=sleeps.append,
        )
    assert (len(calls), sleeps) == (4, [1, 2])
    assert told == ["busy Again in 1 s.", "busy Again in 2 s."]


def test_the_sdks_own_retries_are_told_to_the_listener_of_the_calling_thread_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        openai._base_client, "time", SimpleNamespace(sleep=lambda _s: None, time=time.time)
    )
    busy = {"error": {"message": "slow", "type": "requests", "param": None, "code": None}}
    down = {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}
    listed = {"object": "list", "data": [], "has_more": False}
    answers = iter(
        [
            httpx2.Response(429, headers={"retry-after": "20"}, json=busy),
            httpx2.Response(200, json=listed),
            httpx2.Response(503, json=down),
            httpx2.Response(200, json=listed),
        ]
    )
    transport = httpx2.MockTransport(lambda _request: next(answers))
    client = httpx2.Client(transport=transport)
    gateway = Gateway(API_KEY, "https://api.openai.com/v1", http_client=client)
    mine: list[str] = []
    theirs: list[str] = []

    def another_session() -> None:
        with listening_to_notices(theirs.append):
            assert list(gateway.list_batches()) == []

    with listening_to_notices(mine.append):
        other = threading.Thread(target=another_session)
        other.start()
        other.join()
        assert list(gateway.list_batches()) == []
    assert theirs == ["OpenAI is busy (rate limit), retrying in 20 s."]
    assert mine == ["OpenAI has a server problem (HTTP 503), retrying in 1 s."]


def test_a_refresh_sends_the_parts_a_dead_submitter_left_once_its_claim_runs_out(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'resume.sqlite3'}"
    dead = Registry(url)
    lease = timedelta(seconds=5)
    service = JobService(dead, box.gateway(), SCOPE, claim_lease=lease)
    job_id = service.create_job("Resume", reviews(24), RECIPE, enqueued_token_limit=200)
    never_sent = service.create_job("Never sent", reviews(3), RECIPE)
    real_create = service.gateway.create_batch

    def die_after_creating(*args: object, **kwargs: object) -> None:
        real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise SystemExit("killed")

    monkeypatch.setattr(service.gateway, "create_batch", die_after_creating)
    monkeypatch.setattr(
        dead, "release_part", lambda *_args: None
    )  # a killed process releases nothing
    with pytest.raises(SystemExit):
        service.submit(job_id)
    dead.close()

    restarted = Registry(url)
    notices: list[str] = []
    service = JobService(restarted, box.gateway(), SCOPE)
    with listening_to_notices(notices.append):
        held = service.refresh(job_id)  # the dead claim still holds part 1
        assert held.batches == () and held.state == "active"
        expiry = restarted.parts(job_id)[0].claim_expires_at
        assert expiry is not None
        time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()))
        status = run_to_end(service, job_id)
    assert notices[0] == "Job Resume: sending the parts its submission left unsent."
    assert status.counts["ok"] == 24 and len(status.batches) == 3
    assert sorted(b.metadata[PART_TAG] for b in job_batches(box, job_id)) == ["1", "2", "3"]
    assert service.refresh(never_sent).batches == ()  # saved but never submitted: left alone
    restarted.close()
