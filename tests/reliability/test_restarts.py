"""The app and the sandbox killed (SIGKILL) during submission, polling and the results fetch.

One job of two parts goes through four kills. Each time the "app" is the CLI in a child
process, stopped dead at a named point (paused_cli.py) and killed there together with the
sandbox child process; the sandbox is then started again on the same port and data directory,
and the next CLI command carries on:

1. `submit`, killed once part 1's file is uploaded but not recorded;
2. `status`, which sends the parts the dead submitter left, killed once part 1's batch is
   created but not recorded;
3. `status`, killed once it has read the batches' fresh states but before saving them;
4. `status`, killed once the first chunk of a result file is on disk;
5. `status` until the job is finished, then `download`.

Nothing may be lost (the job, every row, every answer) and no part may get a second batch. The
killed submitters hold their claims for one second only (`--lease`), so the test does not wait
the ten minutes a real one holds them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from openai import OpenAI

from batchdash.api.batch_tags import JOB_TAG, PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope
from tests.reliability.processes import (
    SandboxProcess,
    kill,
    run_cli,
    start_paused_cli,
    wait_for_pause,
)

ROWS = 4_000
KEY = "sk-restart-test"
#: Splits the job (71,001 input tokens) into two parts of about 2,000 rows.
TOKEN_LIMIT = 40_000
#: Requests per second per batch: each part runs for a few seconds, so polling meets it running.
RATE = 500.0
#: Seconds a killed submitter's claim holds.
LEASE = 1.0
#: Runs of a command before it reaches its pause point (it may first find nothing to do there).
MAX_TRIES = 40


def test_kills_during_submission_polling_and_fetch_lose_nothing_and_duplicate_nothing(
    tmp_path: Path,
) -> None:
    table = pd.DataFrame({"review": [f"Review {n}: arrived on time." for n in range(1, ROWS + 1)]})
    source = tmp_path / "reviews.csv"
    table.to_csv(source, index=False)
    data_dir = tmp_path / "data"
    log_path = tmp_path / "children.log"
    sandbox = SandboxProcess(tmp_path / "sandbox", log=log_path, rate=RATE)
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": sandbox.base_url,
        "BATCHDASH_DATA_DIR": str(data_dir),
        "BATCHDASH_DB_URL": "",
    }
    kills: list[dict[str, Any]] = []

    def killed_at(point: str, args: list[str], tries: int = 1) -> dict[str, Any]:
        """Run the command until it stops at `point`; kill it and the sandbox there; restart.

        A `status` may first find nothing to do at its point (a claim not run out yet, batches
        still running): it ends normally and is run again, up to `tries` times.
        """
        for attempt in range(tries):
            marker = tmp_path / f"{point}-{attempt}.json"
            options = ("--lease", str(LEASE), "--enqueued-token-limit", str(TOKEN_LIMIT))
            with log_path.open("ab") as log:
                child = start_paused_cli(point, marker, args, env, log=log, options=options)
            try:
                facts = wait_for_pause(marker, child)
            finally:
                kill(child)
            if facts is not None:
                sandbox.kill()
                sandbox.start()
                kills.append(facts)
                return facts
        raise AssertionError(f"`{' '.join(args)}` never reached {point}")

    with sandbox:
        submit = ["submit", str(source), "--template", "Review: {review}", "--max-tokens", "20"]
        job_id = killed_at("uploaded", submit)["job_id"]
        created = killed_at("created", ["status", job_id], MAX_TRIES)
        killed_at("polled", ["status", job_id], MAX_TRIES)
        killed_at("fetching", ["status", job_id], MAX_TRIES)
        for _ in range(MAX_TRIES):
            status = run_cli(["status", job_id], env)
            if status["state"] == "finished":
                break
        out = tmp_path / "merged.csv"
        downloaded = run_cli(["download", job_id, "--out", str(out)], env)
        batches, files = _tagged(sandbox.base_url, job_id)

    assert [k["point"] for k in kills] == ["uploaded", "created", "polled", "fetching"]
    assert sandbox.starts == 5
    # No duplicate batch: the batch created just before the second kill is the part's only one.
    assert batches == {"1": [created["batch"]], "2": batches["2"]} and len(batches["2"]) == 1
    # The first kill left part 1's first upload unrecorded: sent once more, never run. The
    # uploads its batches ran from were deleted once those ended; that stray one is left (the
    # files view of Settings and `cli.py files` list it by its name).
    assert files == Counter({"1": 1})
    assert status["state"] == "finished" and status["counts"]["ok"] == ROWS
    assert sorted(b["id"] for b in status["batches"]) == sorted([created["batch"], *batches["2"]])
    assert downloaded["counts"]["ok"] == ROWS
    merged = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert merged["review"].tolist() == table["review"].tolist()
    assert merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, ROWS + 1)]
    assert set(merged["status"]) == {"ok"}
    _assert_every_answer_kept_once(data_dir, sandbox.base_url, job_id)


def _tagged(base_url: str, job_id: str) -> tuple[dict[str, list[str]], Counter[str]]:
    """The job's batches by part, and its uploaded files by part, as the sandbox lists them."""
    client = OpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    batches: dict[str, list[str]] = {}
    for batch in client.batches.list(limit=100):
        if batch.metadata and batch.metadata.get(JOB_TAG) == job_id:
            batches.setdefault(batch.metadata[PART_TAG], []).append(batch.id)
    files = Counter(
        str(int(found.filename.removesuffix(".jsonl").rsplit("-", 1)[1]))
        for found in client.files.list(purpose="batch")
        if found.filename.startswith(f"{job_id}-part-")
    )
    return batches, files


def _assert_every_answer_kept_once(data_dir: Path, base_url: str, job_id: str) -> None:
    """The registry holds the job, its rows and one answer per row."""
    registry = Registry(f"sqlite:///{data_dir / 'registry.sqlite3'}")
    try:
        service = JobService(registry, Gateway(KEY, base_url), owner_scope(KEY, base_url))
        assert service.status(job_id).rows == ROWS
        assert len(registry.job_rows(job_id)) == ROWS
        output, errors = service.raw_results(job_id)
    finally:
        registry.close()
    answered = Counter(json.loads(line)["custom_id"] for line in output.splitlines())
    assert answered == Counter({f"row-{n}": 1 for n in range(1, ROWS + 1)})
    assert errors == b""
