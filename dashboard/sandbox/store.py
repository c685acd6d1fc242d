"""The sandbox's state on disk: an SQLite database of files, batches and attempts, plus JSONL files.

Layout of the data directory:
    state.sqlite3            file and batch records (JSON), and per-request run counts
    files/<file id>.jsonl    the content of every file, uploaded or produced
    work/<batch id>.*.jsonl  output and error lines of a running batch, committed in chunks

One running engine owns a data directory at a time (`claim`, an exclusive lock on
`engine.lock`); threads share one connection behind `Store.lock`, which every
read-modify-write of a record holds.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TextIO

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
#: Statuses the progress engine still has work for.
ACTIVE_STATUSES: tuple[BatchStatus, ...] = ("validating", "in_progress", "finalizing", "cancelling")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, purpose TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (key TEXT PRIMARY KEY, runs INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one sandbox per directory is on trust there
    fcntl = None  # type: ignore[assignment]

# SQLite's default limit on bound parameters is 32,766; stay far below it.
_IN_CHUNK = 900


class DataDirBusy(RuntimeError):
    """The data directory is in use by another running sandbox (the message says what to do)."""


def directory_held(data_dir: Path) -> bool:
    """Whether a running sandbox holds `data_dir` (Store.claim); creates nothing."""
    lock = data_dir / "engine.lock"
    if fcntl is None or not lock.is_file():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style, e.g. `file-4f0c...` or `batch_9a1e...`."""
    return prefix + secrets.token_hex(12)


def now() -> int:
    """Unix seconds, as every timestamp of the API."""
    return int(time.time())


@dataclass
class FileRecord:
    """One stored file (an uploaded batch input, or a batch's output or error file)."""

    #: File id, `file-...`.
    id: str
    #: Size in bytes.
    bytes: int
    #: Unix seconds of the upload or of the batch's finishing.
    created_at: int
    #: The name given at upload, or `<batch id>_output.jsonl` / `_error.jsonl`.
    filename: str
    #: `batch` for inputs, `batch_output` for what a batch writes.
    purpose: str
    #: Unix seconds after which OpenAI would delete the file.
    expires_at: int | None = None

    def to_api(self) -> dict[str, Any]:
        """The OpenAIFile object of the API: every field of the spec, null where unset, as
        OpenAI sends it (a client reading `f["expires_at"]` must not fail)."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class BatchRecord:
    """One batch: the public fields of OpenAI's Batch object and the engine's progress."""

    #: Batch id, `batch_...`.
    id: str
    #: The batch endpoint every line must target.
    endpoint: str
    #: The uploaded input file.
    input_file_id: str
    #: Always "24h", as OpenAI accepts no other window.
    completion_window: str
    #: Unix seconds of creation.
    created_at: int
    #: Unix seconds at which the batch expires (created_at plus the window).
    expires_at: int
    #: Unix time, with fractions, at which the engine expires the batch.
    deadline: float
    #: Current status.
    status: BatchStatus = "validating"
    #: The model of the lines, known once validated.
    model: str | None = None
    #: `{"object": "list", "data": [...]}` when validation failed.
    errors: dict[str, Any] | None = None
    #: The analyst's key-value pairs, or None.
    metadata: dict[str, str] | None = None
    #: Seconds after which the output and error files expire, when the caller chose.
    output_expires_seconds: int | None = None
    #: The published output file, once terminal and when something succeeded.
    output_file_id: str | None = None
    #: The published error file, once terminal and when something failed or did not run.
    error_file_id: str | None = None
    #: Unix seconds when validation passed and the requests started running.
    in_progress_at: int | None = None
    #: Unix seconds when every request had run and the files were being written.
    finalizing_at: int | None = None
    #: Unix seconds when the batch completed.
    completed_at: int | None = None
    #: Unix seconds when validation failed.
    failed_at: int | None = None
    #: Unix seconds when the completion window ran out.
    expired_at: int | None = None
    #: Unix seconds when a cancel was asked for.
    cancelling_at: int | None = None
    #: Unix seconds when the cancel was done.
    cancelled_at: int | None = None
    #: Requests in the input file (known once validated).
    total: int = 0
    #: Requests answered with a 2xx status.
    completed: int = 0
    #: Requests answered with an error status.
    failed: int = 0
    #: Usage summed over every answered request.
    usage: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens"), 0
        )
    )
    #: Input tokens counted at validation (only when a token limit applies), for the queue.
    enqueued_tokens: int = 0
    #: Bytes of the input file already run (or marked not run).
    input_offset: int = 0
    #: Output and error lines written so far (numbers the `batch_req_` ids).
    lines_written: int = 0
    #: Committed length of the work output file; anything past it is from an unfinished chunk.
    output_bytes: int = 0
    #: Committed length of the work error file.
    error_bytes: int = 0
    #: "cancelled" or "expired" while the rest of the lines are written as not run.
    closing: Literal["cancelled", "expired"] | None = None

    @classmethod
    def from_json(cls, text: str) -> BatchRecord:
        """Read a record stored by `to_json` (unknown keys of other versions ignored)."""
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        """The record as stored."""
        return json.dumps(asdict(self), separators=(",", ":"))

    def to_api(self) -> dict[str, Any]:
        """The Batch object of the API: every field of the spec, null where unset.

        The newest OpenAPI spec types the nullable fields (`output_file_id`, `model`, the
        timestamps...) as plain strings and integers, yet OpenAI sends them as null, and
        clients reading raw JSON (`b["output_file_id"]`) rely on every key being there.
        """
        usage = self.usage
        data: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.in_progress_at,
            "expires_at": self.expires_at,
            "finalizing_at": self.finalizing_at,
            "completed_at": self.completed_at,
            "failed_at": self.failed_at,
            "expired_at": self.expired_at,
            "cancelling_at": self.cancelling_at,
            "cancelled_at": self.cancelled_at,
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {
                "input_tokens": usage["input_tokens"],
                "input_tokens_details": {"cached_tokens": usage["cached_tokens"]},
                "output_tokens": usage["output_tokens"],
                "output_tokens_details": {"reasoning_tokens": usage["reasoning_tokens"]},
                "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            },
        }
        data["metadata"] = self.metadata
        return data


class Store:
    """Records and file contents under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        #: The data directory.
        self.data_dir = Path(data_dir)
        #: Held by every read-modify-write of a record.
        self.lock = threading.RLock()
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = None
        self._claim: TextIO | None = None

    @property
    def files_dir(self) -> Path:
        """Where file contents live."""
        return self.data_dir / "files"

    @property
    def work_dir(self) -> Path:
        """Where running batches write their lines."""
        return self.data_dir / "work"

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, opened on first use (and again after `close`)."""
        with self.lock:
            if self._conn is None:
                conn = sqlite3.connect(
                    self.data_dir / "state.sqlite3", check_same_thread=False, isolation_level=None
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                self._conn = conn
            return self._conn

    def close(self) -> None:
        """Close the connection; the store reopens it if used again."""
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def claim(self) -> None:
        """Take the directory for one engine; two engines would run the same batches twice."""
        if fcntl is None or self._claim is not None:
            return
        handle = (self.data_dir / "engine.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DataDirBusy(
                f"Another sandbox is already running on {self.data_dir}; stop it or give this "
                "one another data directory."
            ) from None
        self._claim = handle

    def release(self) -> None:
        """Give the directory back (closing the file drops the lock)."""
        if self._claim is not None:
            self._claim.close()
            self._claim = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block as one SQLite transaction."""
        with self.lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        # A counter rather than rowids, so that list order survives deletes.
        conn.execute(
            "INSERT INTO counters VALUES ('seq', 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )
        return int(conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0])

    # Files

    def file_path(self, file_id: str) -> Path:
        """Where the content of `file_id` is kept."""
        return self.files_dir / f"{file_id}.jsonl"

    def add_file(self, record: FileRecord, conn: sqlite3.Connection | None = None) -> None:
        """Record a file whose content is already at `file_path(record.id)`.

        Inside a `transaction` pass its `conn`; an id already recorded is left as it is.
        """
        if conn is None:
            with self.transaction() as own:
                self.add_file(record, own)
            return
        if conn.execute("SELECT 1 FROM files WHERE id = ?", (record.id,)).fetchone():
            return
        conn.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?)",
            (record.id, self._next_seq(conn), record.purpose, json.dumps(asdict(record))),
        )

    def get_file(self, file_id: str) -> FileRecord | None:
        """The file record, or None when there is none."""
        with self.lock:
            row = self.conn.execute("SELECT record FROM files WHERE id = ?", (file_id,)).fetchone()
        return FileRecord(**json.loads(row[0])) if row else None

    def list_files(
        self, *, purpose: str | None, after: str | None, limit: int, order: Literal["asc", "desc"]
    ) -> tuple[list[FileRecord], bool]:
        """One page of files in upload order (`order`), and whether more follow."""
        comparison, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
        where, params = [], []
        if purpose is not None:
            where.append("purpose = ?")
            params.append(purpose)
        if after is not None:
            where.append(f"seq {comparison} (SELECT seq FROM files WHERE id = ?)")
            params.append(after)
        sql = "SELECT record FROM files"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY seq {direction} LIMIT ?"
        with self.lock:
            rows = self.conn.execute(sql, [*params, limit + 1]).fetchall()
        records = [FileRecord(**json.loads(row[0])) for row in rows]
        return records[:limit], len(records) > limit

    def count_kept_inputs(self) -> int:
        """Uploaded batch input files that never expire."""
        with self.lock:
            row = self.conn.execute(
                "SELECT COUNT(*) FROM files WHERE purpose = 'batch' "
                "AND json_extract(record, '$.expires_at') IS NULL"
            ).fetchone()
        return int(row[0])

    def delete_file(self, file_id: str) -> bool:
        """Forget a file; its content goes too unless a running batch still reads it."""
        with self.transaction() as conn:
            deleted = conn.execute("DELETE FROM files WHERE id = ?", (file_id,)).rowcount > 0
            in_use = any(b.input_file_id == file_id for b in self.active_batches())
        if deleted and not in_use:
            self.file_path(file_id).unlink(missing_ok=True)
        return deleted

    # Batches

    def add_batch(self, record: BatchRecord) -> None:
        """Record a new batch."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?)",
                (record.id, self._next_seq(conn), record.status, record.to_json()),
            )

    def put_batch(self, record: BatchRecord, conn: sqlite3.Connection | None = None) -> None:
        """Save a changed batch record (inside `transaction` when `conn` is given)."""
        with self.lock:
            (conn or self.conn).execute(
                "UPDATE batches SET status = ?, record = ? WHERE id = ?",
                (record.status, record.to_json(), record.id),
            )

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        """The batch record, or None when there is none."""
        with self.lock:
            row = self.conn.execute(
                "SELECT record FROM batches WHERE id = ?", (batch_id,)
            ).fetchone()
        return BatchRecord.from_json(row[0]) if row else None

    def list_batches(self, *, after: str | None, limit: int) -> tuple[list[BatchRecord], bool]:
        """One page of batches, newest first, and whether more follow."""
        sql = "SELECT record FROM batches"
        params: list[object] = []
        if after is not None:
            sql += " WHERE seq < (SELECT seq FROM batches WHERE id = ?)"
            params.append(after)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self.lock:
            rows = self.conn.execute(sql, [*params, limit + 1]).fetchall()
        records = [BatchRecord.from_json(row[0]) for row in rows]
        return records[:limit], len(records) > limit

    def active_batches(self) -> list[BatchRecord]:
        """Batches the engine has work for, oldest first."""
        marks = ",".join("?" * len(ACTIVE_STATUSES))
        with self.lock:
            rows = self.conn.execute(
                f"SELECT record FROM batches WHERE status IN ({marks}) ORDER BY seq",
                ACTIVE_STATUSES,
            ).fetchall()
        return [BatchRecord.from_json(row[0]) for row in rows]

    # Attempts: how many times a request (custom_id and body) has run, across batches.

    def runs(self, keys: Iterable[str]) -> dict[str, int]:
        """Past runs of each key that has any."""
        keys = list(keys)
        found: dict[str, int] = {}
        with self.lock:
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = keys[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self.conn.execute(
                        f"SELECT key, runs FROM attempts WHERE key IN ({marks})", chunk
                    ).fetchall()
                )
        return found

    @staticmethod
    def add_runs(conn: sqlite3.Connection, keys: Mapping[str, int]) -> None:
        """Add runs to keys, inside a `transaction`."""
        conn.executemany(
            "INSERT INTO attempts VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET runs = runs + excluded.runs",
            keys.items(),
        )


def write_atomically(path: Path, chunks: Iterable[bytes]) -> int:
    """Write `chunks` to a temporary sibling, then rename it over `path`; returns bytes written."""
    temporary = path.with_name(path.name + ".tmp")
    written = 0
    with temporary.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            written += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return written
