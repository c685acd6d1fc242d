"""What deleting finished batches' input files adds to a refresh.

Holds JOBS unfinished jobs of one part each (their batches run at a crawl, so every refresh
polls them all) and FINISHED finished ones whose input files were deleted, on an in-process
sandbox and a SQLite registry, then times `refresh_all` ROUNDS times with the tidying step and
ROUNDS times with it replaced by a no-op, in alternating turns (the baseline in the same run).
Prints the median wall and CPU time of one refresh of each kind as JSON.

    .venv/bin/python bench/bench_tidy.py [--jobs 40] [--finished 40] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.jobs import following  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402
from tests.jobs_kit import RECIPE, reviews, run_to_end, sandbox  # noqa: E402

SCOPE = "bench-tidy"
# Sandbox metadata that makes one batch take an hour (sandbox.pace.PACE_TAG).
_CRAWL = {"sandbox_seconds": "3600"}


def _timed(service: JobService) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    service.refresh_all()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--finished", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, sandbox(Path(folder) / "sandbox") as box:
        registry = Registry(f"sqlite:///{Path(folder) / 'registry.sqlite3'}")
        quick = JobService(registry, box.gateway(), SCOPE)
        for number in range(args.finished):
            job_id = quick.create_job(f"Done {number}", reviews(2), RECIPE)
            quick.submit(job_id)
            run_to_end(quick, job_id)
        slow = JobService(registry, box.gateway(batch_metadata=_CRAWL), SCOPE)
        for number in range(args.jobs):
            slow.submit(slow.create_job(f"Running {number}", reviews(2), RECIPE))
        slow.refresh_all()  # warm
        tidying = following.delete_finished_inputs
        times: dict[str, list[tuple[float, float]]] = {"with tidying": [], "without": []}
        for _ in range(args.rounds):
            times["with tidying"].append(_timed(slow))
            following.delete_finished_inputs = lambda *_args, **_kw: 0  # type: ignore[assignment]
            try:
                times["without"].append(_timed(slow))
            finally:
                following.delete_finished_inputs = tidying
        registry.close()
    shown: dict[str, Any] = {"jobs": args.jobs, "finished": args.finished, "rounds": args.rounds}
    for kind, runs in times.items():
        shown[kind] = {
            "wall_ms": round(statistics.median(w for w, _ in runs) * 1000, 1),
            "cpu_ms": round(statistics.median(c for _, c in runs) * 1000, 1),
        }
    print(json.dumps(shown))


if __name__ == "__main__":
    main()
