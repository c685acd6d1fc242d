"""Bench: `cli.py convert` of 10k / 100k / 1M rows as CSV and XLSX, this tree beside another.

Generates the inputs once (cached in `--cache`, default a folder under the temp directory):
an `id` column and a `prompt` of about 145 characters of English prose per row, as CSV and as
XLSX (xlsxwriter in constant-memory mode). Then runs `python dashboard/cli.py convert` of this
tree and of `--other` (the tree before the change) as child processes in turns, with this
tree's interpreter, and reports each run's wall time, CPU time (user + system: the figure to
compare when other work shares the cores) and peak RSS (the child's own `ru_maxrss`).

Also times the refusals that must stay cheap: a workbook with a value in its far corner
(XFD100000) and a CSV whose 5,000-column header stands over 1M one-cell rows. And, with
`--long`, a ~200 MB CSV of long, escape-heavy cells (quotes, commas and line breaks in cells),
where convert's memory depends on how many bytes a chunk of rows holds.

    .venv/bin/python bench/bench_scale_convert.py --other /work/base13 \
        [--sizes 10000,100000,1000000] [--kinds csv,xlsx] [--rounds 1] [--long] \
        [--skip-other-above 100000] [--refusals] [--floor]

Prints one line per run and a table of medians; the refusals are also timed inside a process
that has imported the readers already (the refusal itself, without the interpreter's start).
`--floor` adds, for each XLSX input, the CPU time no exact convert can go below (see `floor`)
and how far below the other tree's that is: the most any speed-up can be.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench")]

from bench_convert import prose  # noqa: E402

TEMPLATE = "Answer in one word: {prompt}"
PROMPT_CHARS = 145


@dataclass(frozen=True)
class Run:
    """One child process: its wall time, peak memory and how it ended."""

    seconds: float
    cpu_seconds: float
    """User and system time of the child: what the work costs whatever else shares the cores."""
    peak_bytes: int
    returncode: int
    stderr: str


def prompts(count: int, seed: int = 7) -> list[str]:
    """`count` windows of about PROMPT_CHARS characters of prose, each made unique."""
    text, rng = prose(), random.Random(seed)
    out = []
    for n in range(count):
        start = rng.randrange(len(text) - 2 * PROMPT_CHARS)
        out.append(f"{text[start : start + PROMPT_CHARS - 8].strip()} (#{n})")
    return out


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt"])
        for n, prompt in enumerate(prompts(rows), start=1):
            writer.writerow([f"{n:07d}", prompt])


def write_xlsx(path: Path, rows: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Prompts")
    sheet.write_row(0, 0, ["id", "prompt"])
    for n, prompt in enumerate(prompts(rows), start=1):
        sheet.write_string(n, 0, f"{n:07d}")
        sheet.write_string(n, 1, prompt)
    book.close()


def write_long_csv(path: Path, megabytes: int) -> None:
    """Long cells full of what CSV must escape: quotes, commas, line breaks."""
    text, rng = prose(), random.Random(11)
    target = megabytes * 1_000_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt"])
        n = 0
        while handle.tell() < target:
            n += 1
            length = rng.randrange(2_000, 12_000)
            start = rng.randrange(len(text) - length)
            cell = text[start : start + length]
            cell = cell.replace(". ", '." "\n').replace(" a ", ' "a", ')
            writer.writerow([str(n), cell])


def write_far_corner(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"], sheet["A2"], sheet["XFD100000"] = "prompt", "Name a fruit", "stray"
    book.save(path)


def write_ragged(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(f"c{n}" for n in range(5_000)) + "\n")
        handle.write("x\n" * 1_000_000)


def cached(cache: Path, name: str, make: object) -> Path:
    path = cache / name
    if not path.exists():
        partial = path.with_suffix(path.suffix + ".partial")
        started = time.perf_counter()
        make(partial)  # type: ignore[operator]
        partial.rename(path)
        print(f"made {name} ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    return path


def convert(tree: Path, source: Path, out_dir: Path) -> Run:
    """`cli.py convert` of `tree` on `source`: wall time and the child's peak RSS.

    The peak is the child's own `ru_maxrss` from wait4. Linux starts a child's count at the
    size of the process that forked it, so this script stays small: the inputs are made in
    a child of their own.
    """
    command = [sys.executable, str(tree / "dashboard" / "cli.py"), "convert", str(source)]
    command += ["--template", TEMPLATE, "--model", "gpt-4o-mini", "--out-dir", str(out_dir)]
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=tree, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        lines = errors.read().strip().splitlines()
    for part in out_dir.glob("part-*.jsonl"):
        part.unlink()
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, usage.ru_maxrss * 1024, child.returncode, lines[-1] if lines else "")


REFUSAL_CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, "dashboard")
from batchdash.errors import InputError
from batchdash.inputs.reading import read_table
data = Path(sys.argv[1]).read_bytes()
Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
started = time.perf_counter()
try:
    read_table(data, Path(sys.argv[1]).name)
    said = "not refused"
except InputError as error:
    said = str(error)
seconds = time.perf_counter() - started
peak = next(line for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:"))
print(f"{seconds:.3f} {int(peak.split()[1]) // 1024} {said[:80]}")
"""


def refusal_in_process(tree: Path, source: Path) -> str:
    """read_table's refusal timed inside a process that has already imported the readers: the
    seconds and peak RSS (MB) of the refusal itself, without the interpreter's start."""
    done = subprocess.run(
        [sys.executable, "-c", REFUSAL_CHILD, str(source)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds, megabytes, said = (done.stdout.strip() or "? ? " + done.stderr[-80:]).split(" ", 2)
    return f"read_table refused in {seconds} s, process peak {megabytes} MB: {said}"


FLOOR_CHILD = """
import json, sys, time
sys.path.insert(0, "dashboard")
import python_calamine
from rs_bpe import openai
part, source, template = sys.argv[1:4]
def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu
def read():
    book = python_calamine.CalamineWorkbook.from_path(source)
    return book.get_sheet_by_index(0).to_python()
rows, wall, cpu = timed(read)
if part == "count":
    texts = [template.format(prompt=row[1]) for row in rows[1:]]
    count = openai.o200k_base().count
    counts, wall, cpu = timed(lambda: [count(t) for t in texts])
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def floor(tree: Path, source: Path) -> dict[str, float]:
    """The CPU seconds no exact convert of `source` can go below, each measured on its own:
    the interpreter importing Arrow, the reader and the tokenizer, calamine reading the sheet into
    Python rows (the fastest reader here), and rs-bpe (the fastest exact counter here) counting
    the rendered prompts in one thread (exact counts need every token of every prompt; two cores
    halve the wall time of this part at best, not its CPU time)."""
    start = [sys.executable, "-c", "import pyarrow, python_calamine, rs_bpe"]
    subprocess.run(start, cwd=tree, check=True)  # the first start also fills the file cache
    child = subprocess.Popen(start, cwd=tree)
    _, _, usage = os.wait4(child.pid, 0)
    figures = {"start": usage.ru_utime + usage.ru_stime}
    for part in ("read", "count"):
        done = subprocess.run(
            [sys.executable, "-c", FLOOR_CHILD, part, str(source), TEMPLATE],
            cwd=tree,
            check=True,
            capture_output=True,
            text=True,
        )
        figures[part] = json.loads(done.stdout)["cpu"]
    return figures


def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load} (1, 5, 15 min)"
    )


MAKERS = {"csv": write_csv, "xlsx": write_xlsx}


def make_inputs(cache: Path, sizes: list[int], kinds: list[str], long_mb: int | None) -> None:
    """Write every input not yet cached (runs in a child, see `convert`)."""
    cache.mkdir(parents=True, exist_ok=True)
    for rows in sizes:
        for kind in kinds:
            cached(cache, f"rows-{rows}.{kind}", lambda path, r=rows, k=kind: MAKERS[k](path, r))
    cached(cache, "far-corner.xlsx", write_far_corner)
    cached(cache, "ragged.csv", write_ragged)
    if long_mb:
        cached(cache, f"long-{long_mb}mb.csv", lambda path: write_long_csv(path, long_mb))


def short(run: Run) -> str:
    ended = "" if run.returncode == 0 else f", exit {run.returncode}: {run.stderr[:90]}"
    return (
        f"{run.seconds:6.1f} s (CPU {run.cpu_seconds:6.1f} s) {run.peak_bytes / 1e6:6.0f} MB{ended}"
    )


def figures(runs: list[Run]) -> str:
    wall = statistics.median(run.seconds for run in runs)
    cpu = statistics.median(run.cpu_seconds for run in runs)
    return f"{wall:.1f} s ({cpu:.1f} s), {max(run.peak_bytes for run in runs) / 1e6:.0f} MB"


def wall_of(run: Run) -> float:
    return run.seconds


def cpu_of(run: Run) -> float:
    return run.cpu_seconds


def ratio(other: list[Run], this: list[Run], seconds: Callable[[Run], float]) -> float:
    """How many times the other tree's median `seconds` this tree's is."""
    return statistics.median(map(seconds, other)) / statistics.median(map(seconds, this))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="csv,xlsx")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--long", type=int, nargs="?", const=200, default=None, metavar="MB")
    parser.add_argument("--refusals", action="store_true")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time, for each XLSX input, what no exact convert can go below",
    )
    parser.add_argument(
        "--skip-other-above",
        type=int,
        default=None,
        metavar="ROWS",
        help="run the other tree only once (first round) on inputs larger than this",
    )
    parser.add_argument(
        "--trees", choices=("both", "this", "other"), default="both", help="which trees to run"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "scale-bench")
    parser.add_argument("--make", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if args.make:
        make_inputs(args.cache, sizes, kinds, args.long)
        return 0
    subprocess.run([sys.executable, __file__, "--make", *sys.argv[1:]], check=True)

    inputs = [(f"{kind} {rows:,} rows", args.cache / f"rows-{rows}.{kind}", rows) for rows in sizes
              for kind in kinds]  # fmt: skip
    if args.long:
        inputs.append((f"long cells {args.long} MB CSV", args.cache / f"long-{args.long}mb.csv", 0))
    if args.refusals:
        inputs += [
            ("far-corner XLSX (refused)", args.cache / "far-corner.xlsx", 0),
            ("ragged CSV, 5,000 x 1M (refused)", args.cache / "ragged.csv", 0),
        ]
    trees = {"this": ROOT, "other": args.other.resolve()}
    if args.trees != "both":
        trees = {args.trees: trees[args.trees]}
    print(f"machine: {machine()}")
    print(f"trees: {trees}", flush=True)
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = Path(scratch)
        for round_number in range(1, args.rounds + 1):
            for label, source, rows in inputs:
                for name, tree in trees.items():
                    big = args.skip_other_above is not None and rows > args.skip_other_above
                    if name == "other" and big and round_number > 1:
                        continue
                    run = convert(tree, source, out_dir)
                    results.setdefault((label, name), []).append(run)
                    print(f"round {round_number} {label:34} {name:5} {short(run)}", flush=True)
    if args.refusals:
        for label, source, _rows in inputs[-2:]:
            for name, tree in trees.items():
                print(f"{label:34} {name:5} {refusal_in_process(tree, source)}", flush=True)
    floors = {}
    if args.floor:
        for label, source, rows in inputs:
            if source.suffix == ".xlsx" and rows:
                floors[label] = parts = floor(ROOT, source)
                print(f"{label:34} floor: " + ", ".join(
                    f"{name} {seconds:.2f} CPU-s" for name, seconds in parts.items()), flush=True)  # fmt: skip
    print(f"\nmachine after: {machine()}")
    print(
        "\nmedian wall time (median CPU time), largest peak RSS; speed-up of the wall time (what"
        " the analyst waits) and of the CPU time (the work, over every process of the command)"
    )
    print(f"\n| input | this tree | {args.other.name} | speed-up: wall | CPU |")
    print("| --- | --- | --- | --- | --- |")
    for label, _source, _rows in inputs:
        this, other = results.get((label, "this"), []), results.get((label, "other"), [])
        cells = [figures(this) if this else "-"]
        if other and this:
            cells += [figures(other)] + [
                f"{ratio(other, this, seconds):.1f}x" for seconds in (wall_of, cpu_of)
            ]
        elif other:
            cells += [figures(other), "-", "-"]
        else:
            cells += ["-", "-", "-"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for label, parts in floors.items():
        least = sum(parts.values())
        other = results.get((label, "other"), [])
        said = f"{label}: no exact convert can take less than {least:.2f} CPU-s"
        if other:
            other_cpu = statistics.median(run.cpu_seconds for run in other)
            said += f", {other_cpu / least:.1f}x below {args.other.name}'s {other_cpu:.1f} CPU-s"
        print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
