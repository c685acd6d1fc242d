"""Bench: a direct run with concurrency 8 against a sequential loop, in the same run.

The sandbox is started in a child process on 127.0.0.1 (`cli.py sandbox --sync-pace 0.05
--sync-concurrency 8`): each chat call takes 50 ms and it answers 8 at a time (the ninth gets
429). Then, against that one server:

1. a sequential loop: one `Gateway.call_direct` after the other, nothing recorded;
2. a direct run (`batchdash.direct`) of a job of N rows with concurrency 8: the whole path,
   every answer recorded in an SQLite registry as it arrives, then merged.

Prints rows per second of each, their ratio, wall and CPU time (this process's, and the
server's from /proc), and the load average. Budget: the direct run at least 5x the loop.

    .venv/bin/python bench/bench_direct.py [--rows 800] [--sequential-rows 100]

Exits 1 when the budget is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.api.gateway import Gateway  # noqa: E402
from batchdash.direct.jobs import DirectJobs  # noqa: E402
from batchdash.direct.rows import unanswered_requests  # noqa: E402
from batchdash.direct.runner import RunSettings  # noqa: E402
from batchdash.jobs.service import JobService  # noqa: E402
from batchdash.recipe import Recipe  # noqa: E402
from batchdash.registry.store import Registry  # noqa: E402

PACE = 0.05
CONCURRENCY = 8
BUDGET = 5.0
RECIPE = Recipe(model="gpt-4o-mini", template="Answer row {key}", id_column="key")


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "dashboard" / "cli.py"),
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--sync-pace",
            str(PACE),
            "--sync-concurrency",
            str(CONCURRENCY),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return child, f"http://127.0.0.1:{port}/v1"
        except httpx2.HTTPError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("The sandbox did not start.")
        time.sleep(0.05)


def table(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"key": [f"{prefix}{i}" for i in range(1, rows + 1)]})


def timed(run: Any, server: int) -> tuple[Any, dict[str, float]]:
    wall, cpu, server_before = time.perf_counter(), time.process_time(), server_cpu(server)
    result = run()
    return result, {
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "server_cpu_s": round(server_cpu(server) - server_before, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800, help="rows of the direct run")
    parser.add_argument("--sequential-rows", type=int, default=100, help="calls of the loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-direct-") as temporary:
        directory = Path(temporary)
        child, url = start_server(directory / "sandbox")
        try:
            gateway = Gateway("sandbox", url, timeout=30)
            registry = Registry(f"sqlite:///{directory / 'registry.sqlite3'}")
            service = JobService(registry, gateway, "bench")
            jobs = DirectJobs(service, RunSettings(concurrency=CONCURRENCY))
            # The first answer loads the server's tokenizer: not part of either figure.
            gateway.call_direct(
                RECIPE.endpoint,
                {"model": RECIPE.model, "messages": [{"role": "user", "content": "hi"}]},
            )
            loop_job = jobs.create("Loop", table(args.sequential_rows, "s"), RECIPE)
            [loop_part] = registry.parts(loop_job)
            bodies = unanswered_requests(registry.job_rows(loop_job), RECIPE, loop_part, ())

            def loop() -> int:
                return sum(
                    gateway.call_direct(RECIPE.endpoint, body).status_code == 200
                    for _, body in bodies
                )

            answered, loop_times = timed(loop, child.pid)
            job_id = jobs.create("Direct", table(args.rows, "d"), RECIPE)
            progress, direct_times = timed(lambda: jobs.run(job_id), child.pid)
            merged = service.merged_table(job_id)
            registry.close()
        finally:
            child.terminate()
            child.wait(30)
    loop_rate = answered / loop_times["wall_s"]
    direct_rate = progress.answered / direct_times["wall_s"]
    ratio = direct_rate / loop_rate
    report = {
        "server": {"pace_s": PACE, "calls_at_once": CONCURRENCY},
        "sequential_loop": {"rows": answered, **loop_times, "rows_per_s": round(loop_rate, 1)},
        "direct_run": {
            "rows": progress.answered,
            "rows_ok_in_merged_table": int((merged["status"] == "ok").sum()),
            "calls": progress.calls,
            "concurrency": CONCURRENCY,
            **direct_times,
            "rows_per_s": round(direct_rate, 1),
        },
        "speedup": round(ratio, 2),
        "budget": BUDGET,
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    return 0 if ratio >= BUDGET and progress.answered == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
