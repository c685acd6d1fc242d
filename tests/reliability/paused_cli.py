"""The CLI, made to stop dead at a named point so that a test can kill it there (SIGKILL).

    python tests/reliability/paused_cli.py POINT MARKER [--lease SECONDS] -- COMMAND ARGS...

At POINT the process writes MARKER (JSON: the point and the job id when known) and sleeps until
it is killed. Points:

- "uploaded": part 1's input file is at the API; the registry does not know its id yet.
- "created": part 1's batch exists at the API; the registry does not know it yet.
- "polled": a refresh has read the batches' fresh states; none is saved yet.
- "fetching": the first chunk of a result file is on disk; the rest is not read yet.
- "none": never stops (the CLI as it is, with the lease given).

`--lease` shortens the hold a submitter's heartbeat renews on a part (`DEFAULT_LEASE` when not
given) and the minute a refresh leaves a part whose create lost its answer; a killed submitter
of this machine is recognised at once anyway. `--enqueued-token-limit`
splits a small job into parts, as the page's setting of that name does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import cli_jobs

import cli
from batchdash.api.batch_tags import JOB_TAG, PART_TAG
from batchdash.api.gateway import Gateway
from batchdash.jobs import following
from batchdash.jobs.service import JobService

POINTS = ("uploaded", "created", "polled", "fetching", "none")


def pause(marker: Path, point: str, **facts: Any) -> None:
    """Tell the test where the process stands, then wait to be killed."""
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(json.dumps({"point": point, **facts}))
    os.replace(temporary, marker)
    while True:
        time.sleep(60)


def install(point: str, marker: Path) -> None:
    """Patch the one place where `point` lies."""
    if point == "uploaded":
        upload: Callable[..., str] = Gateway.upload_part

        def upload_then_pause(self: Gateway, name: str, data: bytes, **options: Any) -> str:
            file_id = upload(self, name, data, **options)
            if name.endswith("-part-0001.jsonl"):
                pause(marker, point, job_id=name.removesuffix("-part-0001.jsonl"), file=file_id)
            return file_id

        Gateway.upload_part = upload_then_pause  # type: ignore[method-assign]
    elif point == "created":
        create: Callable[..., Any] = Gateway.create_batch

        def create_then_pause(self: Gateway, *args: Any, **options: Any) -> Any:
            batch = create(self, *args, **options)
            if batch.metadata.get(PART_TAG) == "1":
                pause(marker, point, job_id=batch.metadata[JOB_TAG], batch=batch.id)
            return batch

        Gateway.create_batch = create_then_pause  # type: ignore[method-assign]
    elif point == "polled":
        poll = following.poll_batches

        def poll_then_pause(gateway: Gateway, wanted: Any, **options: Any) -> Any:
            found = poll(gateway, wanted, **options)
            pause(marker, point, statuses={i: info.status for i, info in found.items()})
            return found

        following.poll_batches = poll_then_pause
    elif point == "fetching":
        download: Callable[..., int] = Gateway.download_file

        def download_and_pause(self: Gateway, file_id: str, dest: Path, **_options: Any) -> int:
            def first_chunk(done: int, _total: int | None) -> None:
                pause(marker, point, file=file_id, bytes=done)

            return download(self, file_id, dest, on_progress=first_chunk)

        Gateway.download_file = download_and_pause  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("point", choices=POINTS)
    parser.add_argument("marker", type=Path)
    parser.add_argument("--lease", type=float)
    parser.add_argument("--enqueued-token-limit", type=int)
    split = sys.argv.index("--")
    args = parser.parse_args(sys.argv[1:split])
    command = sys.argv[split + 1 :]
    install(args.point, args.marker)
    make_service = cli_jobs.job_service

    def short_leased() -> JobService:
        service = make_service()
        if args.lease is not None:
            service.claim_lease = timedelta(seconds=args.lease)
            service.resume_after = timedelta(seconds=args.lease)
        if args.enqueued_token_limit:
            limit = args.enqueued_token_limit
            service.create_job = partial(service.create_job, enqueued_token_limit=limit)  # type: ignore[method-assign]
        return service

    cli_jobs.job_service = short_leased
    return cli.main(command)


if __name__ == "__main__":
    sys.exit(main())
