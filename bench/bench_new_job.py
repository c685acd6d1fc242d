"""Bench: New job with 50,000 rows loaded, rerun after a template edit and a new temperature.

The whole app runs in AppTest (entry script, navigation, sidebar, New job) in Sandbox mode on a
temporary data directory. A CSV of `--rows` rows of ~300-character prompts (two placeholders)
is uploaded and the template written. Then:

- the template is edited `--edits` times; each edit's rerun (`at.run()`: the page answers with
  its preview and figures) is timed, and so is the time until the figures are exact: reruns
  every 0.3 s, as often as the page polls, until the "Input tokens" figure has no "≈" (in a
  tree that counts every row in the run itself, the edit's rerun);
- the temperature is changed `--repeat` times and each rerun is timed;
- the same with the page caches turned off (`BATCHDASH_UI_CACHE=off`: every rerun reads the
  file and plans every row again).

    .venv/bin/python bench/bench_new_job.py [--rows 50000] [--edits 5] [--repeat 10]
    .venv/bin/python bench/bench_new_job.py --other /work/base13 [--rounds 3]

`--app-root TREE` runs the app of another checkout (its own code, this interpreter). `--other
TREE` runs this script for this tree and for TREE in turns, `--rounds` times each, each run in
a fresh process, and prints both trees' medians side by side with the load average.

Exits 1 when the median cached temperature rerun misses `--budget`, or (with `--other`) when a
template edit's rerun is not at least `--speedup` times faster than the other tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _app_root() -> Path:
    """The tree whose app is measured: `--app-root`, else this one (read before imports)."""
    for number, argument in enumerate(sys.argv):
        if argument == "--app-root" and number + 1 < len(sys.argv):
            return Path(sys.argv[number + 1]).resolve()
        if argument.startswith("--app-root="):
            return Path(argument.split("=", 1)[1]).resolve()
    return Path(__file__).resolve().parents[1]


ROOT = Path(__file__).resolve().parents[1]
APP_ROOT = _app_root()
sys.path[:0] = [str(APP_ROOT / "dashboard"), str(APP_ROOT)]

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui import state  # noqa: E402
from ui.memo import CACHE_SWITCH  # noqa: E402

APP = APP_ROOT / "dashboard" / "streamlit_app.py"
TEMPLATE = "Customer {customer} wrote the message below. Positive, negative or mixed?\n\n{review}"
#: Edited templates: the same placeholders, other words (each edit changes every prompt).
EDITS = (
    "Customer {customer} wrote the review below. Is it positive, negative or mixed?\n\n{review}",
    "Read what {customer} wrote and answer with one word: positive, negative or mixed.\n{review}",
    "Review by {customer}:\n{review}\n\nClassify the sentiment (positive, negative, mixed).",
    "{review}\n\nThe text above was written by {customer}. Sentiment?",
    "Sentiment of this review by {customer}, in one word:\n\n{review}",
)
BUDGET_S = 0.3
SPEEDUP = 4.0
# Seconds between two reruns while waiting for the exact figures.
_POLL_S = 0.3
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


def input_tokens(at: AppTest) -> str:
    """The "Input tokens" figure the page shows ("≈ ..." while it is an estimate)."""
    return str(next(metric.value for metric in at.metric if metric.label == "Input tokens"))


def checked(at: AppTest) -> None:
    """Raise when the page raised or said something is wrong."""
    if at.exception:
        raise RuntimeError(f"The page raised: {at.exception[0].value}")
    if at.error:
        raise RuntimeError(f"The page shows an error: {at.error[0].value}")


def until_exact(at: AppTest, timeout: float = 120.0) -> None:
    """Rerun every _POLL_S seconds until the figures are exact (no "≈" on the tokens)."""
    deadline = time.perf_counter() + timeout
    while input_tokens(at).startswith("≈"):
        if time.perf_counter() > deadline:
            raise RuntimeError("The exact count did not come within the timeout.")
        time.sleep(_POLL_S)
        at.run()
        checked(at)


def timed_edits(at: AppTest, edits: int) -> dict[str, list[float]]:
    """Per template edit: seconds of its rerun, seconds until exact, the estimate's error."""
    answered, exact, errors = [], [], []
    for number in range(edits):
        at.text_area(key=state.TEMPLATE).set_value(EDITS[number % len(EDITS)])
        started = time.perf_counter()
        at.run()
        answered.append(time.perf_counter() - started)
        checked(at)
        shown = input_tokens(at)
        until_exact(at)
        exact.append(time.perf_counter() - started)
        if shown.startswith("≈"):
            estimate = int(re.sub(r"\D", "", shown))
            counted = int(re.sub(r"\D", "", input_tokens(at)))
            errors.append(abs(estimate - counted) / counted)
    return {"edit_answer_s": answered, "edit_exact_s": exact, "estimate_error": errors}


def timed_reruns(at: AppTest, repeat: int) -> list[float]:
    """Seconds of each rerun after a new temperature."""
    seconds = []
    for number in range(repeat):
        widget = at.number_input(key=state.TEMPERATURE)
        widget.set_value(round(0.1 + 0.1 * (number % 10), 1))
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        checked(at)
    return seconds


def measure(rows: int, edits: int, repeat: int) -> dict[str, object]:
    """Every figure of one tree's app, in one process."""
    data = table_csv(rows)
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
        checked(at)
        until_exact(at)
        loaded = time.perf_counter() - started
        shown_rows = next(metric.value for metric in at.metric if metric.label == "Rows")
        tokens = input_tokens(at)

        figures: dict[str, object] = dict(timed_edits(at, edits))
        figures["temperature_s"] = timed_reruns(at, repeat)
        os.environ[CACHE_SWITCH] = "off"
        try:
            figures["uncached_s"] = timed_reruns(at, max(3, repeat // 3))
        finally:
            os.environ.pop(CACHE_SWITCH, None)
        st.cache_resource.clear()  # stops the sandbox the app started
    figures.update(
        tree=str(APP_ROOT),
        rows=shown_rows,
        megabytes=len(data) / 1e6,
        input_tokens=tokens,
        loaded_s=loaded,
        load=os.getloadavg()[0],
    )
    return figures


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"


def report(figures: dict[str, object], budget: float) -> int:
    """Print one tree's figures; 1 when the cached temperature rerun misses the budget."""
    edit, exact = figures["edit_answer_s"], figures["edit_exact_s"]
    cached, uncached = figures["temperature_s"], figures["uncached_s"]
    errors = figures["estimate_error"]
    assert isinstance(edit, list) and isinstance(exact, list) and isinstance(errors, list)
    assert isinstance(cached, list) and isinstance(uncached, list)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}; app of {figures['tree']}"
    )
    print(
        f"table: {figures['rows']} rows, {figures['megabytes']:.1f} MB, "
        f"{figures['input_tokens']} input tokens"
    )
    print(f"upload + template until the figures are exact: {figures['loaded_s']:.2f} s")
    print(f"rerun after a template edit: {_ms(edit)} ({len(edit)} edits)")
    print(f"template edit until the figures are exact: {_ms(exact)}")
    if errors:
        print(f"estimate shown meanwhile: off by at most {max(errors) * 100:.2f}%")
    print(f"rerun after a new temperature, caches on:  {_ms(cached)} ({len(cached)} reruns)")
    print(f"rerun after a new temperature, caches off: {_ms(uncached)} ({len(uncached)} reruns)")
    median_cached = statistics.median(cached)
    print(f"speed-up of the caches: {statistics.median(uncached) / median_cached:.0f}x")
    if median_cached > budget:
        print(f"MISSED: the median cached rerun is over {budget * 1000:.0f} ms.")
        return 1
    return 0


def side_by_side(options: argparse.Namespace) -> int:
    """This script for this tree and the other in turns, each run in a fresh process."""
    trees = {"this tree": ROOT, "other tree": options.other.resolve()}
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
    for _ in range(options.rounds):
        for name, tree in trees.items():
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--app-root",
                    str(tree),
                    "--json",
                    *("--rows", str(options.rows), "--edits", str(options.edits)),
                    *("--repeat", str(options.repeat)),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode not in (0, 1) or not done.stdout.strip():
                raise SystemExit(f"{name} failed:\n{done.stdout}{done.stderr}")
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))

    def median(name: str, figure: str) -> float:
        values = [value for run in runs[name] for value in run[figure]]  # type: ignore[attr-defined]
        return statistics.median(values)

    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"loads after each run: {[[round(r['load'], 1) for r in runs[n]] for n in trees]}")
    failed = False
    for figure, words in (
        ("edit_answer_s", "rerun after a template edit"),
        ("edit_exact_s", "template edit until the figures are exact"),
        ("temperature_s", "rerun after a new temperature"),
    ):
        this, other = median("this tree", figure), median("other tree", figure)
        print(
            f"{words} (median of all runs): this {this * 1000:.0f} ms, "
            f"other {other * 1000:.0f} ms, {other / this:.1f}x"
        )
        if figure == "edit_answer_s" and other / this < options.speedup:
            failed = True
    if failed:
        print(f"MISSED: a template edit is not {options.speedup:.0f}x faster than the other tree.")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--budget", type=float, default=BUDGET_S)
    parser.add_argument("--app-root", type=Path, help="measure the app of this tree")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--other", type=Path, help="a tree to compare with, in turns")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speedup", type=float, default=SPEEDUP)
    options = parser.parse_args()
    if options.other is not None:
        return side_by_side(options)
    figures = measure(options.rows, options.edits, options.repeat)
    if options.json:
        print(json.dumps(figures))
        cached = figures["temperature_s"]
        assert isinstance(cached, list)
        return 1 if statistics.median(cached) > options.budget else 0
    return report(figures, options.budget)


if __name__ == "__main__":
    sys.exit(main())
