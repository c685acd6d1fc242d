"""Running the sandbox with uvicorn: blocking (`serve`), in a thread (`running_sandbox`) or in a
child process (`sandbox_process`) for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import platformdirs
import uvicorn
from starlette.types import ASGIApp

from sandbox.app import create_app
from sandbox.store import Store


def default_data_dir() -> Path:
    """`sandbox/` under Batchdash's data directory (BATCHDASH_DATA_DIR, else the user's)."""
    base = os.environ.get("BATCHDASH_DATA_DIR") or platformdirs.user_data_dir("batchdash")
    return Path(base) / "sandbox"


def _raise_if_busy(data_dir: Path) -> None:
    """Raise DataDirBusy when another sandbox holds `data_dir` (why a start failed)."""
    probe = Store(data_dir)
    probe.claim()
    probe.release()


def serve(
    host: str,
    port: int,
    data_dir: Path | None,
    *,
    rate: float | None = None,
    fault_rate: float = 0.0,
    **app_options: Any,
) -> None:
    """Serve the sandbox on host:port until interrupted (`data_dir` None: the default one).

    `app_options` go to `create_app` (seed, completion_window_seconds, token_limits...).
    Raises DataDirBusy when another sandbox runs on the same directory.
    """
    directory = data_dir or default_data_dir()
    _raise_if_busy(directory)
    app = create_app(directory, rate=rate, fault_rate=fault_rate, **app_options)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(
    data_dir: Path, *, rate: float | None = None, fault_rate: float = 0.0, profile: str = "openai"
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run `serve` in a child process on a free 127.0.0.1 port; yields it and its base URL.

    `profile` names the provider the sandbox imitates (sandbox.profiles).

    For tests that kill the server outright and for benchmarks that measure it alone. The
    child is terminated (if still alive) when the block ends.
    """
    port = _free_port()
    code = (
        "import sys; from pathlib import Path; from sandbox.server import serve; "
        f"serve('127.0.0.1', {port}, Path(sys.argv[1]), rate={rate!r}, fault_rate={fault_rate!r}, "
        f"profile={profile!r})"
    )
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)], env={**os.environ, "PYTHONPATH": path}
    )
    try:
        health = f"http://127.0.0.1:{port}/health"
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise RuntimeError("The sandbox process exited while starting.")
            try:
                if httpx2.get(health, timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("The sandbox process did not start within 60 s.")
            time.sleep(0.05)
        yield child, f"http://127.0.0.1:{port}/v1"
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@contextmanager
def running_sandbox(
    data_dir: Path,
    *,
    sock: socket.socket | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    **app_options: Any,
) -> Iterator[str]:
    """Run a sandbox on a free 127.0.0.1 port in a thread; yields its base URL (`.../v1`).

    `sock`: a socket already bound (and listening) to serve on instead, so a caller can hand
    out the URL before the server is up (connections wait in its backlog meanwhile).
    `wrap` puts an ASGI layer around the app (a test's call counter, say). `app_options` go
    to `create_app`. The server and its engine stop when the block ends.
    """
    app: ASGIApp = create_app(data_dir, **app_options)
    if wrap is not None:
        app = wrap(app)
    if sock is None:
        # Bound here and handed to uvicorn, so no other process can take the port in between.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
    listening = sock
    port = listening.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def run() -> None:
        # uvicorn exits with SystemExit when the app fails to start; the caller is told below.
        with contextlib.suppress(SystemExit):
            server.run(sockets=[listening])

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive():
                _raise_if_busy(Path(data_dir))
                raise RuntimeError("The sandbox server stopped while starting; see its log.")
            if time.monotonic() > deadline:
                raise RuntimeError("The sandbox server did not start within 30 s.")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()
