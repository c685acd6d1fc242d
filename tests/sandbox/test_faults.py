"""`--fault-rate`: seeded 500s, 429s with retry-after, and stalls past the client's timeout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx2
import openai
import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.faults import FaultMiddleware
from sandbox.server import running_sandbox
from tests.openapi_schemas import validate
from tests.sandbox.kit import MODEL


def predicted(seed: int, rate: float, calls: int) -> list[str | None]:
    """The faults a sandbox seeded with `seed` will draw for its next `calls` calls."""
    twin = FaultMiddleware(lambda *_: None, rate=rate, seed=seed)  # type: ignore[arg-type, return-value]
    return [twin.draw() for _ in range(calls)]


def seed_starting_with(*faults: str | None) -> int:
    """A seed whose first draws at rate 0.5 are `faults`."""
    return next(s for s in range(10_000) if predicted(s, 0.5, len(faults)) == list(faults))


def test_the_share_of_faults_follows_the_rate() -> None:
    draws = Counter(predicted(seed=3, rate=0.3, calls=3000))
    assert 0.27 < (3000 - draws[None]) / 3000 < 0.33
    assert min(draws["server_error"], draws["rate_limited"], draws["stall"]) > 200
    assert predicted(seed=3, rate=0.3, calls=50) == predicted(seed=3, rate=0.3, calls=50)
    assert predicted(seed=4, rate=0.3, calls=50) != predicted(seed=3, rate=0.3, calls=50)
    assert set(predicted(seed=3, rate=0.0, calls=100)) == {None}


def test_each_fault_answers_as_predicted(data_dir: Path) -> None:
    app = create_app(data_dir, fault_rate=0.6, seed=11, stall_seconds=0.01)
    expected = predicted(seed=11, rate=0.6, calls=40)
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    with TestClient(app) as raw:
        for call, fault in enumerate(expected):
            # The health check is never faulted and draws nothing.
            assert raw.get("/health").status_code == 200
            if call % 2:
                answer = raw.post("/v1/chat/completions", json=chat)
            else:
                answer = raw.get("/v1/batches")
            if fault == "server_error":
                assert answer.status_code == 500
                assert answer.json()["error"]["type"] == "server_error"
            elif fault == "rate_limited":
                assert answer.status_code == 429
                assert answer.headers["retry-after"] == "1"
                assert answer.json()["error"]["code"] == "rate_limit_exceeded"
            else:
                # A stall is served after it, as a slow server would.
                assert answer.status_code == 200
            if answer.status_code != 200:
                validate("ErrorResponse", answer.json())
    assert {"server_error", "rate_limited", "stall", None} <= set(expected)


def test_over_a_socket_a_stall_times_out_and_the_sdk_retries_a_429(data_dir: Path) -> None:
    seed = seed_starting_with("stall", "rate_limited", None)
    options = {"fault_rate": 0.5, "seed": seed, "stall_seconds": 1.0}
    with running_sandbox(data_dir, **options) as base_url, httpx2.Client() as http:
        client = openai.OpenAI(
            api_key="sk-test", base_url=base_url, http_client=http, timeout=0.25, max_retries=0
        )
        with pytest.raises(openai.APITimeoutError):
            client.batches.list()
        # The 429 carries retry-after; the SDK's own retry then gets through.
        patient = client.with_options(max_retries=1, timeout=10)
        assert patient.batches.list().data == []
