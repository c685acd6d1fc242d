"""Bench: a rerun of New job with 50,000 rows loaded, after the temperature changes.

The whole app runs in AppTest (entry script, navigation, sidebar, New job) in Sandbox mode on a
temporary data directory. A CSV of `--rows` rows of ~300-character prompts (two placeholders)
is uploaded and the template written; then the temperature is changed `--repeat` times and
each rerun (`at.run()`) is timed. The same is done in the same run with the page caches turned
off (`BATCHDASH_UI_CACHE=off`: every rerun reads the file and plans every row again).

    .venv/bin/python bench/bench_new_job.py [--rows 50000] [--repeat 10] [--budget 0.3]

Exits 1 when the median cached rerun misses the budget.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui import state  # noqa: E402
from ui.memo import CACHE_SWITCH  # noqa: E402

APP = ROOT / "dashboard" / "streamlit_app.py"
TEMPLATE = "Customer {customer} wrote the message below. Positive, negative or mixed?\n\n{review}"
BUDGET_S = 0.3
WORDS = [
    "the",
    "delivery",
    "was",
    "late",
    "but",
    "the",
    "support",
    "team",
    "answered",
    "quickly",
    "and",
    "kindly",
    "while",
    "the",
    "box",
    "arrived",
    "damaged",
    "and",
    "the",
    "product",
    "itself",
    "works",
    "better",
    "than",
    "expected",
    "after",
    "one",
    "week",
    "of",
    "use",
    "although",
    "battery",
    "life",
    "could",
    "be",
    "longer",
    "price",
    "fair",
    "packaging",
    "wasteful",
    "would",
    "buy",
    "again",
    "maybe",
]
NAMES = ["Anna Schmidt", "José García", "Zoë Dubois", "Søren Madsen", "李小龙", "Ana Ivanović"]


def table_csv(rows: int) -> bytes:
    """`rows` rows: a customer name and a ~300-character review of varied words."""
    pick = random.Random(7)
    lines = ["customer,review"]
    for _ in range(rows):
        review = " ".join(pick.choices(WORDS, k=52))[:300]
        lines.append(f"{pick.choice(NAMES)},{review}")
    return ("\n".join(lines) + "\n").encode()


def timed_reruns(at: AppTest, repeat: int) -> list[float]:
    """Seconds of each rerun after a new temperature."""
    seconds = []
    for number in range(repeat):
        widget = at.number_input(key=state.TEMPERATURE)
        widget.set_value(round(0.1 + 0.1 * (number % 10), 1))
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"The page raised: {at.exception[0].value}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--budget", type=float, default=BUDGET_S)
    options = parser.parse_args()

    data = table_csv(options.rows)
    os.environ.pop(CACHE_SWITCH, None)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHDASH_DB_URL"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory() as data_dir:
        at = AppTest.from_file(str(APP), default_timeout=600)
        at.secrets["BATCHDASH_DATA_DIR"] = data_dir
        at.run()
        started = time.perf_counter()
        at.file_uploader(key=state.UPLOADER).set_value(("reviews.csv", data, "text/csv")).run()
        at.text_area(key=state.TEMPLATE).set_value(TEMPLATE).run()
        loaded = time.perf_counter() - started
        if at.exception or at.error:
            print("The page did not load the table:", at.exception or at.error, file=sys.stderr)
            return 1
        rows = next(metric.value for metric in at.metric if metric.label == "Rows")
        tokens = next(metric.value for metric in at.metric if metric.label == "Input tokens")

        cached = timed_reruns(at, options.repeat)
        os.environ[CACHE_SWITCH] = "off"
        try:
            uncached = timed_reruns(at, max(3, options.repeat // 3))
        finally:
            os.environ.pop(CACHE_SWITCH, None)
        st.cache_resource.clear()  # stops the sandbox the app started

    median_cached, median_uncached = statistics.median(cached), statistics.median(uncached)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"table: {rows} rows, {len(data) / 1e6:.1f} MB, {tokens} input tokens")
    print(f"upload + template (first parse and preflight): {loaded:.2f} s")
    print(
        f"rerun after a new temperature, caches on:  median {median_cached * 1000:.0f} ms, "
        f"max {max(cached) * 1000:.0f} ms ({len(cached)} reruns)"
    )
    print(
        f"rerun after a new temperature, caches off: median {median_uncached * 1000:.0f} ms, "
        f"max {max(uncached) * 1000:.0f} ms ({len(uncached)} reruns)"
    )
    print(f"speed-up: {median_uncached / median_cached:.0f}x")
    if median_cached > options.budget:
        print(f"MISSED: the median cached rerun is over {options.budget * 1000:.0f} ms.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
