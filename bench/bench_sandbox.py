"""Bench: the sandbox runs a 50,000-request chat batch at unlimited rate.

Starts the sandbox in a child process on a free 127.0.0.1 port, uploads the file with the openai
SDK, creates the batch, polls it to `completed` and streams the output file to disk. Prints the
time of each phase and the server's peak resident memory (VmHWM from /proc, so Linux only).

    .venv/bin/python bench/bench_sandbox.py [--requests 50000] [--limit-seconds 20]

Exits 1 when the batch takes longer than the limit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import psutil
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "dashboard")]

from sandbox.server import sandbox_process  # noqa: E402

WORDS = ("the", "parcel", "arrived", "late", "and", "the", "box", "was", "damaged", "but")


def input_file(requests: int) -> bytes:
    """A chat batch file of `requests` lines with varied prompts."""
    lines = []
    for n in range(1, requests + 1):
        prompt = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(12 + n % 20))
        body = {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Classify the review as positive or negative."},
                {"role": "user", "content": f"Review {n}: {prompt}"},
            ],
            "max_tokens": 50,
        }
        line = {"custom_id": f"row-{n}", "method": "POST", "url": "/v1/chat/completions"}
        lines.append(json.dumps({**line, "body": body}))
    return ("\n".join(lines) + "\n").encode()


def peak_rss_bytes(pid: int) -> int:
    """The high-water mark of a process's resident memory (VmHWM in /proc, Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("This bench reads peak memory from /proc and needs Linux.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--limit-seconds", type=float, default=20.0)
    args = parser.parse_args()

    data = input_file(args.requests)
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(Path(tmp) / "sandbox") as (server, base_url),
    ):
        client = OpenAI(api_key="sk-bench", base_url=base_url)
        idle_rss = psutil.Process(server.pid).memory_info().rss
        started = time.perf_counter()
        uploaded = client.files.create(
            file=("bench.jsonl", data, "application/jsonl"), purpose="batch"
        )
        upload_done = time.perf_counter()
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            time.sleep(0.1)
            batch = client.batches.retrieve(batch.id)
        batch_done = time.perf_counter()
        if batch.status != "completed" or batch.output_file_id is None:
            print(f"The batch ended {batch.status}: {batch.errors}", file=sys.stderr)
            return 1
        out = Path(tmp) / "output.jsonl"
        with client.files.with_streaming_response.content(batch.output_file_id) as response:
            response.stream_to_file(out)
        download_done = time.perf_counter()
        peak_rss = peak_rss_bytes(server.pid)
        with out.open("rb") as handle:
            output_lines = sum(1 for _ in handle)
        output_bytes = out.stat().st_size

    total = batch_done - started
    counts = batch.request_counts
    completed = counts.completed if counts else 0
    print(f"requests             {args.requests:,} ({len(data) / 1e6:.1f} MB input)")
    print(f"upload               {upload_done - started:.2f} s")
    print(f"create to completed  {batch_done - upload_done:.2f} s")
    print(f"upload to completed  {total:.2f} s (limit {args.limit_seconds:.0f} s)")
    print(
        f"download output      {download_done - batch_done:.2f} s "
        f"({output_lines:,} lines, {output_bytes / 1e6:.1f} MB)"
    )
    print(f"completed requests   {completed:,}")
    print(f"server RSS           idle {idle_rss / 2**20:.0f} MiB, peak {peak_rss / 2**20:.0f} MiB")
    if output_lines != args.requests or completed != args.requests:
        print(f"The output holds {output_lines:,} lines, not {args.requests:,}.", file=sys.stderr)
        return 1
    return 0 if total <= args.limit_seconds else 1


if __name__ == "__main__":
    sys.exit(main())
