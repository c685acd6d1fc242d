"""The progress engine: a background thread that validates, runs, finishes and expires batches.

Restart safety: a running batch appends its answers to work files in chunks, and only then
records, in one SQLite transaction, the input offset reached, the committed lengths of the work
files, the counts, the usage and the run counts of the requests. Before each chunk the work
files are cut back to their committed lengths, so a crash anywhere loses nothing and repeats no
line. Publishing the files renames them into place and is idempotent, so a crash while
finishing is completed on the next start.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from sandbox.api_errors import ApiErrorResponse
from sandbox.lines import (
    answered_line,
    iter_input_lines,
    not_run_line,
    output_file_id,
    request_key,
)
from sandbox.pace import PACE_TAG
from sandbox.store import BatchRecord, FileRecord, Store, now
from sandbox.validation import CountTokens, validate_input_file

log = logging.getLogger(__name__)

#: How long output files live when the batch did not say (OpenAI: 30 days).
DEFAULT_OUTPUT_EXPIRY_SECONDS = 30 * 24 * 3600
# Requests per chunk at unlimited rate: large enough to keep commits rare, small enough that a
# cancel is seen quickly and memory stays small.
CHUNK_REQUESTS = 1000
# Pause between passes when nothing could move (rate-limited or idle).
IDLE_SECONDS = 0.02


def paced_rate(metadata: Mapping[str, str] | None, total: int) -> float | None:
    """Requests per second a batch of `total` requests asks for in its metadata.

    None: it asks for no pace (or for none at all: "0"); a value that is not a number of
    seconds is ignored, as OpenAI ignores metadata.
    """
    try:
        seconds = float((metadata or {}).get(PACE_TAG, ""))
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return max(total, 1) / seconds


#: A provider's own checks of an input file (path, model, requests): extra validation errors.
CheckFile = Callable[[Path, str | None, int], list[dict[str, Any]]]


class AnswerFn(Protocol):
    """`sandbox.answers.answer`: the status and JSON body a request gets."""

    def __call__(
        self, endpoint: str, body: dict[str, Any], *, attempt: int
    ) -> tuple[int, dict[str, Any]]: ...


@dataclass
class _Chunk:
    """The lines written for one chunk, and what they add to the record."""

    #: Output-file lines (2xx answers).
    output: bytearray
    #: Error-file lines (error answers, or requests that never ran).
    errors: bytearray
    #: Input offset just past the chunk's last line.
    end_offset: int
    #: Lines written.
    lines: int
    #: 2xx answers.
    completed: int
    #: Error answers.
    failed: int
    #: Token usage summed over the 2xx answers.
    usage: dict[str, int]
    #: Runs to add per request key.
    runs: dict[str, int]


def _usage_of(body: Mapping[str, Any]) -> dict[str, int]:
    """Input/output/cached/reasoning tokens of an answer body, whatever its endpoint."""
    usage = body.get("usage")
    if not isinstance(usage, Mapping):
        return {}
    input_details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    output_details = (
        usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
    )
    return {
        "input_tokens": int(usage.get("input_tokens", usage.get("prompt_tokens", 0)) or 0),
        "output_tokens": int(usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0),
        "cached_tokens": int(input_details.get("cached_tokens", 0) or 0),
        "reasoning_tokens": int(output_details.get("reasoning_tokens", 0) or 0),
    }


class Engine:
    """Moves every active batch of a store forward, from a background thread."""

    def __init__(
        self,
        store: Store,
        answer: AnswerFn,
        *,
        rate: float | None,
        token_limits: Mapping[str, int],
        count_tokens: CountTokens,
        check_file: CheckFile | None = None,
        empty_error_file: bool = False,
    ) -> None:
        self.store = store
        self.check_file = check_file
        #: Whether a batch with no failure still gets an (empty) error file, as Azure's do.
        self.empty_error_file = empty_error_file
        self.answer = answer
        self.rate = rate
        self.token_limits = (
            token_limits  # a mapping that may hold every model (sandbox.token_limit)
        )
        self.count_tokens = count_tokens
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Per batch: requests allowed but not yet run, and when the allowance was last topped up.
        self._allowance: dict[str, tuple[float, float]] = {}
        # Batches whose failure was logged already.
        self._reported: set[str] = set()

    # Thread

    def start(self) -> None:
        """Claim the data directory and start the worker thread (once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.store.claim()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker after its current chunk, and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.store.release()

    def wake(self) -> None:
        """Ask the worker to look at the batches now (a batch was created or cancelled)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = self.step()
            except Exception:  # e.g. the database briefly unreadable: log it, try again later
                log.exception("The sandbox engine failed a step")
                moved = False
            if not moved:
                self._wake.wait(IDLE_SECONDS)
                self._wake.clear()

    # One pass

    def step(self) -> bool:
        """Move every active batch once; True when any made progress."""
        moved = False
        for record in self.store.active_batches():
            if self._stop.is_set():
                break
            try:
                moved |= self._advance(record)
            except Exception:
                # One broken batch must not hold up the others; say so once, not every pass.
                if record.id not in self._reported:
                    self._reported.add(record.id)
                    log.exception("The sandbox could not move batch %s on", record.id)
        return moved

    def _advance(self, record: BatchRecord) -> bool:
        if record.status == "finalizing":
            return self._publish(record, "completed")
        if not self.store.file_path(record.input_file_id).exists():
            return self._fail_missing_input(record)
        deadline_passed = time.time() >= record.deadline
        if record.status == "validating":
            if deadline_passed:
                return self._close_unvalidated(record, "expired")
            return self._validate(record)
        if record.status == "cancelling" and record.in_progress_at is None:
            return self._close_unvalidated(record, "cancelled")
        if record.closing is None and (record.status == "cancelling" or deadline_passed):
            record = self._set_closing(
                record, "cancelled" if record.status == "cancelling" else "expired"
            )
        if record.input_offset >= self._input_size(record):
            if record.closing is not None:
                return self._publish(record, record.closing)
            return self._start_finalizing(record)
        return self._run_chunk(record)

    # Validation

    def _validate(self, record: BatchRecord) -> bool:
        path = self.store.file_path(record.input_file_id)
        result = validate_input_file(
            path,
            record.endpoint,
            token_limits=self.token_limits,
            enqueued_tokens=lambda model: self._enqueued_tokens(model, record.id),
            count_tokens=self.count_tokens,
        )
        errors = list(result.errors)
        if self.check_file is not None:
            errors += self.check_file(path, result.model, result.total)

        def apply(fresh: BatchRecord) -> None:
            fresh.total = result.total
            fresh.model = result.model
            if errors:
                fresh.status = "failed"
                fresh.failed_at = now()
                fresh.errors = {"object": "list", "data": errors}
            else:
                fresh.status = "in_progress"
                fresh.in_progress_at = now()
                fresh.enqueued_tokens = result.input_tokens

        # A cancel may have come while the file was read: then the batch stays cancelling.
        self._update(record.id, apply, only_if=("validating",))
        return True

    def _enqueued_tokens(self, model: str, exclude: str) -> int:
        return sum(
            b.enqueued_tokens
            for b in self.store.active_batches()
            if b.model == model and b.id != exclude and b.in_progress_at is not None
        )

    def _fail_missing_input(self, record: BatchRecord) -> bool:
        """A batch whose input content vanished from the data directory cannot go on."""
        message = f"The input file {record.input_file_id} no longer exists in the sandbox."
        error = {"code": "file_not_found", "message": message, "param": "input_file_id"}

        def apply(fresh: BatchRecord) -> None:
            fresh.status = "failed"
            fresh.failed_at = now()
            fresh.errors = {"object": "list", "data": [{**error, "line": None}]}

        self._update(record.id, apply)
        for path in self._work_paths(record):
            path.unlink(missing_ok=True)
        return True

    def _close_unvalidated(
        self, record: BatchRecord, status: Literal["cancelled", "expired"]
    ) -> bool:
        """End a batch that never started: nothing ran, so there are no files."""

        def apply(fresh: BatchRecord) -> None:
            fresh.status = status
            setattr(fresh, f"{status}_at", now())

        self._update(record.id, apply)
        return True

    # Running

    def _set_closing(
        self, record: BatchRecord, closing: Literal["cancelled", "expired"]
    ) -> BatchRecord:
        def apply(fresh: BatchRecord) -> None:
            fresh.closing = closing

        return self._update(record.id, apply)

    def _input_size(self, record: BatchRecord) -> int:
        return self.store.file_path(record.input_file_id).stat().st_size

    def _work_paths(self, record: BatchRecord) -> tuple[Path, Path]:
        base = self.store.work_dir / record.id
        return base.with_suffix(".output.jsonl"), base.with_suffix(".errors.jsonl")

    def rate_of(self, record: BatchRecord) -> float | None:
        """Requests per second of this batch: its own pace (PACE_TAG), else `rate`."""
        if record.metadata and PACE_TAG in record.metadata:
            return paced_rate(record.metadata, record.total)
        return self.rate

    def _budget(self, record: BatchRecord) -> int:
        """Requests this batch may run now: all of a chunk at unlimited rate, else its rate/s."""
        rate = self.rate_of(record)
        if record.closing is not None or rate is None:
            return CHUNK_REQUESTS
        moment = time.monotonic()
        allowance, last = self._allowance.get(record.id, (0.0, moment))
        # At most one second's worth is saved up, so a pause does not become a burst.
        allowance = min(allowance + (moment - last) * rate, max(rate, 1.0))
        granted = min(int(allowance), CHUNK_REQUESTS)
        self._allowance[record.id] = (allowance - granted, moment)
        return granted

    def _run_chunk(self, record: BatchRecord) -> bool:
        budget = self._budget(record)
        if budget == 0:
            return False
        chunk = self._compute_chunk(record, budget)
        output_path, error_path = self._work_paths(record)
        _append(output_path, record.output_bytes, chunk.output)
        _append(error_path, record.error_bytes, chunk.errors)

        def apply(fresh: BatchRecord) -> None:
            fresh.input_offset = chunk.end_offset
            fresh.lines_written += chunk.lines
            fresh.output_bytes += len(chunk.output)
            fresh.error_bytes += len(chunk.errors)
            fresh.completed += chunk.completed
            fresh.failed += chunk.failed
            for key, value in chunk.usage.items():
                fresh.usage[key] += value

        with self.store.transaction() as conn:
            fresh = self.store.get_batch(record.id)
            assert fresh is not None
            apply(fresh)
            self.store.put_batch(fresh, conn)
            self.store.add_runs(conn, chunk.runs)
        return True

    def _compute_chunk(self, record: BatchRecord, budget: int) -> _Chunk:
        path = self.store.file_path(record.input_file_id)
        with contextlib.closing(iter_input_lines(path, record.input_offset)) as reader:
            lines = list(itertools.islice(reader, budget))
        requests = [json.loads(line.raw) for line in lines]
        chunk = _Chunk(
            output=bytearray(),
            errors=bytearray(),
            end_offset=lines[-1].end_offset if lines else self._input_size(record),
            lines=len(lines),
            completed=0,
            failed=0,
            usage=dict.fromkeys(record.usage, 0),
            runs={},
        )
        index = record.lines_written
        if record.closing is not None:
            code = f"batch_{record.closing}"
            for request in requests:
                chunk.errors += not_run_line(record.id, index, request["custom_id"], code)
                index += 1
            return chunk
        keys = [request_key(r["custom_id"], r["body"]) for r in requests]
        past_runs = self.store.runs(keys)
        for request, key in zip(requests, keys, strict=True):
            # A custom_id repeated across batches (a repair) runs again with a higher attempt.
            attempt = past_runs.get(key, 0) + chunk.runs.get(key, 0) + 1
            status, body = self._answer_safely(record.endpoint, request["body"], attempt)
            chunk.runs[key] = chunk.runs.get(key, 0) + 1
            line = answered_line(record.id, index, request["custom_id"], status, body)
            index += 1
            if 200 <= status < 300:
                chunk.output += line
                chunk.completed += 1
                for name, value in _usage_of(body).items():
                    chunk.usage[name] += value
            else:
                chunk.errors += line
                chunk.failed += 1
        return chunk

    def _answer_safely(
        self, endpoint: str, body: dict[str, Any], attempt: int
    ) -> tuple[int, dict[str, Any]]:
        """The answer, or a 500 line when answering breaks, as a real server's bug would give."""
        try:
            return self.answer(endpoint, body, attempt=attempt)
        except Exception:
            log.exception("The sandbox could not answer a request on %s", endpoint)
            error = ApiErrorResponse(
                500, "The server had an error while processing your request.", type="server_error"
            )
            return 500, error.body()

    # Finishing

    def _start_finalizing(self, record: BatchRecord) -> bool:
        def apply(fresh: BatchRecord) -> None:
            fresh.status = "finalizing"
            fresh.finalizing_at = now()

        self._update(record.id, apply, only_if=("in_progress",))
        return True

    def _publish(
        self, record: BatchRecord, status: Literal["completed", "cancelled", "expired"]
    ) -> bool:
        """Turn the work files into output/error files and make the batch terminal."""
        output_path, error_path = self._work_paths(record)
        stamp = now()
        # `output_expires_after` counts from the output file's own creation (the spec: "the
        # anchor is the file creation time, not the time the batch is created"); without it,
        # output files live 30 days.
        seconds = record.output_expires_seconds
        expires_at = stamp + (DEFAULT_OUTPUT_EXPIRY_SECONDS if seconds is None else seconds)
        published: dict[str, FileRecord] = {}
        for kind, path, size in (
            ("output", output_path, record.output_bytes),
            ("error", error_path, record.error_bytes),
        ):
            if size == 0 and not (kind == "error" and self.empty_error_file):
                path.unlink(missing_ok=True)
                continue
            # The id is derived from the batch, so a publish repeated after a crash reuses it.
            file_id = output_file_id(record.id, kind)
            target = self.store.file_path(file_id)
            if path.exists():
                _cut_to(path, size)
                os.replace(path, target)
            elif not target.exists():
                target.touch()  # nothing failed, yet this provider publishes an error file
            published[kind] = FileRecord(
                file_id, size, stamp, f"{record.id}_{kind}.jsonl", "batch_output", expires_at
            )

        with self.store.transaction() as conn:
            fresh = self.store.get_batch(record.id)
            assert fresh is not None
            for file_record in published.values():
                self.store.add_file(file_record, conn)
            fresh.output_file_id = published["output"].id if "output" in published else None
            fresh.error_file_id = published["error"].id if "error" in published else None
            fresh.status = status
            fresh.closing = None
            setattr(fresh, f"{status}_at", stamp)
            self.store.put_batch(fresh, conn)
        self._allowance.pop(record.id, None)
        self._forget_deleted_input(record)
        return True

    def _forget_deleted_input(self, record: BatchRecord) -> None:
        """Remove the content of an input file deleted while its batches ran."""
        with self.store.lock:
            if self.store.get_file(record.input_file_id) is not None:
                return
            if any(b.input_file_id == record.input_file_id for b in self.store.active_batches()):
                return
            self.store.file_path(record.input_file_id).unlink(missing_ok=True)

    # Records

    def _update(
        self,
        batch_id: str,
        apply: Callable[[BatchRecord], None],
        *,
        only_if: tuple[str, ...] | None = None,
    ) -> BatchRecord:
        """Reload, change and save a record under the store lock (unless its status moved on)."""
        with self.store.transaction() as conn:
            fresh = self.store.get_batch(batch_id)
            assert fresh is not None
            if only_if is None or fresh.status in only_if:
                apply(fresh)
                self.store.put_batch(fresh, conn)
            return fresh


def _cut_to(path: Path, size: int) -> None:
    """Drop whatever an unfinished chunk wrote past the committed `size`."""
    with path.open("r+b") as handle:
        handle.truncate(size)


def _append(path: Path, committed: int, data: bytes | bytearray) -> None:
    """Append `data` after the committed part of `path`.

    No fsync: like SQLite in WAL mode with synchronous=NORMAL, this survives the process being
    killed (the restart tests kill it), not the machine losing power; a sandbox needs no more.
    """
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size != committed:
            _cut_to(path, committed)
    with path.open("ab") as handle:
        handle.write(data)


def expiry_deadline(created: float, window_seconds: float | None) -> tuple[int, float]:
    """`expires_at` (created_at plus the window in whole seconds) and the exact deadline.

    A window of None never ends (a provider that lets late batches run on): `expires_at` still
    says when the 24 h target passes, the deadline is infinite.
    """
    if window_seconds is None:
        return int(created) + 86_400, math.inf
    return int(created) + math.ceil(window_seconds), created + window_seconds
