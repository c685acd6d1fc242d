"""A `cli.py submit` of a 4,000-row job in two parts, SIGKILLed once part 1's batch exists at
the API and before the registry knows it (the shipped lease and grace: no `--lease`); shared by
tests/reliability/test_killed_submit.py and bench/bench_killed_submit.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tests.reliability.processes import SandboxProcess, kill, start_paused_cli, wait_for_pause
from tests.reliability.test_restarts import KEY

ROWS = 4_000
#: Splits the job into two parts of about 2,000 rows (as in test_restarts).
TOKEN_LIMIT = 40_000


@dataclass(frozen=True)
class Killed:
    """What the killed submit left, and how to run the next commands."""

    #: The environment of the CLI commands (key, sandbox, data directory).
    env: dict[str, str]
    #: The arguments of the `submit` that was killed.
    submit: list[str]
    #: The job.
    job_id: str
    #: Part 1's batch, created at the API just before the kill.
    batch_id: str
    #: `time.monotonic()` right after the kill.
    at: float


def sandbox_for(base: Path, rate: float | None) -> SandboxProcess:
    """A sandbox process under `base` (`rate`: requests per second per batch; None: no limit)."""
    options = {"rate": rate} if rate else {}
    return SandboxProcess(base / "sandbox", log=base / "children.log", **options)


def kill_submit(base: Path, sandbox: SandboxProcess) -> Killed:
    """Write the table, start `cli.py submit` of it, and SIGKILL it at part 1's batch."""
    source = base / "reviews.csv"
    texts = [f"Review {n}: arrived late." for n in range(1, ROWS + 1)]
    pd.DataFrame({"review": texts}).to_csv(source, index=False)
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": sandbox.base_url,
        "BATCHDASH_DATA_DIR": str(base / "data"),
        "BATCHDASH_DB_URL": "",
    }
    submit = ["submit", str(source), "--template", "Review: {review}", "--max-tokens", "20"]
    marker = base / "created.json"
    split = ("--enqueued-token-limit", str(TOKEN_LIMIT))
    with (base / "children.log").open("ab") as log:
        child = start_paused_cli("created", marker, submit, env, log=log, options=split)
    try:
        facts = wait_for_pause(marker, child)
    finally:
        kill(child)
    at = time.monotonic()
    assert facts is not None, "the submit ended before part 1's batch"
    return Killed(env, submit, facts["job_id"], facts["batch"], at)
