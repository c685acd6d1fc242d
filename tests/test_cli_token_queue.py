"""A 3-part job whose parts together exceed the enqueued-token limit, through the CLI against
`cli.py sandbox --enqueued-token-limit`: sent part by part as earlier batches finish, all ok."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cli_jobs
import pytest

import cli
from batchdash.jobs import token_queue
from tests.test_cli_jobs import CLI, run_main, write_reviews

LIMIT = 200


@pytest.fixture
def limited_sandbox(tmp_path: Path) -> Iterator[str]:
    """`cli.py sandbox` enforcing LIMIT per model, on a free 127.0.0.1 port; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [
            sys.executable,
            str(CLI),
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "sandbox"),
            "--rate",
            "20",
            "--enqueued-token-limit",
            str(LIMIT),
        ],
        stdout=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "BATCHDASH_DB_URL"},
    )
    try:
        assert child.stdout is not None
        started = json.loads(child.stdout.readline())
        deadline = time.monotonic() + 60  # guards against a hang only
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield started["base_url"]
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_a_job_over_the_enqueued_limit_is_sent_part_by_part_and_ends_all_ok(
    limited_sandbox: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", limited_sandbox)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-queue")
    monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
    # What Settings saves for this key (the CLI and a watcher read it from the registry).
    service = cli_jobs.job_service()
    token_queue.save_token_limits(service.registry, service.scope, {"gpt-4o-mini": LIMIT})
    service.registry.close()

    reviews = write_reviews(tmp_path / "reviews.csv", 30)
    code, submitted, err = run_main(
        capsys, "submit", reviews, "--template", "Review: {review}", "--max-tokens", "20"
    )
    assert code == 0, err
    assert (submitted["parts"], len(submitted["batch_ids"])) == (3, 1)
    assert "Part 2 waits for" in err and "gpt-4o-mini's limit of 200" in err
    job_id = submitted["job_id"]

    code, _status, err = run_main(capsys, "--lang", "zh-CN", "status", job_id)
    assert code == 0 and "分片 2 正在等待" in err

    seen: list[int] = []
    deadline = time.monotonic() + 120  # guards against a hang only
    while True:
        code, status, err = run_main(capsys, "status", job_id)
        assert code == 0, err
        seen.append(len(status["batches"]))
        if status["state"] == "finished":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)

    assert status["counts"]["ok"] == 30
    assert [batch["status"] for batch in status["batches"]] == ["completed"] * 3
    assert seen == sorted(seen) and seen[0] < 3  # the batches came one after another


def test_a_sandbox_limit_below_one_token_is_refused_plainly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["sandbox", "--enqueued-token-limit", "0"]) == 2
    assert capsys.readouterr().err == (
        "--enqueued-token-limit is 0; give at least 1 token, or omit it.\n"
    )
