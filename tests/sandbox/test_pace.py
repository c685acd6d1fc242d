"""A batch's own pace (`sandbox_seconds` in its metadata): a duration per batch, whatever its
size, honoured by the running sandbox and going before the server's `--rate`."""

from __future__ import annotations

import time

import pytest

from sandbox.lifecycle import PACE_TAG, paced_rate
from tests.sandbox.conftest import MakeClient
from tests.sandbox.kit import chat_file, start_batch, wait_for, wait_until


def test_a_pace_is_a_duration_per_batch_whatever_its_size() -> None:
    assert paced_rate({PACE_TAG: "60"}, 30) == pytest.approx(0.5)
    assert paced_rate({PACE_TAG: "60"}, 3000) == pytest.approx(50)
    assert paced_rate({PACE_TAG: "0"}, 30) is None  # as fast as it can
    assert paced_rate({PACE_TAG: "soon"}, 30) is None  # not a number: ignored
    assert paced_rate(None, 30) is None


def test_a_paced_batch_shows_its_progress_rising_and_ends_near_its_pace(
    make_client: MakeClient,
) -> None:
    client = make_client()  # no --rate: unpaced batches run at full speed
    started = time.monotonic()
    paced = start_batch(client, chat_file(12), metadata={PACE_TAG: "3"})
    quick = wait_for(client, start_batch(client, chat_file(12)).id)
    assert quick.status == "completed"

    early = wait_until(client, paced.id, 1)
    assert early.status == "in_progress"
    assert early.request_counts is not None and early.request_counts.completed < 12
    later = wait_until(client, paced.id, early.request_counts.completed + 3)
    assert later.request_counts is not None
    assert later.request_counts.completed > early.request_counts.completed
    done = wait_for(client, paced.id)
    took = time.monotonic() - started
    assert done.status == "completed"
    assert 2.0 < took < 15  # about three seconds for twelve requests


def test_a_batchs_own_pace_goes_before_the_servers_rate(make_client: MakeClient) -> None:
    client = make_client(rate=0.01)  # one request every 100 s unless a batch says otherwise
    instant = wait_for(client, start_batch(client, chat_file(20), metadata={PACE_TAG: "0"}).id)
    assert instant.status == "completed"
    slow = client.batches.retrieve(start_batch(client, chat_file(20)).id)
    time.sleep(0.5)
    slow = client.batches.retrieve(slow.id)
    assert slow.request_counts is None or slow.request_counts.completed <= 1
