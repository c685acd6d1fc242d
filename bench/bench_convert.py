"""Bench: a spreadsheet converted into batch input files, against a naive baseline.

Speed: 50,000 rows of ~300-character prompts (a template with two placeholders over varied
English prose, with accented and CJK names), through `plan_batch` (checks, exact token counts,
cost, split) and `part_bytes` of every part; in the same run a naive version: `iterrows`,
`str.format`, the cookbook's per-row message token count and `json.dumps` per row. Both must
produce the same bytes and token total. Best of `--repeat` runs each.

Memory: a generated CSV of `--memory-mb` MB read with `read_table`, planned and written to
part files (`write_part`) in a child process, whose peak RSS (interpreter and libraries
included) must stay within 3x the file's size. The peak is reported per phase.

    .venv/bin/python bench/bench_convert.py [--rows 50000] [--repeat 3] [--budget 2.0]
        [--memory-mb 200] [--skip-memory]

Exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from pydoc_data.topics import topics
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard"), str(ROOT)]

from batchdash.inputs.reading import read_table  # noqa: E402
from batchdash.preflight import tokens  # noqa: E402
from batchdash.preflight.plan import plan_batch  # noqa: E402
from batchdash.recipe import Recipe  # noqa: E402

RECIPE = Recipe(
    model="gpt-4o-mini",
    system_prompt="You are a support analyst. Answer with one word.",
    template=(
        "Customer {customer} wrote the message below. Is it positive, negative or mixed?"
        "\n\nMessage: {review}"
    ),
    max_output_tokens=5,
)
SPEED_BUDGET_S = 2.0
SPEEDUP_MIN = 3.0
MEMORY_FACTOR_MAX = 3.0

NAMES = [
    "Anna Schmidt", "José García", "Zoë Dubois", "Søren Madsen", "Łucja Nowak", "Ana Ivanović",
    "Aiko Tanaka", "王伟", "李娜", "김민준", "Olu Adeyemi", "Priya Sharma", "John O'Neil",
]  # fmt: skip
NON_ENGLISH = [
    "Die Lieferung kam zwei Tage zu spät, aber der Kundendienst war sehr freundlich.",
    "Le colis est arrivé abîmé ; l'emballage était déchiré.",
    "El producto funciona bien, aunque la batería dura poco.",
    "快递很快，包装也很好，但是说明书只有英文。",
    "商品は期待通りでしたが、配送に時間がかかりました。",
]


def prose() -> str:
    """Python's own documentation as running English prose (code examples left out)."""
    kept = []
    for topic in topics.values():
        for line in topic.splitlines():
            text = line.strip()
            if text and not line.startswith((" ", "\t")) and any(c.isalpha() for c in text):
                kept.append(text)
    return " ".join(kept)


def reviews(count: int, length: int, seed: int) -> list[str]:
    """`count` different windows of about `length` characters, some led by another language."""
    text, rng = prose(), random.Random(seed)
    out = []
    for _ in range(count):
        start = text.find(" ", rng.randrange(len(text) - 2 * length)) + 1
        stop = text.rfind(" ", start, start + length + rng.randrange(-length // 5, length // 5))
        window = text[start:stop]
        if rng.random() < 0.1:
            window = f"{rng.choice(NON_ENGLISH)} {window}"
        out.append(window)
    return out


def speed_table(rows: int) -> pd.DataFrame:
    rng = random.Random(2)
    return pd.DataFrame(
        {
            "customer": [f"{rng.choice(NAMES)} #{rng.randrange(10_000)}" for _ in range(rows)],
            "review": reviews(rows, 175, seed=3),
        },
        dtype=str,
    )


def batchdash_convert(frame: pd.DataFrame) -> tuple[bytes, int]:
    plan = plan_batch(frame, RECIPE)
    assert plan.ok, plan.problems
    return b"".join(plan.part_bytes(part.number) for part in plan.parts), plan.input_tokens


def naive_convert(frame: pd.DataFrame) -> tuple[bytes, int]:
    """What one would write first: a loop over rows doing everything per row."""
    enc = tokens.encoding_for_model(RECIPE.model)
    lines, total = [], 0
    for position, (_, row) in enumerate(frame.iterrows(), start=1):
        prompt = RECIPE.template.format(**row)
        messages = [
            {"role": "system", "content": RECIPE.system_prompt},
            {"role": "user", "content": prompt},
        ]
        # The OpenAI cookbook's num_tokens_from_messages.
        count = tokens.TOKENS_PER_REPLY
        for message in messages:
            count += tokens.TOKENS_PER_MESSAGE
            count += sum(len(enc.encode(value)) for value in message.values())
        total += count
        line = {
            "custom_id": f"row-{position}",
            "method": "POST",
            "url": RECIPE.endpoint,
            "body": {
                "model": RECIPE.model,
                "messages": messages,
                "max_completion_tokens": RECIPE.max_output_tokens,
            },
        }
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8"), total


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def write_big_csv(path: Path, megabytes: int) -> int:
    """A CSV of about `megabytes` MB: an ID, a customer, a country, a date, stars and a review."""
    rng = random.Random(4)
    pool = reviews(20_000, 380, seed=5)
    countries = ["DE", "FR", "ES", "CN", "JP", "KR", "NG", "IN", "US", "PL"]
    target = megabytes * 1_000_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "customer", "country", "date", "stars", "review"])
        n = 0
        while handle.tell() < target:
            n += 1
            writer.writerow(
                [
                    f"C{n:07d}",
                    rng.choice(NAMES),
                    rng.choice(countries),
                    f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    str(rng.randrange(1, 6)),
                    # Shuffled pool entries with a row number: every prompt differs.
                    f"{rng.choice(pool)} (order {n})",
                ]
            )
    return path.stat().st_size


def memory_status(field: str) -> int:
    """A size from /proc/self/status in bytes (VmRSS: now; VmHWM: peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} line")


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM) since start or `reset_peak`.

    Not getrusage's ru_maxrss: Linux carries the parent's high-water mark over into a child
    across fork and exec, so a child would report at least the parent's size.
    """
    return memory_status("VmHWM")


def reset_peak() -> None:
    """Start a new high-water mark at the current RSS (Linux's clear_refs, value 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def memory_child(csv_path: Path, out_dir: Path) -> None:
    """Read, plan and write parts; print the figures as JSON (runs in its own process).

    The peak is taken per phase, so the report shows which step sets the overall peak.
    """
    peaks = {"imports": peak_rss()}
    reset_peak()
    start = time.perf_counter()
    table = read_table(csv_path.read_bytes(), csv_path.name)
    peaks["read_table"] = peak_rss()
    read_s = time.perf_counter() - start
    rss_after_read = memory_status("VmRSS")
    table_bytes = int(table.frame.memory_usage(index=False, deep=True).sum())
    reset_peak()
    plan = plan_batch(table.frame, RECIPE)
    assert plan.ok, plan.problems
    written = 0
    for part in plan.parts:
        with (out_dir / f"part-{part.number:04d}.jsonl").open("wb") as handle:
            written += plan.write_part(part.number, handle)
    peaks["plan_and_parts"] = peak_rss()
    print(
        json.dumps(
            {
                "peaks": peaks,
                "rss_after_read": rss_after_read,
                "table_bytes": table_bytes,
                "rows": plan.rows,
                "parts": len(plan.parts),
                "jsonl_bytes": written,
                "input_tokens": plan.input_tokens,
                "read_seconds": read_s,
                "seconds": time.perf_counter() - start,
            }
        )
    )


def measure_memory(megabytes: int) -> tuple[int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as scratch:
        csv_path, out_dir = Path(scratch) / "input.csv", Path(scratch) / "parts"
        out_dir.mkdir()
        size = write_big_csv(csv_path, megabytes)
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(csv_path), str(out_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        return size, json.loads(child.stdout)


def machine() -> str:
    """Processor, cores and the load average, which says whether other work shared the cores."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load} (1, 5, 15 min)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=SPEED_BUDGET_S)
    parser.add_argument("--memory-mb", type=int, default=200)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0

    tokens.encoding_for_model(RECIPE.model)  # load the token tables outside the timings:
    tokens.counter_for_model(RECIPE.model)  # tiktoken's for the naive loop, rs-bpe's for the plan
    frame = speed_table(args.rows)
    prompt_chars = len(RECIPE.template.format(**frame.iloc[0]))
    mean_chars = int(frame["review"].str.len().mean() + frame["customer"].str.len().mean())
    fast_s, (fast_bytes, fast_tokens) = best_of(args.repeat, lambda: batchdash_convert(frame))
    naive_s, (naive_bytes, naive_tokens) = best_of(args.repeat, lambda: naive_convert(frame))
    same = fast_bytes == naive_bytes and fast_tokens == naive_tokens
    speedup = naive_s / fast_s
    print(f"machine: {machine()}")
    print(
        f"convert {args.rows:,} rows (first prompt {prompt_chars} chars, cells {mean_chars} chars "
        f"on average), {fast_tokens:,} input tokens, {len(fast_bytes) / 1e6:.1f} MB JSONL"
    )
    print(f"  batchdash plan_batch + part_bytes: {fast_s:.2f} s (best of {args.repeat})")
    print(f"  naive iterrows baseline:          {naive_s:.2f} s (best of {args.repeat})")
    print(f"  speed-up: {speedup:.1f}x; identical output: {'yes' if same else 'NO'}")
    failed = not same or fast_s > args.budget or speedup < SPEEDUP_MIN

    if not args.skip_memory:
        size, figures = measure_memory(args.memory_mb)
        peaks = figures["peaks"]
        factor = max(peaks.values()) / size
        print(
            f"memory: {size / 1e6:.0f} MB CSV, {figures['rows']:,} rows -> {figures['parts']} "
            f"parts, {figures['jsonl_bytes'] / 1e6:.0f} MB JSONL, "
            f"{figures['input_tokens']:,} tokens in {figures['seconds']:.1f} s "
            f"(read_table {figures['read_seconds']:.1f} s)"
        )
        print(
            f"  peak RSS {max(peaks.values()) / 1e6:.0f} MB = {factor:.2f}x the input; per phase: "
            + ", ".join(f"{name} {value / 1e6:.0f} MB" for name, value in peaks.items())
            + f" (RSS {figures['rss_after_read'] / 1e6:.0f} MB once the table is read, "
            f"{figures['table_bytes'] / 1e6:.0f} MB of it the table's text)"
        )
        failed = failed or factor > MEMORY_FACTOR_MAX
    print("FAILED: a budget was missed" if failed else "all budgets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
