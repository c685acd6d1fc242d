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

from tests.reliability.killed_submit import ROWS, kill_submit, sandbox_for
from tests.reliability.processes import CLI, child_env, run_cli
from tests.reliability.test_restarts import _tagged

#: Requests per second per batch: each part runs for about 20 s, so the job is still running
#: when the table is submitted again.
RATE = 100.0
#: Runs of `status` at most before the job finishes (guards against a hang only).
MAX_STATUS = 600


def test_a_killed_submit_is_carried_on_by_the_next_status_and_never_paid_twice(
    tmp_path: Path,
) -> None:
    sandbox = sandbox_for(tmp_path, RATE)
    with sandbox:
        killed = kill_submit(tmp_path, sandbox)
        env, submit, job_id, killed_at = killed.env, killed.submit, killed.job_id, killed.at
        assert _tagged(sandbox.base_url, job_id)[0] == {"1": [killed.batch_id]}

        # The next command: part 1's batch is found and recorded, part 2 sent, at once.
        status = run_cli(["status", job_id], env)
        resumed_at = time.monotonic()
        batches, _files = _tagged(sandbox.base_url, job_id)
        assert batches == {"1": [killed.batch_id], "2": batches["2"]} and len(batches["2"]) == 1
        assert {b["id"] for b in status["batches"]} == {killed.batch_id, *batches["2"]}

        # The same table again (split or not, the same rows and recipe): the unfinished job is
        # resumed, nothing is sent twice.
        again, note = _cli_with_stderr(submit, env)
        assert again["job_id"] == job_id
        assert sorted(again["batch_ids"]) == sorted([killed.batch_id, *batches["2"]])
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
