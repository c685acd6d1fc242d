"""The registry's SQLAlchemy engine, set up for SQLite files and PostgreSQL servers alike."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError

from batchdash.errors import RegistryError
from batchdash.i18n import _l

#: Milliseconds a SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Execution option that marks a transaction as a writer (SQLite then takes the write lock at
#: BEGIN, so two writers queue instead of failing halfway).
WRITE_OPTION = "batchdash_write"


def parse_db_url(url: str) -> URL:
    """The URL with the driver Batchdash ships (psycopg 3 for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RegistryError(
            _l(
                "BATCHDASH_DB_URL is not a database URL; write it like "
                "sqlite:///path/to/registry.sqlite3 or postgresql://user@host:5432/batchdash."
            )
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise RegistryError(
                _l(
                    "BATCHDASH_DB_URL names an in-memory SQLite database, which would lose every job; "
                    "give a file path such as sqlite:///path/to/registry.sqlite3."
                )
            )
        return parsed.set(drivername="sqlite")
    raise RegistryError(
        _l(
            "BATCHDASH_DB_URL uses {backend}, but the registry runs on SQLite or PostgreSQL "
            "only; give a sqlite:/// or postgresql:// URL.",
            backend=backend,
        )
    )


def make_engine(url: str) -> Engine:
    """An engine for the registry; creates the SQLite file's directory when missing."""
    parsed = parse_db_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        folder = Path(parsed.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RegistryError(
                _l(
                    "The job registry cannot be kept in {folder} ({reason}). Set "
                    "BATCHDASH_DATA_DIR or BATCHDASH_DB_URL to a place this server can write, "
                    "then restart the app.",
                    folder=str(folder),
                    reason=error.strerror or type(error).__name__,
                )
            ) from error
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "batchdash"},
    )


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    # The driver's own implicit BEGIN would skip DDL and could not take the write lock early;
    # `_sqlite_begin` emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # First: switching a new file to WAL needs its lock too, and replicas open it at once.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    # NORMAL is safe under WAL (no corruption on a crash) and spares an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so); retried while another connection switches it,
    since SQLite can answer "database is locked" there without waiting for the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
