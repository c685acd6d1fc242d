"""Bench: what a watcher's claims add to a round, against the same refresh without them.

JOBS jobs of one batch each are submitted to an in-process sandbox running so slowly that every
batch stays active. The baseline is the job service's `refresh_all()` of the scope (what a page
or `cli.py status` does: one poll of every batch); a watcher round (`Watcher.run_round`) polls
the same batches and also claims, renews and releases every job and records its heartbeat.
Both are timed in turns, wall and CPU (this process), and their API calls counted. Budget: the
round takes at most 2x the baseline's wall time and makes no more API calls.

    .venv/bin/python bench/bench_watch_round.py [--postgres] [--jobs 50] [--repeat 5]

`--postgres` measures on the private PostgreSQL cluster the tests use as well as on SQLite.
Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.jobs.opening import open_job_service  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.jobs.watching import WatchedKey, Watcher  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402
from tests.jobs_kit import RECIPE, Sandbox, reviews  # noqa: E402
from tests.postgres import fresh_database, private_cluster  # noqa: E402

SCOPE = "bench-watch"
WALL_RATIO_BUDGET = 2.0


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(url: str, data_dir: Path, jobs: int, repeat: int) -> dict[str, float]:
    box = Sandbox(data_dir / "sandbox").start(rate=0.0001)
    registry = Registry(url)
    try:
        gateway = box.gateway()
        service = JobService(registry, gateway, SCOPE)
        for number in range(jobs):
            job_id = service.create_job(f"Job {number}", reviews(3 + number % 5), RECIPE)
            service.submit(job_id)
        watcher = Watcher(
            registry,
            [WatchedKey(SCOPE, lambda scope: open_job_service(registry, gateway, scope))],
            rest=timedelta(0),
        )
        service.refresh_all()  # both start from the same snapshots
        figures: dict[str, list[float]] = {
            k: [] for k in ("base_wall", "base_cpu", "round_wall", "round_cpu")
        }
        calls: dict[str, int] = {}
        for _ in range(repeat):
            for name, work in (("base", service.refresh_all), ("round", watcher.run_round)):
                box.log.reset()
                wall, cpu = _timed(work)
                figures[f"{name}_wall"].append(wall)
                figures[f"{name}_cpu"].append(cpu)
                calls[name] = box.log.total
        watcher.stop()
    finally:
        registry.close()
        box.stop()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {**medians, "base_calls": calls["base"], "round_calls": calls["round"]}


def _databases(postgres: bool, stack: ExitStack, directory: Path) -> Iterator[tuple[str, str]]:
    yield "sqlite", f"sqlite:///{directory / 'registry.sqlite3'}"
    if postgres:
        cluster = stack.enter_context(private_cluster())
        yield "postgresql", stack.enter_context(fresh_database(cluster))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    missed = False
    with ExitStack() as stack, tempfile.TemporaryDirectory() as temp:
        for name, url in _databases(args.postgres, stack, Path(temp)):
            found = measure(url, Path(temp) / name, args.jobs, args.repeat)
            ratio = found["round_wall"] / found["base_wall"]
            print(
                f"{name}: {args.jobs} active jobs, median of {args.repeat}: "
                f"refresh_all {found['base_wall']:.3f} s wall / {found['base_cpu']:.3f} s CPU, "
                f"{found['base_calls']:.0f} calls; watcher round "
                f"{found['round_wall']:.3f} s wall / {found['round_cpu']:.3f} s CPU, "
                f"{found['round_calls']:.0f} calls ({ratio:.2f}x wall)"
            )
            if ratio > WALL_RATIO_BUDGET or found["round_calls"] > found["base_calls"]:
                missed = True
                print(f"  over budget: at most {WALL_RATIO_BUDGET}x wall and no more calls")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
