"""Bench: a 50,000-row merged table exported as XLSX, against the per-cell baseline.

Builds a 50,000-row table of five columns, as a merged table looks: a ticket ID with leading
zeros, a ~300-character prompt (one in fifty starts with `=`, `+`, `-` or `@`, one in ten holds
`&`, `<` or `>`), a ~300-character answer (blank for 1% of the rows, as not run), the input
tokens (int64) and the cost (Float64, missing where not run). Times `to_xlsx_bytes` (the direct
writer, batchdash/results/xlsx_writer.py) and, in the same run, the export it replaced: xlsxwriter with
one `write_string` or `write_number` call per cell (tests/xlsx_per_cell.py). Best of `--repeat`
runs each. Then reads both files back with openpyxl (read-only) and checks that every cell has
the same value and type.

For comparison, not budgeted: the same two exports of the twelve-column merged table of
bench_merge.py (50,000 rows: input, answer and lineage columns).

    .venv/bin/python bench/bench_export.py [--rows 50000] [--repeat 3] [--budget 2.0]
        [--skip-merged]

Exits 1 when the export takes longer than the budget or a cell differs.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from bench_merge import RECIPE, input_table, result_files  # noqa: E402

from batchdash.results.export import to_xlsx_bytes  # noqa: E402
from batchdash.results.merge import merge_results  # noqa: E402
from batchdash.results.parse import parse_result_lines  # noqa: E402
from tests.xlsx_per_cell import per_cell_xlsx_bytes  # noqa: E402

WORDS = ("the", "parcel", "arrived", "late", "and", "the", "box", "was", "damaged", "but")
SIGNS = ("=", "+", "-", "@")
MARKUP = (" & ", " < ", " > ")


def export_table(rows: int) -> pd.DataFrame:
    prompts, answers, costs = [], [], []
    for n in range(1, rows + 1):
        prompt = f"Review {n}: " + " ".join(WORDS[(n + k) % len(WORDS)] for k in range(50 + n % 10))
        if n % 50 == 0:
            prompt = SIGNS[n // 50 % 4] + prompt
        if n % 10 == 3:
            prompt += MARKUP[n % 3] + "more"
        prompts.append(prompt)
        not_run = n % 100 == 7
        mood = "positive" if n % 3 else "negative"
        answers.append("" if not_run else f"Answer {n}: the review is {mood}. " * 7)
        costs.append(None if not_run else (80 + n % 40) * 0.075e-6 + 40 * 0.3e-6)
    return pd.DataFrame(
        {
            "ticket": pd.Series([f"{n:07d}" for n in range(1, rows + 1)], dtype=str),
            "prompt": pd.Series(prompts, dtype=str),
            "response": pd.Series(answers, dtype=str),
            "input_tokens": pd.Series(80 + np.arange(1, rows + 1) % 40, dtype="int64"),
            "cost_usd": pd.Series(pd.array(costs, dtype="Float64")),
        }
    )


def merged_table(rows: int) -> pd.DataFrame:
    """The merged table bench_merge.py builds: two input columns, the answer, the lineage."""
    results = []
    for name, data in zip(("output.jsonl", "errors.jsonl"), result_files(rows), strict=True):
        results += parse_result_lines(data, recipe=RECIPE, batch_id="batch_1", source_name=name)
    return merge_results(input_table(rows), RECIPE, results)


def best_time(run: Callable[[], bytes], repeat: int) -> tuple[bytes, float]:
    best, data = float("inf"), b""
    for _ in range(repeat):
        start = time.perf_counter()
        data = run()
        best = min(best, time.perf_counter() - start)
    return data, best


def cells(data: bytes) -> Iterator[list[tuple[object, str]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    for row in book["Results"].iter_rows():
        yield [(cell.value, cell.data_type) for cell in row]


def first_difference(ours: bytes, baseline: bytes) -> str | None:
    """Where the two files first differ as openpyxl reads them, or None."""
    rows = itertools.zip_longest(cells(ours), cells(baseline))
    for number, (mine, theirs) in enumerate(rows, 1):
        if mine != theirs:
            return f"row {number}: {mine} != {theirs}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds")
    parser.add_argument("--skip-merged", action="store_true", help="only the five-column table")
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    frame = export_table(args.rows)
    ours, ours_s = best_time(lambda: to_xlsx_bytes(frame), args.repeat)
    baseline, baseline_s = best_time(lambda: per_cell_xlsx_bytes(frame), args.repeat)
    text_mb = sum(frame[name].str.len().sum() for name in ("prompt", "response")) / 1e6
    print(f"rows {args.rows:,}, 5 columns, {text_mb:.1f} million characters of prompts and answers")
    print(
        f"batchdash to_xlsx_bytes: {ours_s:.3f} s, {len(ours) / 1e6:.1f} MB "
        f"(budget {args.budget:.1f} s)"
    )
    print(
        f"per-cell xlsxwriter: {baseline_s:.3f} s, {len(baseline) / 1e6:.1f} MB "
        f"({baseline_s / ours_s:.1f}x ours)"
    )
    start = time.perf_counter()
    difference = first_difference(ours, baseline)
    print(f"read back with openpyxl in {time.perf_counter() - start:.1f} s: ", end="")
    print(f"FAIL, {difference}" if difference else "every cell has the same value and type")

    if not args.skip_merged:
        merged = merged_table(args.rows)
        _, merged_s = best_time(lambda: to_xlsx_bytes(merged), args.repeat)
        _, merged_baseline_s = best_time(lambda: per_cell_xlsx_bytes(merged), args.repeat)
        print(
            f"merged table of bench_merge.py ({merged.shape[1]} columns): {merged_s:.3f} s, "
            f"per-cell {merged_baseline_s:.3f} s ({merged_baseline_s / merged_s:.1f}x)"
        )
    return 0 if ours_s <= args.budget and difference is None else 1


if __name__ == "__main__":
    sys.exit(main())
