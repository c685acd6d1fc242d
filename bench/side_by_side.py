"""Bench: the convert, merge and Jobs-page benchmarks of this tree and another, side by side.

Runs each benchmark script of both trees in turns (this tree, the other, this, ...) on the same
machine in one run, reads the figure each prints, and shows the median per tree and their
ratio. Made to check that moving code between modules changed no speed: point `--other` at a
`git worktree` of the commit before the move.

    git worktree add --detach /tmp/before <commit>
    .venv/bin/python bench/side_by_side.py --other /tmp/before [--rounds 3] [--limit 1.10]

Each tree's benchmark runs with that tree's own code and this tree's interpreter. Exits 1 when
a median of this tree is slower than the other's by more than `--limit` (a ratio).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    """One benchmark and the figure read from its output."""

    #: What is measured.
    name: str
    #: The script and its arguments, relative to a tree.
    command: tuple[str, ...]
    #: The figure in seconds (group 1), or in milliseconds when `milliseconds`.
    pattern: str
    milliseconds: bool = False


FIGURES = (
    Figure(
        "convert 50,000 rows",
        ("bench/bench_convert.py", "--repeat", "3", "--skip-memory"),
        r"batchdash plan_batch \+ part_bytes: ([\d.]+) s",
    ),
    Figure(
        "merge 50,000 result lines to CSV",
        ("bench/bench_merge.py", "--repeat", "3"),
        r"batchdash: ([\d.]+) s",
    ),
    Figure(
        "Jobs page refresh rerun (median)",
        ("bench/bench_jobs_page.py", "--repeat", "10"),
        r"rerun refreshing from the API: median (\d+) ms",
        milliseconds=True,
    ),
)


def measure(tree: Path, figure: Figure) -> float:
    """Run `figure`'s benchmark in `tree`; the figure it prints, in seconds."""
    done = subprocess.run(
        [sys.executable, *figure.command],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    found = re.search(figure.pattern, done.stdout)
    if found is None:
        raise SystemExit(f"{figure.name} in {tree} printed no figure:\n{done.stdout}{done.stderr}")
    value = float(found.group(1))
    return value / 1000 if figure.milliseconds else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=1.10, help="largest ratio allowed")
    args = parser.parse_args()
    trees = {"this tree": ROOT, "other tree": args.other.resolve()}
    failed = False
    for figure in FIGURES:
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                times[name].append(measure(tree, figure))
        this, other = (statistics.median(times[name]) for name in trees)
        ratio = this / other
        runs = "; ".join(f"{name} {', '.join(f'{t:.3f}' for t in times[name])}" for name in trees)
        print(f"{figure.name}: this {this:.3f} s, other {other:.3f} s, ratio {ratio:.2f} ({runs})")
        failed |= ratio > args.limit
    print("OK" if not failed else f"SLOWER than {args.limit:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
