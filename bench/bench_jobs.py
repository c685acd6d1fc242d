"""Bench: the job service's refresh cost and how fast a finished job's merged table opens.

1. A job of 20 parts is submitted to an in-process sandbox running so slowly that every batch
   stays active; each `refresh` is then counted in API calls (an httpx2 request hook) and timed
   inside the registry (every Registry method call of the refresh, summed). Budget: at most 20
   calls and 50 ms of registry time per refresh.
2. A 50,000-row job runs to the end through the sandbox; a new Registry and JobService (as after
   a restart) then open its merged table from the registry's cache, and, for comparison, merge
   it again from the kept result files. Budget: at most 1 s to open.

    .venv/bin/python bench/bench_jobs.py [--postgres] [--repeat 5] [--rows 50000]

`--postgres` runs both on the private PostgreSQL cluster the tests use, besides SQLite. Exits 1
when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.api.gateway import Gateway  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.preflight.plan import plan_batch  # noqa: E402
from batchdash.preflight.pricing import ModelPrice  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402
from tests.jobs_kit import RECIPE, Sandbox, reviews, run_to_end  # noqa: E402
from tests.postgres import fresh_database, private_cluster  # noqa: E402

CALL_BUDGET = 20
REGISTRY_BUDGET_S = 0.050
OPEN_BUDGET_S = 1.0
BATCHES = 20


class TimedRegistry:
    """A Registry whose every method call adds its duration to `seconds`."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self.seconds = 0.0
        self.calls = 0
        #: Seconds per method name.
        self.by_method: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._registry, name)
        if not callable(found):
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return found(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                self.seconds += spent
                self.calls += 1
                self.by_method[name] = self.by_method.get(name, 0.0) + spent

        return timed


def refresh_cost(url: str, work: Path, repeat: int) -> dict[str, dict[str, float]]:
    """API calls and registry time of refreshing a job of 20 active batches.

    "moving": every batch answered more requests since the last refresh, so every snapshot is
    written; "still": the sandbox is restarted almost stopped, so nothing changes.
    """
    box = Sandbox(work / "slow-sandbox").start(rate=2)
    registry = Registry(url)
    try:
        service = JobService(registry, box.gateway(), "bench")
        # Identical rows, so a token limit of 30 rows' tokens makes 20 parts of 30 rows.
        frame = pd.DataFrame({"review": ["Arrived on time, works as described."] * 600})
        limit = int(plan_batch(frame, RECIPE).row_input_tokens[:30].sum())
        job_id = service.create_job("Twenty", frame, RECIPE, enqueued_token_limit=limit)
        assert len(service.submit(job_id)) == BATCHES
        figures = {"moving": _refreshes(registry, box, job_id, repeat, pause=0.6)}
        box.start(rate=0.001)
        service.refresh(job_id)
        figures["still"] = _refreshes(registry, box, job_id, repeat, pause=0.0)
        return figures
    finally:
        registry.close()
        box.stop()


def _refreshes(
    registry: Registry, box: Sandbox, job_id: str, repeat: int, pause: float
) -> dict[str, float]:
    timed = TimedRegistry(registry)
    service = JobService(timed, box.gateway(), "bench")  # type: ignore[arg-type]
    calls: list[int] = []
    seconds: list[float] = []
    totals: list[float] = []
    for _ in range(repeat):
        time.sleep(pause)
        box.log.reset()
        timed.seconds = 0.0
        start = time.perf_counter()
        status = service.refresh(job_id)
        totals.append(time.perf_counter() - start)
        assert status.state == "active" and len(status.batches) == BATCHES
        calls.append(box.log.total)
        seconds.append(timed.seconds)
    return {
        "calls": max(calls),
        "registry_s": statistics.median(seconds),
        "registry_max_s": max(seconds),
        "refresh_s": statistics.median(totals),
    }


def open_cost(url: str, work: Path, rows: int, repeat: int) -> dict[str, float]:
    """Seconds to open a finished job's merged table: cached, and merged again."""
    box = Sandbox(work / "fast-sandbox").start()
    registry = Registry(url)
    try:
        service = JobService(registry, box.gateway(), "bench")
        job_id = service.create_job("Fifty thousand", reviews(rows), RECIPE)
        start = time.perf_counter()
        service.submit(job_id)
        status = run_to_end(service, job_id, timeout=600)
        assert status.counts["ok"] == rows
        run_s = time.perf_counter() - start
    finally:
        registry.close()
        box.stop()

    def timed(make: Callable[[Registry], Any]) -> float:
        best = []
        for _ in range(repeat):
            fresh = Registry(url)
            try:
                start = time.perf_counter()
                make(fresh)
                best.append(time.perf_counter() - start)
            finally:
                fresh.close()
        return statistics.median(best)

    def cached(fresh: Registry) -> None:
        table = JobService(fresh, _offline_gateway(), "bench").merged_table(job_id)
        assert len(table) == rows

    def merged_again(fresh: Registry) -> None:
        service = JobService(
            fresh, _offline_gateway(), "bench", price_overrides={"x": ModelPrice(1, 1)}
        )
        assert len(service.merged_table(job_id)) == rows

    def status(fresh: Registry) -> None:
        assert JobService(fresh, _offline_gateway(), "bench").status(job_id).counts["ok"] == rows

    return {
        "run_s": run_s,
        "open_s": timed(cached),
        "status_s": timed(status),
        "merge_again_s": timed(merged_again),
    }


def _offline_gateway() -> Gateway:
    # Nothing listens here: opening a finished job must not need the API.
    return Gateway("sk-offline", "http://127.0.0.1:9/v1", max_retries=0, timeout=1)


@contextmanager
def databases(postgres: bool, work: Path) -> Iterator[list[tuple[str, Callable[[], Any]]]]:
    """(name, a context manager giving a fresh database URL) per backend."""
    with ExitStack() as stack:
        counter = iter(range(1000))

        @contextmanager
        def sqlite_url() -> Iterator[str]:
            yield f"sqlite:///{work / f'registry-{next(counter)}.sqlite3'}"

        backends: list[tuple[str, Callable[[], Any]]] = [("SQLite", sqlite_url)]
        if postgres:
            cluster = stack.enter_context(private_cluster())
            backends.append(("PostgreSQL", lambda: fresh_database(cluster)))
        yield backends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as directory:
        work = Path(directory)
        with databases(args.postgres, work) as backends:
            for name, database in backends:
                with database() as url:
                    refresh = refresh_cost(url, work / name, args.repeat)
                with database() as url:
                    opened = open_cost(url, work / name, args.rows, args.repeat)
                for case, figures in refresh.items():
                    print(
                        f"{name}: refresh of {BATCHES} active batches ({case}): "
                        f"{figures['calls']:.0f} API calls, registry "
                        f"{figures['registry_s'] * 1000:.1f} ms median "
                        f"({figures['registry_max_s'] * 1000:.1f} ms max), whole refresh "
                        f"{figures['refresh_s'] * 1000:.0f} ms median"
                    )
                    ok &= figures["calls"] <= CALL_BUDGET
                    ok &= figures["registry_s"] <= REGISTRY_BUDGET_S
                print(
                    f"{name}: {args.rows:,}-row job ran in {opened['run_s']:.1f} s; merged table "
                    f"opens in {opened['open_s'] * 1000:.0f} ms (merged again: "
                    f"{opened['merge_again_s'] * 1000:.0f} ms), status in "
                    f"{opened['status_s'] * 1000:.0f} ms"
                )
                ok &= opened["open_s"] <= OPEN_BUDGET_S
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
