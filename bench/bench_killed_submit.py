"""Bench: `cli.py submit` killed mid-way, then the commands an analyst runs next.

A 4,000-row job in two parts is submitted by the CLI in a child process, which is SIGKILLed
once part 1's batch exists at the API and before the registry knows it (the shipped lease and
grace: no `--lease`). Then `status` is run until the job is finished, and `submit` of the same
file once more. Measured: the seconds of the first `status` (which must send part 2), from the
kill to the job finished, and `cli.py --help` alone (Python's start and imports). Budgets: the
job finished within 60 s of the kill, one batch per part, and the second `submit` adds none.

    .venv/bin/python bench/bench_killed_submit.py [--rate REQUESTS_PER_SECOND]

Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from tests.reliability.killed_submit import kill_submit, sandbox_for  # noqa: E402
from tests.reliability.processes import CLI, child_env, run_cli  # noqa: E402
from tests.reliability.test_restarts import _tagged  # noqa: E402

#: Seconds from the kill to the job finished, at most.
BUDGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, help="sandbox requests per second per batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-killed-") as folder:
        figures = run(Path(folder), args.rate)
    print(json.dumps(figures, indent=2))
    ok = (
        figures["kill_to_finished_s"] <= BUDGET_SECONDS
        and figures["batches_per_part"] == [1, 1]
        and figures["batches_added_by_second_submit"] == 0
    )
    return 0 if ok else 1


def run(base: Path, rate: float | None) -> dict[str, object]:
    sandbox = sandbox_for(base, rate)
    with sandbox:
        killed = kill_submit(base, sandbox)
        env, submit, job_id = killed.env, killed.submit, killed.job_id
        status = run_cli(["status", job_id], env)
        first_status = time.monotonic() - killed.at
        sent = len(status["batches"])
        before = _tagged(sandbox.base_url, job_id)[0]
        again = run_cli(submit, env)
        added = sum(map(len, _tagged(sandbox.base_url, job_id)[0].values())) - sum(
            map(len, before.values())
        )
        runs = 1
        while status["state"] != "finished":
            status = run_cli(["status", job_id], env)
            runs += 1
        finished = time.monotonic() - killed.at
        batches = _tagged(sandbox.base_url, job_id)[0]
        started = time.monotonic()
        subprocess.run(
            [sys.executable, str(CLI), "--help"],
            env=child_env(env),
            check=True,
            capture_output=True,
        )
        help_seconds = time.monotonic() - started
    return {
        "sandbox_rate": rate,
        "first_status_s": round(first_status, 1),
        "batches_after_first_status": sent,
        "second_submit_same_job": again["job_id"] == job_id,
        "batches_added_by_second_submit": added,
        "status_runs": runs,
        "kill_to_finished_s": round(finished, 1),
        "rows_ok": status["counts"]["ok"],
        "batches_per_part": [len(batches[part]) for part in sorted(batches)],
        "cli_help_s": round(help_seconds, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
