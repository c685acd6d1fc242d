"""Bench: 50,000 result lines merged into the CSV download, against a naive baseline.

Builds a 50,000-row input table (~300-character prompts) and the output and error files of its
chat batch in memory (shuffled; 1% HTTP errors, 1% expired, 0.5% of rows missing), then times
`read_result_files` + `merge_table` + `write_csv` (each stage shown), and, in the same
run, a naive version: per-line `json.loads`, a per-row dict lookup and `csv.writer`, writing only
four of the nine added columns. Best of `--repeat` runs each.

    .venv/bin/python bench/bench_merge.py [--rows 50000] [--repeat 3] [--budget 2.0]

Exits 1 when the merge takes longer than the budget.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.preflight.pricing import require_price  # noqa: E402
from batchdash.recipe import Recipe  # noqa: E402
from batchdash.results.export import TableColumns, write_csv  # noqa: E402
from batchdash.results.merge import merge_table  # noqa: E402
from batchdash.results.result_table import ResultFile, read_result_files  # noqa: E402
from tests.result_lines import chat_line, http_error_line, not_run_line  # noqa: E402

WORDS = ("the", "parcel", "arrived", "late", "and", "the", "box", "was", "damaged", "but")
RECIPE = Recipe(model="gpt-4o-mini", template="Classify the review {review} from {customer}")


def input_table(rows: int) -> pd.DataFrame:
    reviews = [
        f"Review {n}: " + " ".join(WORDS[(n + k) % len(WORDS)] for k in range(50 + n % 10))
        for n in range(1, rows + 1)
    ]
    return pd.DataFrame(
        {"customer": [f"customer {n}" for n in range(1, rows + 1)], "review": reviews}, dtype=str
    )


def result_files(rows: int) -> tuple[bytes, bytes]:
    """The output and error files of the batch, lines shuffled."""
    output, errors = result_lines(range(1, rows + 1), random.Random(1))
    return b"\n".join(output) + b"\n", b"\n".join(errors) + b"\n"


def result_lines(numbers: range, rng: random.Random) -> tuple[list[bytes], list[bytes]]:
    """Output and error lines of rows `numbers` (custom_id row-N), each list shuffled: 1% HTTP
    errors, 1% expired, 0.5% never reported, the rest answered."""
    output: list[bytes] = []
    errors: list[bytes] = []
    for n in numbers:
        custom_id = f"row-{n}"
        draw = rng.random()
        if draw < 0.005:
            continue  # never reported: not_run
        if draw < 0.015:
            errors.append(http_error_line(custom_id, 400, "Invalid prompt.", "invalid_prompt"))
        elif draw < 0.025:
            errors.append(not_run_line(custom_id))
        else:
            answer = f"Answer {n}: the review is {'positive' if n % 3 else 'negative'}. " * 3
            output.append(
                chat_line(custom_id, answer, prompt_tokens=80 + n % 40, completion_tokens=40)
            )
    rng.shuffle(output)
    rng.shuffle(errors)
    return output, errors


def batchdash_merge(frame: pd.DataFrame, files: tuple[bytes, bytes]) -> tuple[bytes, list[float]]:
    """The CSV bytes, and the seconds spent parsing, merging and writing the CSV (the Arrow
    path the CLI and the job service take)."""
    clock = [time.perf_counter()]
    names = ("output.jsonl", "errors.jsonl")
    given = [ResultFile([data], "batch_1", name) for name, data in zip(names, files, strict=True)]
    results = read_result_files(given, RECIPE)
    clock.append(time.perf_counter())
    merged = merge_table(frame, RECIPE, results)
    clock.append(time.perf_counter())
    out = io.BytesIO()
    write_csv(TableColumns(merged), out)
    csv_bytes = out.getvalue()
    clock.append(time.perf_counter())
    return csv_bytes, [after - before for before, after in itertools.pairwise(clock)]


def naive_merge(frame: pd.DataFrame, files: tuple[bytes, bytes]) -> bytes:
    """What one would write first: json.loads per line, a dict per row, csv.writer per row."""
    price = require_price(RECIPE.model)
    by_id: dict[str, Any] = {}
    for data in files:
        for line in data.splitlines():
            if line.strip():
                record = json.loads(line)
                by_id[record["custom_id"]] = record
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*frame.columns, "response", "custom_id", "status", "cost_usd"])
    for n, row in enumerate(frame.itertuples(index=False), start=1):
        custom_id = f"row-{n}"
        record = by_id.get(custom_id)
        response, status, cost = "", "not_run", 0.0
        if record is not None and record["response"] and record["response"]["status_code"] == 200:
            body = record["response"]["body"]
            response = body["choices"][0]["message"]["content"]
            status = "ok"
            usage = body["usage"]
            cost = price.cost(usage["prompt_tokens"], usage["completion_tokens"])
        elif record is not None:
            status = "error"
        writer.writerow([*row, response, custom_id, status, cost])
    return ("\ufeff" + buffer.getvalue()).encode()


def best_time(run: Callable[[], bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds")
    args = parser.parse_args()

    frame = input_table(args.rows)
    files = result_files(args.rows)
    runs = [batchdash_merge(frame, files) for _ in range(args.repeat)]
    csv_bytes, stages = min(runs, key=lambda run: sum(run[1]))
    ours = sum(stages)
    naive = best_time(lambda: naive_merge(frame, files), args.repeat)
    merged_rows = csv_bytes.count(b"\r\n") - 1  # header; no cell here holds a line break
    size_mb = sum(len(f) for f in files) / 1e6
    csv_mb = len(csv_bytes) / 1e6
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"rows {args.rows:,}, result files {size_mb:.1f} MB, merged CSV {csv_mb:.1f} MB")
    parse, merge, write = stages
    print(
        f"batchdash: {ours:.3f} s (parse {parse:.3f} + merge {merge:.3f} + CSV {write:.3f}; "
        f"budget {args.budget:.1f} s)"
    )
    print(f"naive json.loads + dict + csv.writer: {naive:.3f} s ({naive / ours:.1f}x ours)")
    if merged_rows != args.rows:
        print(f"FAIL: the CSV holds {merged_rows} rows, not {args.rows}")
        return 1
    return 0 if ours <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
