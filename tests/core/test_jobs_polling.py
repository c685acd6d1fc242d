"""How many API calls a refresh costs: retrieves for a few batches, list pages for many."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from batchdash.api.gateway import Gateway
from batchdash.api.polling import LIST_FROM, poll_batches

NOW = 1_800_000_000


class FakeBatches:
    """A server of `count` batches, newest first, created one second apart."""

    def __init__(self, count: int) -> None:
        self.batches = [_batch(f"batch_{n:04d}", NOW - n) for n in range(count)]
        #: Batches that can be retrieved but do not show in the list.
        self.unlisted: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/v1/batches":
            limit = int(request.url.params.get("limit", "20"))
            after = request.url.params.get("after")
            start = 0
            if after:
                start = 1 + next(i for i, b in enumerate(self.batches) if b["id"] == after)
            page = self.batches[start : start + limit]
            body = {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": start + limit < len(self.batches),
            }
            return httpx2.Response(200, json=body)
        batch_id = path.rsplit("/", 1)[-1]
        found = [b for b in [*self.batches, *self.unlisted.values()] if b["id"] == batch_id]
        if not found:
            return httpx2.Response(
                404,
                json={
                    "error": {
                        "message": "No such batch",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
        return httpx2.Response(200, json=found[0])

    def gateway(self) -> Gateway:
        client = httpx2.Client(transport=httpx2.MockTransport(self.handle))
        return Gateway("sk-test", "http://fake.test/v1", http_client=client, max_retries=0)


def _batch(batch_id: str, created_at: int) -> dict[str, Any]:
    return json.loads(
        json.dumps(
            {
                "id": batch_id,
                "object": "batch",
                "endpoint": "/v1/chat/completions",
                "input_file_id": "file-1",
                "completion_window": "24h",
                "status": "in_progress",
                "created_at": created_at,
                "request_counts": {"total": 10, "completed": 3, "failed": 0},
                "metadata": {},
            }
        )
    )


def _wanted(server: FakeBatches, positions: list[int], known: bool = True) -> dict[str, int]:
    return {
        server.batches[i]["id"]: server.batches[i]["created_at"] if known else 0 for i in positions
    }


def test_a_few_batches_are_retrieved_one_by_one() -> None:
    server = FakeBatches(30)
    wanted = _wanted(server, list(range(LIST_FROM - 1)))
    found = poll_batches(server.gateway(), wanted)
    assert sorted(found) == sorted(wanted)
    assert all(info.completed == 3 for info in found.values())
    assert server.requests == [f"GET /v1/batches/{b}" for b in wanted]


def test_twenty_recent_batches_cost_one_list_call() -> None:
    server = FakeBatches(500)
    wanted = _wanted(server, list(range(5, 45, 2)))
    found = poll_batches(server.gateway(), wanted)
    assert sorted(found) == sorted(wanted)
    assert server.requests == ["GET /v1/batches"]


@pytest.mark.parametrize(
    ("positions", "known", "expected_calls"),
    [
        # Spread over three pages: three list calls, fewer than the five retrieves.
        ([0, 1, 150, 160, 250], True, 3),
        # Only one found on the first page: reading a second page would not pay, so retrieve.
        ([3, 120, 121, 122, 123], True, 1 + 4),
        # Creation times unknown: the list is read while pages pay, then the rest retrieved.
        ([1, 2, 3, 105, 400], False, 4 + 1),
    ],
)
def test_listing_never_costs_more_than_one_call_per_batch_plus_one(
    positions: list[int], known: bool, expected_calls: int
) -> None:
    server = FakeBatches(500)
    wanted = _wanted(server, positions, known)
    found = poll_batches(server.gateway(), wanted)
    assert sorted(found) == sorted(wanted)
    assert len(server.requests) == expected_calls <= len(wanted) + 1


def test_listing_stops_at_batches_older_than_the_oldest_wanted() -> None:
    server = FakeBatches(500)
    server.unlisted["batch_elsewhere"] = _batch("batch_elsewhere", NOW - 3)
    wanted = {**_wanted(server, [0, 1, 2, 3]), "batch_elsewhere": NOW - 3}
    found = poll_batches(server.gateway(), wanted)
    assert sorted(found) == sorted(wanted)
    assert server.requests == ["GET /v1/batches", "GET /v1/batches/batch_elsewhere"]
