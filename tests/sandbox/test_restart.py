"""The sandbox keeps its state across restarts and resumes running batches with no loss."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx2
import pytest
from openai import OpenAI
from starlette.testclient import TestClient

from sandbox.answers import answer, input_tokens
from sandbox.app import create_app
from sandbox.lifecycle import Engine
from sandbox.lines import output_file_id
from sandbox.server import default_data_dir, running_sandbox, sandbox_process, serve
from sandbox.store import DataDirBusy, Store
from tests.sandbox.conftest import IN_PROCESS_BASE_URL
from tests.sandbox.kit import (
    chat_file,
    chat_request,
    jsonl,
    results_by_id,
    sdk_client,
    start_batch,
    wait_for,
    wait_until,
)


def _in_process(data_dir: Path, **options: object) -> tuple[TestClient, OpenAI]:
    test_client = TestClient(create_app(data_dir, **options), base_url="http://sandbox.test")
    return test_client, sdk_client(test_client, IN_PROCESS_BASE_URL)


def _check_complete(client: OpenAI, batch_id: str, count: int) -> None:
    done = wait_for(client, batch_id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (count, count)
    # results_by_id fails on any custom_id written twice.
    results = results_by_id(client, done)
    assert sorted(results) == sorted(f"row-{n}" for n in range(1, count + 1))
    assert len({line["id"] for line in results.values()}) == count


def test_a_restart_resumes_a_running_batch(data_dir: Path) -> None:
    test_client, client = _in_process(data_dir, rate=20)
    with test_client:
        batch = start_batch(client, chat_file(40))
        wait_until(client, batch.id, 5)
    # The engine has stopped: the batch waits part-way, its state on disk.
    stopped = client.batches.retrieve(batch.id)
    assert stopped.status == "in_progress"
    assert stopped.request_counts is not None and 5 <= stopped.request_counts.completed < 40

    # A crash in the middle of a chunk leaves lines past the committed length.
    work_output = data_dir / "work" / f"{batch.id}.output.jsonl"
    with work_output.open("ab") as handle:
        handle.write(b'{"id": "batch_req_torn", "custom_id": "row-1", "respo')

    test_client, client = _in_process(data_dir)
    with test_client:
        _check_complete(client, batch.id, 40)
        # Files, batches and listings survived too.
        assert client.files.retrieve(batch.input_file_id).purpose == "batch"
        assert [b.id for b in client.batches.list()] == [batch.id]


def test_a_killed_server_loses_nothing(data_dir: Path) -> None:
    with sandbox_process(data_dir, rate=100) as (child, base_url):
        with httpx2.Client(timeout=30) as http:
            client = sdk_client(http, base_url)
            batch = start_batch(client, chat_file(400))
            wait_until(client, batch.id, 50)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with sandbox_process(data_dir) as (_child, base_url), httpx2.Client(timeout=30) as http:
        _check_complete(sdk_client(http, base_url), batch.id, 400)


def test_run_counts_survive_a_restart(data_dir: Path) -> None:
    flaky = jsonl([chat_request("row-1", "wobbly [[sandbox:flaky]]")])
    test_client, client = _in_process(data_dir)
    with test_client:
        first = wait_for(client, start_batch(client, flaky).id)
        assert results_by_id(client, first)["row-1"]["response"]["status_code"] == 500
    test_client, client = _in_process(data_dir)
    with test_client:
        repair = wait_for(client, start_batch(client, flaky).id)
        assert results_by_id(client, repair)["row-1"]["response"]["status_code"] == 200


def test_a_publish_cut_short_is_finished_on_restart(data_dir: Path) -> None:
    # No lifespan: the engine is driven by hand below.
    _test_client, client = _in_process(data_dir)
    batch = start_batch(client, chat_file(3))

    store = Store(data_dir)
    engine = Engine(store, answer, rate=None, token_limits={}, count_tokens=input_tokens)
    while (record := store.get_batch(batch.id)) is not None and record.status != "finalizing":
        assert engine.step()
    # The crash: the output file was moved into place, the database never heard of it.
    work = data_dir / "work" / f"{batch.id}.output.jsonl"
    work.rename(store.file_path(output_file_id(batch.id, "output")))
    store.close()

    test_client, client = _in_process(data_dir)
    with test_client:
        _check_complete(client, batch.id, 3)


def test_one_running_sandbox_per_data_directory(data_dir: Path) -> None:
    with TestClient(create_app(data_dir)):
        second = TestClient(create_app(data_dir))
        with pytest.raises(DataDirBusy, match="Another sandbox is already running"), second:
            pass
        with pytest.raises(DataDirBusy), running_sandbox(data_dir):
            pass
        # The command line's server refuses before it binds a port.
        with pytest.raises(DataDirBusy):
            serve("127.0.0.1", 0, data_dir)
    # Once the first one stops, the directory is free again.
    with running_sandbox(data_dir) as base_url:
        assert httpx2.get(base_url.removesuffix("/v1") + "/health").json() == {"status": "ok"}


def test_the_default_data_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "batchdash"))
    assert default_data_dir() == tmp_path / "batchdash" / "sandbox"
    monkeypatch.delenv("BATCHDASH_DATA_DIR")
    assert default_data_dir().name == "sandbox"
    assert default_data_dir().parent.name == "batchdash"
