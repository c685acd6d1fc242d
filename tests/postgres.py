"""A private PostgreSQL cluster for the test run: 127.0.0.1 only, trust auth, removed at the end.

initdb refuses to run as root, so when the tests run as root (CI does) every server command
runs as the `postgres` account, in a temporary directory that account owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

#: Where Debian puts the server programs (the PATH may only hold the client).
_DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_SERVER_USER = "postgres"
_COMMAND_TIMEOUT = 120
TEST_DATABASE = "batchdash_test"


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed, or cannot be run."""


def find_bin_dir() -> Path:
    """The directory holding initdb and pg_ctl, newest version first."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    versions = sorted(glob.glob(_DEBIAN_BIN_DIRS), key=_version_key, reverse=True)
    candidates += [Path(found) for found in versions]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresMissing(
        "PostgreSQL's server programs (initdb, pg_ctl) were not found on PATH or in "
        f"{_DEBIAN_BIN_DIRS}; install them with `apt-get install postgresql` and run the tests again."
    )


def _version_key(path: str) -> int:
    version = Path(path).parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running private cluster."""

    #: Its temporary directory (data, socket, log).
    root: Path
    #: Its TCP port on 127.0.0.1.
    port: int

    def url(self, database: str = TEST_DATABASE) -> str:
        """An SQLAlchemy URL of one of its databases."""
        return f"postgresql+psycopg://{_SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=_SERVER_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", _SERVER_USER, "--", *command]
    return ["su", _SERVER_USER, "-s", "/bin/sh", "-c", subprocess.list2cmdline(command)]


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(
        _as_server_user(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise PostgresMissing(
            f"`{' '.join(command)}` failed with exit code {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()}"
        )


def _make_root() -> Path:
    # Under root, pytest's own temporary directories are closed to the postgres account.
    root = Path(tempfile.mkdtemp(prefix="batchdash-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    if os.geteuid() == 0:
        try:
            shutil.chown(root, user=_SERVER_USER, group=_SERVER_USER)
        except LookupError:
            shutil.rmtree(root)
            raise PostgresMissing(
                "The tests run as root but there is no `postgres` account to run PostgreSQL as; "
                "install PostgreSQL with `apt-get install postgresql`, which creates it."
            ) from None
    return root


@contextmanager
def private_cluster(attempts: int = 3) -> Iterator[Cluster]:
    """Start a cluster with an empty `batchdash_test` database; stop and remove it afterwards."""
    bin_dir = find_bin_dir()
    root = _make_root()
    data = root / "data"
    log = root / "server.log"
    started = False
    try:
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", _SERVER_USER, "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            cwd=root,
        )  # fmt: skip
        for attempt in range(attempts):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=60"
            )
            try:
                _run(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                     "-w", "-t", "60", "start"],
                    cwd=root,
                )  # fmt: skip
            except PostgresMissing as error:
                if attempt + 1 == attempts:  # another program took the port each time
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise PostgresMissing(f"{error}\nServer log:\n{tail}") from None
                continue
            started = True
            cluster = Cluster(root=root, port=port)
            cluster.execute(f"CREATE DATABASE {TEST_DATABASE}")
            yield cluster
            break
    finally:
        if started:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], cwd=root)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(cluster: Cluster) -> Iterator[str]:
    """An empty database of its own for one test, dropped afterwards; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    cluster.execute(f"CREATE DATABASE {name}")
    try:
        yield cluster.url(name)
    finally:
        cluster.execute(f"DROP DATABASE {name} WITH (FORCE)")
