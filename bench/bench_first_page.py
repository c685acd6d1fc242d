"""Bench: from `streamlit run` to the first page's title in the browser, this tree and another.

Starts `streamlit run dashboard/streamlit_app.py` (headless, 127.0.0.1, a free port, Sandbox
mode: no key, a fresh data directory) and, in Chromium (Debian's, flags as in
tests/e2e/conftest.py, launched once beforehand), opens the app as soon as the port answers and
waits for the New job page's title to be laid out (checked at every frame the browser draws).
The figure is the time from launching the server to that title; beside it, the time until the
port answers and the CPU seconds the server used until the title showed. With `--other TREE`
the same is done for that tree in turns, each with its own code and this interpreter (the
order swapped every round, so neither tree always starts right after the other's server
stopped), and the medians are compared.

    .venv/bin/python bench/bench_first_page.py [--rounds 3] [--other /work/base13] [--floor]

`--floor` also times, in the same turns, an app of one line (`st.header("New job")`) in a
temporary tree: what Streamlit itself takes on this machine, which no app can go below.

Exits 1 when this tree's median misses `--budget` seconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port, app_command, stop_server  # noqa: E402

BUDGET_S = 2.0
#: The least a Streamlit app can be whose first page the bench recognises.
FLOOR_APP = 'import streamlit as st\n\nst.header("New job")\n'
TIMEOUT_S = 120.0
#: True once New job's title is laid out on the page (what an analyst sees first).
TITLE_SHOWN = """() => [...document.querySelectorAll("h2")].some(
    (h) => h.textContent.trim() === "New job" && h.getBoundingClientRect().height > 0)"""


@dataclass(frozen=True)
class FirstPage:
    """One start of one tree's app."""

    #: Seconds from launching the server until /_stcore/health first answers "ok".
    healthy_s: float
    #: Seconds from launching the server until the first page's title is visible.
    title_s: float
    #: CPU seconds the server process used from its launch until then.
    server_cpu_s: float
    #: One-minute load average just before the start.
    load: float


def start_once(tree: Path, browser: Browser) -> FirstPage:
    """Launch `tree`'s app and time its first page in a fresh browser context."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHDASH_DB_URL")
        and not name.startswith("BATCHDASH_SANDBOX")
    }
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as data_dir:
        env["BATCHDASH_DATA_DIR"] = data_dir
        started = time.perf_counter()
        server = subprocess.Popen(
            app_command(port),
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # A plain connection tells when the port listens (a browser's failed load takes
            # longer to say so than the server takes to start).
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"The app of {tree} exited while starting.")
                if time.perf_counter() - started > TIMEOUT_S:
                    raise RuntimeError(f"The app of {tree} did not answer in {TIMEOUT_S} s.")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.01)
            healthy = time.perf_counter() - started
            page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
            # Checked at every frame the browser draws: a locator's wait polls ever more
            # slowly (up to every 500 ms), which added up to half a second to the figure.
            page.wait_for_function(TITLE_SHOWN, polling="raf", timeout=TIMEOUT_S * 1000)
            shown = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid)
        finally:
            context.close()
            stop_server(server)
    return FirstPage(healthy, shown, cpu, load)


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--other", type=Path, help="a tree to compare with, in turns")
    parser.add_argument("--budget", type=float, default=BUDGET_S)
    parser.add_argument("--floor", action="store_true", help="also time a one-line app")
    options = parser.parse_args()
    trees = {"this tree": ROOT}
    if options.other is not None:
        trees["other tree"] = options.other.resolve()
    with tempfile.TemporaryDirectory(prefix="first-page-floor-") as floor:
        if options.floor:
            (Path(floor) / "dashboard").mkdir()
            (Path(floor) / "dashboard" / "streamlit_app.py").write_text(FLOOR_APP)
            trees["one-line app"] = Path(floor)
        return _compare(trees, options.rounds, options.budget)


def _compare(trees: dict[str, Path], rounds: int, budget: float) -> int:
    runs: dict[str, list[FirstPage]] = {name: [] for name in trees}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for round_ in range(rounds):
                order = list(trees.items())
                for name, tree in order[::-1] if round_ % 2 else order:
                    runs[name].append(start_once(tree, browser))
        finally:
            browser.close()
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for name, tree in trees.items():
        titles = [run.title_s for run in runs[name]]
        print(
            f"{name} ({tree}): first page's title after median {statistics.median(titles):.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in titles)}); the port answered after "
            f"{', '.join(f'{run.healthy_s:.2f}' for run in runs[name])} s; the server's CPU "
            f"until the title median {statistics.median(run.server_cpu_s for run in runs[name]):.2f}"
            f" s; load before each "
            f"{', '.join(f'{run.load:.1f}' for run in runs[name])}"
        )
    this = statistics.median(run.title_s for run in runs["this tree"])
    if "other tree" in runs:
        other = statistics.median(run.title_s for run in runs["other tree"])
        print(f"this {this:.2f} s, other {other:.2f} s: {other / this:.1f}x")
    if "one-line app" in runs:
        floor = statistics.median(run.title_s for run in runs["one-line app"])
        print(
            f"this {this:.2f} s, a one-line app {floor:.2f} s: {this - floor:+.2f} s is the app's"
        )
    if this > budget:
        print(f"MISSED: the first page took more than {budget:.1f} s.")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
