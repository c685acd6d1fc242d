"""Batches moving through OpenAI's statuses: completion, failures, repairs, cancel, expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.answers import answer, input_tokens
from sandbox.app import create_app
from sandbox.lifecycle import Engine
from sandbox.store import Store
from tests.sandbox.conftest import IN_PROCESS_BASE_URL, MakeClient
from tests.sandbox.kit import (
    CHAT,
    chat_file,
    chat_request,
    jsonl,
    results_by_id,
    sdk_client,
    start_batch,
    upload,
    wait_for,
    wait_until,
)


def test_a_batch_completes_with_counts_usage_and_timestamps(any_client: OpenAI) -> None:
    requests = [chat_request(f"row-{n}", f"Review {n}: arrived late") for n in range(1, 6)]
    requests.append(chat_request("row-6", "Review 6 [[sandbox:error]]"))
    batch = wait_for(any_client, start_batch(any_client, jsonl(requests)).id)

    assert batch.status == "completed" and batch.model == "gpt-4o-mini"
    assert batch.request_counts is not None
    counts = batch.request_counts
    assert (counts.total, counts.completed, counts.failed) == (6, 5, 1)
    assert batch.in_progress_at is not None and batch.finalizing_at is not None
    assert batch.completed_at is not None
    assert batch.created_at <= batch.in_progress_at <= batch.finalizing_at <= batch.completed_at
    for unset in ("failed_at", "expired_at", "cancelling_at", "cancelled_at", "errors"):
        assert getattr(batch, unset) is None

    results = results_by_id(any_client, batch)
    assert sorted(results) == sorted(r["custom_id"] for r in requests)
    output_ids = {r["custom_id"] for r in results.values() if r["response"]["status_code"] == 200}
    assert output_ids == {f"row-{n}" for n in range(1, 6)}
    refused = results["row-6"]["response"]
    assert refused["status_code"] == 400 and "error" in refused["body"]
    assert len({line["id"] for line in results.values()}) == 6

    usage = [results[f"row-{n}"]["response"]["body"]["usage"] for n in range(1, 6)]
    assert batch.usage is not None
    assert batch.usage.input_tokens == sum(u["prompt_tokens"] for u in usage) > 0
    assert batch.usage.output_tokens == sum(u["completion_tokens"] for u in usage) > 0
    assert batch.usage.total_tokens == batch.usage.input_tokens + batch.usage.output_tokens


def test_no_error_file_when_nothing_failed(client: OpenAI) -> None:
    batch = wait_for(client, start_batch(client, chat_file(3)).id)
    assert batch.status == "completed"
    assert batch.output_file_id is not None and batch.error_file_id is None


def test_every_request_failed(client: OpenAI) -> None:
    data = chat_file(3, text="Row {n} [[sandbox:error]]")
    batch = wait_for(client, start_batch(client, data).id)
    assert batch.status == "completed"
    assert batch.output_file_id is None and batch.error_file_id is not None
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 3)
    assert batch.usage is not None and batch.usage.input_tokens == 0
    results = results_by_id(client, batch)
    assert {r["response"]["status_code"] for r in results.values()} == {400}


def test_flaky_requests_succeed_in_a_repair_batch(client: OpenAI) -> None:
    data = jsonl([chat_request("row-1", "fine"), chat_request("row-2", "wobbly [[sandbox:flaky]]")])
    first = wait_for(client, start_batch(client, data).id)
    first_results = results_by_id(client, first)
    assert first_results["row-2"]["response"]["status_code"] == 500

    repair = wait_for(
        client, start_batch(client, jsonl([chat_request("row-2", "wobbly [[sandbox:flaky]]")])).id
    )
    assert repair.status == "completed" and repair.error_file_id is None
    assert results_by_id(client, repair)["row-2"]["response"]["status_code"] == 200


def test_request_counts_rise_at_the_rate(make_client: MakeClient) -> None:
    client = make_client(rate=40)
    batch = start_batch(client, chat_file(60))
    seen: list[int] = []
    while batch.status not in ("completed", "failed"):
        batch = client.batches.retrieve(batch.id)
        if batch.request_counts is not None:
            seen.append(batch.request_counts.completed)
    assert seen == sorted(seen)
    # At 40 requests per second, polls see the batch part-way, not only at 0 and 60.
    assert len({done for done in seen if 0 < done < 60}) >= 3
    assert seen[-1] == 60


def test_cancel_keeps_the_finished_answers(make_client: MakeClient) -> None:
    client = make_client(rate=20)
    batch = start_batch(client, chat_file(40))
    wait_until(client, batch.id, 3)
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None

    done = wait_for(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at is not None
    assert done.completed_at is None and done.finalizing_at is None
    assert done.request_counts is not None
    answered = done.request_counts.completed
    assert 3 <= answered < 40 and done.request_counts.failed == 0

    results = results_by_id(client, done)
    assert sorted(results) == sorted(f"row-{n}" for n in range(1, 41))
    ok = [r for r in results.values() if r["response"] is not None]
    not_run = [r for r in results.values() if r["response"] is None]
    assert len(ok) == answered and all(r["response"]["status_code"] == 200 for r in ok)
    assert {r["error"]["code"] for r in not_run} == {"batch_cancelled"}
    assert len(not_run) == 40 - answered


def test_cancel_while_validating(data_dir: Path) -> None:
    app = create_app(data_dir)
    # Outside its `with` block the TestClient runs no lifespan, so no engine moves the batch.
    idle = sdk_client(TestClient(app, base_url="http://sandbox.test"), IN_PROCESS_BASE_URL)
    batch = start_batch(idle, chat_file(3))
    assert idle.batches.cancel(batch.id).status == "cancelling"
    with TestClient(create_app(data_dir), base_url="http://sandbox.test") as running:
        client = sdk_client(running, IN_PROCESS_BASE_URL)
        done = wait_for(client, batch.id)
    assert done.status == "cancelled" and done.in_progress_at is None
    assert done.output_file_id is None and done.error_file_id is None


def test_expiry_keeps_the_finished_answers(make_client: MakeClient) -> None:
    client = make_client(rate=5, completion_window_seconds=1.0)
    batch = start_batch(client, chat_file(30))
    assert batch.expires_at == batch.created_at + 1
    done = wait_for(client, batch.id)
    assert done.status == "expired" and done.expired_at is not None
    assert done.completed_at is None
    assert done.request_counts is not None
    answered = done.request_counts.completed
    assert answered < 30

    results = results_by_id(client, done)
    assert sorted(results) == sorted(f"row-{n}" for n in range(1, 31))
    expired = [r for r in results.values() if r["response"] is None]
    assert len(expired) == 30 - answered
    assert {r["error"]["code"] for r in expired} == {"batch_expired"}
    assert expired[0]["error"]["message"] == (
        "This request could not be executed before the completion window expired."
    )


def test_an_input_file_deleted_while_its_batches_run(
    make_client: MakeClient, data_dir: Path
) -> None:
    client = make_client(rate=50)
    file_id = upload(client, chat_file(20))
    first, second = (
        client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h")
        for _ in range(2)
    )
    wait_until(client, first.id, 1)
    assert client.files.delete(file_id).deleted
    content = data_dir / "files" / f"{file_id}.jsonl"
    for batch in (first, second):
        done = wait_for(client, batch.id)
        assert done.status == "completed"
        assert len(results_by_id(client, done)) == 20
    # Once no batch reads it, the deleted file's content goes too.
    assert not content.exists()


def test_a_batch_whose_input_vanished_fails(data_dir: Path) -> None:
    test_client = TestClient(create_app(data_dir), base_url="http://sandbox.test")
    idle = sdk_client(test_client, IN_PROCESS_BASE_URL)
    batch = start_batch(idle, chat_file(3))
    (data_dir / "files" / f"{batch.input_file_id}.jsonl").unlink()
    with TestClient(create_app(data_dir), base_url="http://sandbox.test") as running:
        done = wait_for(sdk_client(running, IN_PROCESS_BASE_URL), batch.id)
    assert done.status == "failed" and done.failed_at is not None
    assert done.errors is not None and done.errors.data is not None
    assert done.errors.data[0].code == "file_not_found"


def test_an_answer_that_breaks_becomes_a_500_line(data_dir: Path) -> None:
    def breaks_on_row_2(
        endpoint: str, body: dict[str, Any], *, attempt: int
    ) -> tuple[int, dict[str, Any]]:
        if "Review 2:" in body["messages"][0]["content"]:
            raise ValueError("a bug in the answers")
        return answer(endpoint, body, attempt=attempt)

    idle = sdk_client(
        TestClient(create_app(data_dir), base_url="http://sandbox.test"), IN_PROCESS_BASE_URL
    )
    batch = start_batch(idle, chat_file(3))
    store = Store(data_dir)
    engine = Engine(store, breaks_on_row_2, rate=None, token_limits={}, count_tokens=input_tokens)
    while engine.step():
        pass
    done = idle.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    broken = results_by_id(idle, done)["row-2"]["response"]
    assert broken["status_code"] == 500 and broken["body"]["error"]["type"] == "server_error"
