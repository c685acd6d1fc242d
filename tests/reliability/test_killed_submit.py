"""`cli.py submit` killed (SIGKILL) mid-way, as the finding of issue 13 had it: the next command
carries on at once, and submitting the same table again pays for nothing twice.

The CLI runs as a child process with the shipped lease and grace (no `--lease`): the claim the
killed submitter left on part 2's way is free the moment its process is gone, because it names
that process. The sandbox runs as another child process; its batches are counted there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tests.reliability.processes import (
    CLI,
    SandboxProcess,
    child_env,
    kill,
    run_cli,
    start_paused_cli,
    wait_for_pause,
)
from tests.reliability.test_restarts import KEY, _tagged

ROWS = 4_000
#: Splits the job into two parts of about 2,000 rows (as in test_restarts).
TOKEN_LIMIT = 40_000
#: Requests per second per batch: each part runs for about 20 s, so the job is still running
#: when the table is submitted again.
RATE = 100.0
#: Runs of `status` at most before the job finishes (guards against a hang only).
MAX_STATUS = 600


def test_a_killed_submit_is_carried_on_by_the_next_status_and_never_paid_twice(
    tmp_path: Path,
) -> None:
    table = pd.DataFrame({"review": [f"Review {n}: arrived late." for n in range(1, ROWS + 1)]})
    source = tmp_path / "reviews.csv"
    table.to_csv(source, index=False)
    log_path = tmp_path / "children.log"
    sandbox = SandboxProcess(tmp_path / "sandbox", log=log_path, rate=RATE)
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": sandbox.base_url,
        "BATCHDASH_DATA_DIR": str(tmp_path / "data"),
        "BATCHDASH_DB_URL": "",
    }
    submit = ["submit", str(source), "--template", "Review: {review}", "--max-tokens", "20"]

    with sandbox:
        marker = tmp_path / "created.json"
        options = ("--enqueued-token-limit", str(TOKEN_LIMIT))
        with log_path.open("ab") as log:
            child = start_paused_cli("created", marker, submit, env, log=log, options=options)
        try:
            killed = wait_for_pause(marker, child)
        finally:
            kill(child)
        killed_at = time.monotonic()
        assert killed is not None
        job_id = killed["job_id"]
        assert _tagged(sandbox.base_url, job_id)[0] == {"1": [killed["batch"]]}

        # The next command: part 1's batch is found and recorded, part 2 sent, at once.
        status = run_cli(["status", job_id], env)
        resumed_at = time.monotonic()
        batches, _files = _tagged(sandbox.base_url, job_id)
        assert batches == {"1": [killed["batch"]], "2": batches["2"]} and len(batches["2"]) == 1
        assert {b["id"] for b in status["batches"]} == {killed["batch"], *batches["2"]}

        # The same table again (split or not, the same rows and recipe): the unfinished job is
        # resumed, nothing is sent twice.
        again, note = _cli_with_stderr(submit, env)
        assert again["job_id"] == job_id
        assert sorted(again["batch_ids"]) == sorted([killed["batch"], *batches["2"]])
        assert f"job {job_id} (reviews.csv) has the same table and recipe" in note
        assert "resumed instead of paying again; add --new" in note
        assert _tagged(sandbox.base_url, job_id)[0] == batches

        for _ in range(MAX_STATUS):
            status = run_cli(["status", job_id], env)
            if status["state"] == "finished":
                break
            time.sleep(0.2)
        finished_at = time.monotonic()
        listed = run_cli(["status"], env)
        counted = _tagged(sandbox.base_url, job_id)[0]

    assert status["state"] == "finished" and status["counts"]["ok"] == ROWS
    assert counted == batches  # one batch per part, in all
    assert [job["job_id"] for job in listed] == [job_id]  # and one job
    print(
        f"\nkilled submit -> every part sent: {resumed_at - killed_at:.1f} s; "
        f"-> job finished: {finished_at - killed_at:.1f} s (each part runs ~{2_000 / RATE:.0f} s)"
    )


def _cli_with_stderr(args: list[str], env: dict[str, str]) -> tuple[Any, str]:
    """`cli.py ARGS`: its JSON and its stderr (fails on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, str(CLI), *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr
