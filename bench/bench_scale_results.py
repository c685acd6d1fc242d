"""Bench: `merge`, `download` and a finished job's `status` at 10k / 100k / 1M rows, side by side.

For each size, writes (once, cached under a temp directory) an input CSV of ~145-character
prompts and its chat batches' output and error files in OpenAI's line format, 50,000 requests
a batch (lines shuffled; 1% HTTP errors, 1% expired, 0.5% of rows never reported). Then, for
this tree and `--other` in turns, builds a registry with each tree's own code (its own
BATCHDASH_DATA_DIR: the schemas may differ) holding a finished job whose results are fetched,
runs one `status` so the job's merged table is kept, and times these CLI runs as child
processes, reporting wall time, CPU time (user + system) and peak RSS of each (os.wait4's
rusage of that child):

    status JOB            (the batches are terminal: nothing is asked of the API)
    download JOB --out x.csv / x.xlsx
    merge INPUT --results FILES --out x.csv / x.xlsx

OPENAI_BASE_URL points at a stub server the bench starts on 127.0.0.1, which answers a batch
retrieve with the completed batch (no command here should need it), and stops at the end. The
CSVs of both trees must be byte for byte the same, or the bench says so and exits 1.

    .venv/bin/python bench/bench_scale_results.py --other /work/base13 \
        [--rows 10000 100000 1000000] [--rounds 1] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.bench_merge import result_lines  # noqa: E402

PER_BATCH = 50_000
WORDS = ("the", "parcel", "arrived", "late", "and", "the", "box", "was", "damaged", "but")
TEMPLATE = "Classify the review {review} from {customer}"
API_KEY = "sk-bench-scale"

# Run in each tree's interpreter with that tree's dashboard/ on sys.path: a job of the input's
# rows with one finished batch per PER_BATCH rows, its files fetched. Prints the job id.
BUILD = """
import json, sys
from pathlib import Path
from batchdash.inputs.reading import read_table
from batchdash.recipe import Recipe
from batchdash.registry.records import PartSpec
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope, read_settings
import os

spec = json.loads(sys.argv[1])
settings = read_settings(os.environ)
registry = Registry.from_settings(settings)
path = Path(spec["input"])
frame = read_table(path.read_bytes(), path.name).frame
recipe = Recipe(model="gpt-4o-mini", template=spec["template"])
per = spec["per_batch"]
parts = [
    PartSpec(requests=min(per, len(frame) - first), first_row=first,
             stop_row=min(first + per, len(frame)))
    for first in range(0, len(frame), per)
]
scope = owner_scope(settings.api_key, settings.base_url)
job = registry.create_job(scope, "scale", recipe, frame, source_name=path.name, parts=parts,
                          state="active")
for part, (output, errors) in zip(registry.parts(job.id), spec["files"], strict=True):
    batch_id = f"batch_scale_{part.number:03d}"
    registry.mark_part_uploaded(part.id, f"file-in-{part.number}")
    registry.mark_part_created(part.id, batch_id)
    registry.save_snapshot(batch_id, {
        "id": batch_id, "status": "completed", "endpoint": "/v1/chat/completions",
        "input_file_id": f"file-in-{part.number}", "output_file_id": f"file-out-{part.number}",
        "error_file_id": f"file-err-{part.number}", "completion_window": "24h",
        "created_at": 1760000000, "completed_at": 1760000600,
        "request_counts": {"total": part.requests, "completed": part.requests, "failed": 0},
        "metadata": {"batchdash_job": job.id},
    })
    registry.save_results(batch_id, Path(output), Path(errors))
print(job.id)
"""


@dataclass(frozen=True)
class Inputs:
    """One size's input table and result files."""

    rows: int
    input: Path
    #: (output, errors) per batch, in part order.
    files: list[tuple[Path, Path]]


def make_inputs(rows: int, cache: Path) -> Inputs:
    """The input CSV and result files of `rows` rows, written once under `cache`."""
    folder = cache / f"rows-{rows}"
    batches = (rows + PER_BATCH - 1) // PER_BATCH
    files = [
        (folder / f"output-{k:03d}.jsonl", folder / f"errors-{k:03d}.jsonl") for k in range(batches)
    ]
    inputs = Inputs(rows, folder / "input.csv", files)
    done = folder / "done"
    if done.exists():
        return inputs
    folder.mkdir(parents=True, exist_ok=True)
    with inputs.input.open("w", encoding="utf-8", newline="") as table:
        table.write("customer,review\r\n")
        for n in range(1, rows + 1):
            review = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(19 + n % 4))
            table.write(f"customer {n},Review {n}: {review}\r\n")
    rng = random.Random(1)
    for k, (output_path, errors_path) in enumerate(files):
        numbers = range(k * PER_BATCH + 1, min((k + 1) * PER_BATCH, rows) + 1)
        output, errors = result_lines(numbers, rng)
        output_path.write_bytes(b"\n".join(output) + b"\n")
        errors_path.write_bytes(b"\n".join(errors) + b"\n" if errors else b"")
    done.write_text("ok")
    return inputs


class _Batches(BaseHTTPRequestHandler):
    """Answers a batch retrieve with the completed batch and a file delete (a finished job's
    input files are deleted) with success; anything else with 404."""

    def do_GET(self) -> None:
        parts = self.path.rstrip("/").split("/")
        if len(parts) == 4 and parts[2] == "batches":
            body = {
                "id": parts[3],
                "object": "batch",
                "status": "completed",
                "endpoint": "/v1/chat/completions",
                "input_file_id": "file-in",
                "completion_window": "24h",
                "created_at": 1760000000,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }
            self._send(200, body)
        else:
            self._send(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})

    def do_DELETE(self) -> None:
        parts = self.path.rstrip("/").split("/")
        if len(parts) == 4 and parts[2] == "files":
            self._send(200, {"id": parts[3], "object": "file", "deleted": True})
        else:
            self._send(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})

    def _send(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds, peak RSS in MB, exit status, its stdout."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    status: int
    stdout: str


def run_child(tree: Path, args: list[str], env: dict[str, str], log: Path) -> Run:
    """`python dashboard/cli.py ARGS` (or `python -c`) in `tree`; its own rusage via wait4."""
    start = time.perf_counter()
    with (log.with_suffix(".out")).open("wb") as out, (log.with_suffix(".err")).open("wb") as err:
        child = subprocess.Popen([sys.executable, *args], cwd=tree, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    text = log.with_suffix(".out").read_text(encoding="utf-8", errors="replace")
    if child.returncode:
        error = log.with_suffix(".err").read_text(encoding="utf-8", errors="replace")
        print(f"  {tree.name}: {' '.join(args[:3])} exited {child.returncode}: {error[-600:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, usage.ru_maxrss / 1024, child.returncode, text)


def tree_env(tree: Path, data_dir: Path, base_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BATCHDASH_", "OPENAI_", "PYTHON"))
    }
    env |= {
        "BATCHDASH_DATA_DIR": str(data_dir),
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": base_url,
        "PYTHONPATH": str(tree / "dashboard"),
    }
    return env


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=1, help="runs of each command per tree")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bd-scale")
    parser.add_argument("--keep", action="store_true", help="keep the registries and files")
    args = parser.parse_args()
    trees = {"this": ROOT, "other": args.other.resolve()}

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Batches)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    work = Path(tempfile.mkdtemp(prefix="bd-scale-run-"))
    failed = False
    try:
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at start")
        for rows in args.rows:
            inputs = make_inputs(rows, args.cache)
            size_mb = sum(p.stat().st_size for pair in inputs.files for p in pair) / 1e6
            print(f"\n{rows:,} rows: result files {size_mb:.0f} MB in {len(inputs.files)} batches")
            failed |= bench_size(inputs, trees, work / f"rows-{rows}", base_url, args.rounds)
        print(f"\nload average {os.getloadavg()[0]:.2f} at end")
    finally:
        server.shutdown()
        server.server_close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 1 if failed else 0


def bench_size(
    inputs: Inputs, trees: dict[str, Path], work: Path, base_url: str, rounds: int
) -> bool:
    """Build each tree's registry, run every command in turns; True when the CSVs differ."""
    envs: dict[str, dict[str, str]] = {}
    jobs: dict[str, str] = {}
    for name, tree in trees.items():
        data_dir = work / name
        data_dir.mkdir(parents=True)
        envs[name] = tree_env(tree, data_dir, base_url)
        spec = {
            "input": str(inputs.input),
            "template": TEMPLATE,
            "per_batch": PER_BATCH,
            "files": [[str(o), str(e)] for o, e in inputs.files],
        }
        built = run_child(tree, ["-c", BUILD, json.dumps(spec)], envs[name], data_dir / "build")
        jobs[name] = built.stdout.strip()
        first = run_child(
            tree, ["dashboard/cli.py", "status", jobs[name]], envs[name], data_dir / "first"
        )
        print(
            f"  {name:5s} registry built in {built.seconds:.1f} s; first status (merges, keeps "
            f"the table) {first.seconds:.1f} s ({first.cpu_seconds:.1f} s CPU), "
            f"{first.peak_mb:,.0f} MB"
        )
    results_files = [str(p) for pair in inputs.files for p in pair]
    commands = {
        "status": lambda job, out: ["status", job],
        "download csv": lambda job, out: ["download", job, "--out", str(out / "download.csv")],
        "download xlsx": lambda job, out: ["download", job, "--out", str(out / "download.xlsx")],
        "merge csv": lambda job, out: [
            "merge",
            str(inputs.input),
            "--results",
            *results_files,
            "--out",
            str(out / "merge.csv"),
        ],
        "merge xlsx": lambda job, out: [
            "merge",
            str(inputs.input),
            "--results",
            *results_files,
            "--out",
            str(out / "merge.xlsx"),
        ],
    }
    figures: dict[tuple[str, str], list[Run]] = {}
    for label, command in commands.items():
        for _round in range(rounds):
            for name, tree in trees.items():
                out = work / name
                argv = ["dashboard/cli.py", *command(jobs[name], out)]
                run = run_child(tree, argv, envs[name], out / label.replace(" ", "-"))
                figures.setdefault((label, name), []).append(run)
    print(f"  {'command':14s} {'this tree':>31s} {'other tree':>31s}  time ratio")
    print(f"  load average {os.getloadavg()[0]:.2f}")
    for label in commands:
        cells = []
        for name in trees:
            runs = figures[(label, name)]
            best = min(runs, key=lambda r: r.seconds)
            peak = max(r.peak_mb for r in runs)
            mark = "" if all(r.status == 0 for r in runs) else " FAILED"
            described = f"{best.seconds:6.1f} s ({best.cpu_seconds:5.1f} s CPU) {peak:7,.0f} MB"
            cells.append((best.seconds, described + mark))
        ratio = cells[1][0] / cells[0][0] if cells[0][0] else float("nan")
        print(f"  {label:14s} {cells[0][1]:>31s} {cells[1][1]:>31s}  {ratio:.2f}x")
    differs = False
    for file in ("download.csv", "merge.csv"):
        this, other = (work / name / file for name in trees)
        if this.exists() and other.exists() and digest(this) != digest(other):
            print(f"  FAIL: {file} differs between the trees")
            differs = True
    if not differs:
        print("  the CSVs of both trees are byte for byte the same")
    for file in () if differs else ("download.xlsx", "merge.xlsx", "download.csv", "merge.csv"):
        for name in trees:
            (work / name / file).unlink(missing_ok=True)
    return differs


if __name__ == "__main__":
    sys.exit(main())
