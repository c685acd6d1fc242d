"""How the gateway's messages read when the server is the bundled sandbox: sentences that name
"the sandbox", no loopback host and port, and no word masked because it equals the stand-in
key "sandbox" (real keys stay hidden: see test_gateway_faults and tests/security)."""

from __future__ import annotations

import httpx2
import pytest

from batchdash.api import notices
from batchdash.errors import ApiError, BadRequest, NetworkDown
from tests.core.test_gateway_faults import FAKE_KEY, Recorder, error_json, gateway_for, sleeps

__all__ = ["sleeps"]  # the fixture that records the SDK's retry waits instead of sleeping

#: What the sandbox answers a request carrying its error marker.
REFUSAL = "[sandbox] This request contains [[sandbox:error]], so the sandbox refuses it."
SANDBOX = {"base_url": "http://127.0.0.1:55981/v1", "key": "sandbox", "name": "The sandbox"}


def refused(**options: object) -> str:
    handler = Recorder(httpx2.Response(400, json=error_json(REFUSAL, code="sandbox_error")))
    gateway = gateway_for(handler, max_retries=0, **options)  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as caught:
        gateway.complete("/v1/chat/completions", {"model": "m", "messages": []})
    return str(caught.value)


def test_a_refusal_by_the_sandbox_reads_as_a_sentence(sleeps: list[float]) -> None:
    assert refused(**SANDBOX) == f"The sandbox rejected the request: {REFUSAL}"


@pytest.mark.parametrize("stand_in", ["sandbox", "EMPTY", "dummy"])
def test_a_stand_in_key_that_is_a_plain_word_is_not_masked_in_the_servers_words(
    stand_in: str, sleeps: list[float]
) -> None:
    said = f"No model answers the key {stand_in}; ask for {stand_in} access."
    handler = Recorder(httpx2.Response(400, json=error_json(said)))
    gateway = gateway_for(handler, base_url="http://localhost:8000/v1", key=stand_in)
    with pytest.raises(BadRequest) as caught:
        gateway.retrieve_batch("batch_1")
    assert str(caught.value).endswith(f"rejected the request: {said}")


@pytest.mark.parametrize("short", ["sk-1234", "k3y!", "9f8e7d6c"])
def test_a_short_key_that_is_not_a_plain_word_is_still_masked(
    short: str, sleeps: list[float]
) -> None:
    handler = Recorder(httpx2.Response(400, json=error_json(f"The key {short} is unknown.")))
    gateway = gateway_for(handler, base_url="http://localhost:8000/v1", key=short)
    with pytest.raises(BadRequest) as caught:
        gateway.retrieve_batch("batch_1")
    assert short not in str(caught.value)
    assert "[key hidden]" in str(caught.value)


def test_a_real_key_echoed_by_the_sandbox_is_still_hidden(sleeps: list[float]) -> None:
    echoed = error_json(f"The key {FAKE_KEY} is not the sandbox's.")
    handler = Recorder(httpx2.Response(400, json=echoed))
    gateway = gateway_for(handler, base_url=SANDBOX["base_url"], name="The sandbox", max_retries=0)
    with pytest.raises(ApiError) as caught:
        gateway.retrieve_batch("batch_1")
    assert FAKE_KEY[8:] not in str(caught.value)
    assert str(caught.value).startswith("The sandbox rejected the request:")


def test_retries_and_an_unreachable_sandbox_are_told_without_its_port(
    sleeps: list[float],
) -> None:
    told: list[str] = []
    handler = Recorder(httpx2.ConnectError("connection refused"))
    gateway = gateway_for(handler, max_retries=1, **SANDBOX)  # type: ignore[arg-type]
    with notices.listening_to_notices(told.append), pytest.raises(NetworkDown) as caught:
        gateway.retrieve_batch("batch_1")
    assert str(caught.value) == "Cannot reach the sandbox. Check the network or the base URL."
    assert told and all(notice.startswith("Cannot reach the sandbox,") for notice in told)
    assert "127.0.0.1" not in " ".join(told)
