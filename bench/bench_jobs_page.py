"""Bench: the Jobs page with 200 jobs and 1,000 batches in the registry.

The registry holds 190 finished jobs of 5 batches each (50 rows, results fetched and kept) and
10 jobs whose 5 batches each run on an in-process sandbox slowed almost to a stop: 200 jobs,
1,000 batches, 50 of them running. The whole app runs in AppTest (entry script, navigation,
sidebar, Jobs page) with a key and the sandbox's base URL; the app's gateway goes to the
sandbox, which counts every API call.

Figures:
1. the first run of the page in a fresh process (every job's status worked out once);
2. reruns that refresh from the API (`run_every` never fires in AppTest: each `at.run()` is
   the refresh an automatic rerun does), timed, with their API calls counted;
3. reruns a widget starts (a search): they only redraw, and make no call;
4. after the 50 batches finish: the refresh that fetches their results, then reruns with
   nothing running (no call at all).

    .venv/bin/python bench/bench_jobs_page.py [--repeat 10] [--budget 0.5]

Exits 1 when the median rerun misses the budget, or a refresh makes more calls than there are
running batches (or any call once nothing runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from batchdash.api.batch_info import BatchInfo  # noqa: E402
from batchdash.api.gateway import Gateway  # noqa: E402
from batchdash.jobs import board  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.preflight.plan import plan_batch  # noqa: E402
from batchdash.registry.records import PartSpec  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402
from batchdash.settings import default_db_url, owner_scope  # noqa: E402
from tests.jobs_kit import API_KEY, BASE_URL, RECIPE, Sandbox  # noqa: E402
from tests.result_lines import chat_line  # noqa: E402
from ui import resources, state  # noqa: E402

APP = ROOT / "dashboard" / "streamlit_app.py"
BUDGET_S = 0.5
JOBS = 200
RUNNING_JOBS = 10
PARTS = 5
ROWS_PER_PART = 10
SCOPE = owner_scope(API_KEY, BASE_URL)


def frame_of(job: int) -> pd.DataFrame:
    rows = PARTS * ROWS_PER_PART
    return pd.DataFrame(
        {"review": [f"Job {job}, review {n}: arrived on time, works." for n in range(rows)]}
    )


def finished_jobs(registry: Registry, count: int) -> None:
    """Jobs whose batches finished and whose results are kept, written straight to the registry."""
    now = int(time.time())
    for number in range(count):
        specs = [
            PartSpec(
                requests=ROWS_PER_PART,
                first_row=part * ROWS_PER_PART,
                stop_row=(part + 1) * ROWS_PER_PART,
                estimated_input_tokens=200,
                estimated_cost_usd=0.00003,
            )
            for part in range(PARTS)
        ]
        job = registry.create_job(
            SCOPE, f"Finished {number:03d}", RECIPE, frame_of(number), parts=specs, state="active"
        )
        for part in registry.parts(job.id):
            batch_id = f"batch_done_{number:03d}_{part.number}"
            registry.mark_part_uploaded(part.id, f"file_in_{batch_id}")
            registry.mark_part_created(part.id, batch_id)
            info = BatchInfo(
                id=batch_id,
                status="completed",
                endpoint=RECIPE.endpoint,
                input_file_id=f"file_in_{batch_id}",
                output_file_id=f"file_out_{batch_id}",
                total=ROWS_PER_PART,
                completed=ROWS_PER_PART,
                created_at=now - 7200,
                expires_at=now + 79200,
                completed_at=now - 3600,
                input_tokens=200,
                output_tokens=150,
            )
            registry.save_snapshot(batch_id, info.to_dict())
            first = part.first_row or 0
            lines = [
                chat_line(f"row-{row + 1}", f"Answer {row}", prompt_tokens=20, completion_tokens=15)
                for row in range(first, first + ROWS_PER_PART)
            ]
            registry.save_results(batch_id, b"\n".join(lines) + b"\n", b"")


def running_jobs(service: JobService, count: int) -> list[str]:
    """Jobs of PARTS batches each, submitted to the (slowed) sandbox."""
    ids = []
    for number in range(count):
        frame = frame_of(1000 + number)
        # A limit that holds one part's rows splits the job into PARTS parts.
        limit = int(plan_batch(frame, RECIPE).row_input_tokens[:ROWS_PER_PART].sum())
        job_id = service.create_job(
            f"Running {number:02d}", frame, RECIPE, enqueued_token_limit=limit
        )
        assert len(service.submit(job_id)) == PARTS
        ids.append(job_id)
    return ids


class SandboxGateway:
    """The one gateway of the app per sandbox start (a restart needs a new one)."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self._gateway: Gateway | None = None

    def __call__(
        self, _base_url: str | None = None, _api_key: str = "", *_extra: object
    ) -> Gateway:
        if self._gateway is None:
            self._gateway = self.box.gateway()
        return self._gateway

    def restart(self, **options: Any) -> None:
        self.box.start(**options)
        self._gateway = None


@contextmanager
def app_on(gateway: SandboxGateway, data_dir: Path) -> Iterator[AppTest]:
    """The app with a key and the sandbox's base URL, its gateway going to the sandbox."""
    original = resources.gateway
    resources.gateway = gateway  # type: ignore[assignment]
    try:
        at = AppTest.from_file(str(APP), default_timeout=600)
        at.secrets["BATCHDASH_DATA_DIR"] = str(data_dir)
        at.secrets["OPENAI_API_KEY"] = API_KEY
        at.secrets["OPENAI_BASE_URL"] = BASE_URL
        yield at
    finally:
        resources.gateway = original
        st.cache_data.clear()
        st.cache_resource.clear()


def timed_runs(
    at: AppTest, box: Sandbox, repeat: int, before: Callable[[], None]
) -> dict[str, Any]:
    """`repeat` runs of the page, each after `before()`: seconds and API calls of each."""
    seconds: list[float] = []
    calls: list[int] = []
    for _ in range(repeat):
        before()
        box.log.reset()
        start = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - start)
        calls.append(box.log.total)
        assert not at.exception, at.exception
    return {
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "calls": calls,
        "by_kind": call_kinds(box),
    }


def call_kinds(box: Sandbox) -> dict[str, int]:
    """The calls counted since the last reset, by kind: list, retrieve, file download..."""
    kinds: dict[str, int] = {}
    for (method, path), count in box.log.calls.items():
        if path == "/v1/batches":
            kind = f"{method} batches (list)"
        elif path.startswith("/v1/batches/"):
            kind = f"{method} batches/<id>"
        elif path.endswith("/content"):
            kind = f"{method} files/<id>/content (download)"
        else:
            kind = f"{method} {path}"
        kinds[kind] = kinds.get(kind, 0) + count
    return kinds


def shown_jobs(at: AppTest) -> int:
    frames = [element.value for element in at.dataframe if "progress" in element.value.columns]
    return len(frames[0]) if frames else 0


def bench(work: Path, repeat: int) -> dict[str, Any]:
    # Each timed run stands for a timer tick seconds after the last: none shares a refresh.
    board.SHARED_REFRESH_AGE = 0.0
    data_dir = work / "data"
    registry = Registry(default_db_url(data_dir))
    box = Sandbox(work / "sandbox").start(rate=0.001)
    gateway = SandboxGateway(box)
    figures: dict[str, Any] = {}
    try:
        start = time.perf_counter()
        finished_jobs(registry, JOBS - RUNNING_JOBS)
        service = JobService(registry, gateway(), SCOPE)
        running = running_jobs(service, RUNNING_JOBS)
        running_batches = {b.id for job_id in running for b in service.status(job_id).batches}
        figures["build_s"] = time.perf_counter() - start
        with app_on(gateway, data_dir) as at:
            box.log.reset()
            start = time.perf_counter()
            at.run()
            at.switch_page("app_pages/jobs.py").run()
            figures["first_open_s"] = time.perf_counter() - start
            figures["first_open_calls"] = box.log.total
            assert shown_jobs(at) == JOBS, shown_jobs(at)

            figures["refresh"] = timed_runs(at, box, repeat, lambda: None)

            def search() -> None:
                box_value = at.text_input(key=state.JOBS_SEARCH).value
                at.text_input(key=state.JOBS_SEARCH).set_value("" if box_value else "Running")

            figures["search"] = timed_runs(at, box, repeat, search)
            at.text_input(key=state.JOBS_SEARCH).set_value("").run()

            gateway.restart()  # full speed: the running batches finish
            deadline = time.monotonic() + 300
            while not all(i.terminal for i in box.batches() if i.id in running_batches):
                assert time.monotonic() < deadline, "the sandbox did not finish the batches"
                time.sleep(0.1)
            box.log.reset()
            start = time.perf_counter()
            at.run()
            figures["fetch_s"] = time.perf_counter() - start
            figures["fetch_calls"] = call_kinds(box)
            figures["fetch_total"] = box.log.total
            figures["finished"] = timed_runs(at, box, repeat, lambda: None)
            assert shown_jobs(at) == JOBS
        with app_on(gateway, data_dir) as at:
            # As after a restart: no job service in memory, merged tables cached in the registry.
            start = time.perf_counter()
            at.run()
            at.switch_page("app_pages/jobs.py").run()
            figures["reopen_s"] = time.perf_counter() - start
            assert shown_jobs(at) == JOBS
    finally:
        registry.close()
        box.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--budget", type=float, default=BUDGET_S)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-jobs-page-") as directory:
        figures = bench(Path(directory), args.repeat)
    running_batches = RUNNING_JOBS * PARTS
    load = os.getloadavg()[0]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}")
    print(f"registry: {JOBS} jobs, {JOBS * PARTS} batches ({running_batches} running)")
    print(f"built in {figures['build_s']:.1f} s")
    print(
        f"first open (every status worked out, every merged table made): "
        f"{figures['first_open_s']:.2f} s, {figures['first_open_calls']} API calls"
    )
    print(f"open after a restart (merged tables kept in the registry): {figures['reopen_s']:.2f} s")
    failed = False
    for name, what in (
        ("refresh", "rerun refreshing from the API"),
        ("search", "rerun after a search (redraw only)"),
        ("finished", "rerun with nothing running"),
    ):
        run = figures[name]
        print(
            f"{what}: median {run['median_s'] * 1000:.0f} ms, max {run['max_s'] * 1000:.0f} ms, "
            f"API calls per run {run['calls']}"
        )
        failed |= run["median_s"] > args.budget
    print(f"calls of one refresh, by kind: {figures['refresh']['by_kind']}")
    print(
        f"the refresh that saw the {running_batches} batches finished: "
        f"{figures['fetch_s']:.2f} s, {figures['fetch_total']} calls {figures['fetch_calls']}"
    )
    failed |= max(figures["refresh"]["calls"]) > running_batches
    failed |= any(figures["search"]["calls"]) or any(figures["finished"]["calls"])
    print("OK" if not failed else "BUDGET MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
