"""Bench: jobs through a sandbox that fails a fifth of the API calls (fault rate 0.2).

1. A 100,000-row job (two parts) from submit to the downloaded merged CSV, once per seed of the
   sandbox's faults: calls made by kind, faults met (429 with retry-after, 500, stalls past the
   2 s timeout), retries and the notices the analyst read, time per phase, batches and files
   per part. Budget: every row ok, exactly one batch per part.
2. Duplicates with and without the lookup before a retried create: small jobs (1,000 rows in
   six parts, stalls of 1.5 s past a 1 s timeout) over twelve seeds, once as Batchdash creates
   batches (no SDK retry; the service looks for the tagged batch first) and once with the
   create retried by the SDK, as before. Budget: no part with two batches in the first run.

    .venv/bin/python bench/bench_faults.py [--seeds 2 3 4] [--rows 100000] [--compare 12]

Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.api.batch_info import BatchInfo  # noqa: E402
from batchdash.api.gateway import Gateway  # noqa: E402
from batchdash.api.retry_policy import RetryPolicy  # noqa: E402
from tests.reliability.fault_run import FaultRun, Faults, run_faulty_job  # noqa: E402

SERVICE_NOTICES = ("Part ", "Checking the batches: ", "Fetching the results of batch ")
#: Waits of the service's retries in the bench (the default starts at 2 s and doubles to 60 s).
PATIENCE = RetryPolicy(first_wait=0.5, max_wait=4)


def figures(run: FaultRun) -> dict[str, Any]:
    traffic = run.traffic
    # The service's own retries say what was being done; the SDK's say only what went wrong.
    service_retries = sum(notice.startswith(SERVICE_NOTICES) for notice in run.notices)
    return {
        "rows": run.rows,
        "parts": run.parts,
        "rows_ok": int((run.merged["status"] == "ok").sum()),
        "seconds": {phase: round(value, 1) for phase, value in run.seconds.items()},
        "refreshes": run.refreshes,
        "calls": traffic.total,
        "calls_by_kind": dict(sorted(traffic.requests.items())),
        "faults_met": {
            "429": traffic.statuses[429],
            "5xx": sum(n for status, n in traffic.statuses.items() if status >= 500),
            "timeouts": traffic.unanswered,
        },
        "retries_told": len(run.notices),
        "of_which_by_the_service": service_retries,
        "batches_per_part": dict(sorted(run.batches_per_part.items())),
        "files_per_part": dict(sorted(run.files_per_part.items())),
        "csv_mb": round(run.csv_bytes / 1e6, 1),
        "notices": run.notices,
    }


@contextmanager
def create_retried_by_the_sdk() -> Iterator[None]:
    """Batches created as before: the SDK retries a create that timed out, without looking."""
    original = Gateway.create_batch

    def create(
        self: Gateway, input_file_id: str, endpoint: str, metadata: dict[str, str]
    ) -> BatchInfo:
        client = self._client  # the SDK client with its retries
        with self._translated(f"file {input_file_id}"):
            batch = client.batches.create(
                input_file_id=input_file_id,
                endpoint=cast(Any, endpoint),
                completion_window=cast(Any, self.completion_window),
                metadata=metadata,
            )
        return self._info(batch)

    Gateway.create_batch = create  # type: ignore[method-assign]
    try:
        yield
    finally:
        Gateway.create_batch = original  # type: ignore[method-assign]


def duplicated_parts(seeds: int, sdk_retried: bool) -> list[int]:
    """Parts with two batches or more per seed, over small jobs at fault rate 0.2."""
    found = []
    faults = {"stall_seconds": 1.5, "timeout": 1.0, "poll_seconds": 0.2}
    for seed in range(seeds):
        with (
            tempfile.TemporaryDirectory() as tmp,
            create_retried_by_the_sdk() if sdk_retried else nullcontext(),
        ):
            run = run_faulty_job(
                Path(tmp),
                1_000,
                Faults(seed=seed, **faults),
                enqueued_token_limit=4_000,
                policy=PATIENCE,
            )
        found.append(sum(1 for n in run.batches_per_part.values() if n > 1))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--compare", type=int, default=12, help="seeds of the duplicate check")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the gateway logs every fault; the figures count them
    over = False
    results: dict[str, Any] = {"runs": []}
    for seed in args.seeds:
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            run = run_faulty_job(Path(tmp), args.rows, Faults(seed=seed), policy=PATIENCE)
        shown = {"seed": seed, **figures(run), "wall_seconds": round(time.monotonic() - started, 1)}
        results["runs"].append(shown)
        print(json.dumps({k: v for k, v in shown.items() if k != "notices"}), flush=True)
        over |= shown["rows_ok"] != args.rows or set(run.batches_per_part.values()) != {1}
    if args.compare:
        ours = duplicated_parts(args.compare, sdk_retried=False)
        before = duplicated_parts(args.compare, sdk_retried=True)
        results["duplicated_parts_per_seed"] = {
            "batchdash": ours,
            "create_retried_by_the_sdk": before,
        }
        print(json.dumps(results["duplicated_parts_per_seed"]), flush=True)
        over |= any(ours)
    print(json.dumps(results, indent=2))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
