"""Child processes for the restart tests and the load bench: a sandbox that can be killed and
started again on the same port and data directory, and the CLI run whole or stopped at a point.

The sandbox keeps its port across restarts because the API's base URL is part of a job's scope
(`settings.owner_scope`): a restarted app must reach its jobs at the same address.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx2

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "dashboard" / "cli.py"
PAUSED_CLI = Path(__file__).with_name("paused_cli.py")
#: Seconds a child may take to start or to reach a pause point (guards against a hang only).
START_SECONDS = 120


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with `dashboard/` and the repository on PYTHONPATH."""
    path = os.pathsep.join(
        filter(None, [str(ROOT / "dashboard"), str(ROOT), os.environ.get("PYTHONPATH")])
    )
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


class SandboxProcess:
    """`sandbox.server.serve` in a child process on a fixed 127.0.0.1 port and data directory."""

    def __init__(
        self, data_dir: Path, *, port: int | None = None, log: Path, **options: Any
    ) -> None:
        #: Where the sandbox keeps its state.
        self.data_dir = data_dir
        #: Its port, the same after every restart.
        self.port = port or free_port()
        #: Options of `create_app` (rate, fault_rate, seed, stall_seconds...).
        self.options = options
        self._log = log
        self._child: subprocess.Popen[bytes] | None = None
        #: How many times it was started.
        self.starts = 0

    @property
    def base_url(self) -> str:
        """Its API's base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> SandboxProcess:
        """Start it and wait until /health answers."""
        assert self._child is None or self._child.poll() is not None, "already running"
        code = (
            "import json, sys; from pathlib import Path; from sandbox.server import serve; "
            "serve('127.0.0.1', int(sys.argv[1]), Path(sys.argv[2]), **json.loads(sys.argv[3]))"
        )
        args = [
            sys.executable,
            "-c",
            code,
            str(self.port),
            str(self.data_dir),
            json.dumps(self.options),
        ]
        with self._log.open("ab") as log:
            self._child = subprocess.Popen(
                args, env=child_env(), stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self._child.poll() is not None:
                raise RuntimeError(f"The sandbox exited while starting:\n{self._log.read_text()}")
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("The sandbox did not start in time.")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL it (nothing of it runs its shutdown) and reap it."""
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signal.SIGKILL)
            self._child.wait()

    def stop(self) -> None:
        """Stop it politely (SIGTERM), or kill it when it does not go."""
        if self._child is None or self._child.poll() is not None:
            return
        self._child.terminate()
        try:
            self._child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run_cli(args: list[str], env: Mapping[str, str], *, timeout: float = START_SECONDS) -> Any:
    """`python dashboard/cli.py ARGS` to the end; its JSON output (fails on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, str(CLI), *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"cli.py {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return json.loads(done.stdout)


def start_paused_cli(
    point: str,
    marker: Path,
    args: list[str],
    env: Mapping[str, str],
    *,
    log: IO[bytes],
    options: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """The CLI in a child process that stops dead at `point` (see paused_cli.py for `options`)."""
    command = [sys.executable, str(PAUSED_CLI), point, str(marker), *options, "--", *args]
    return subprocess.Popen(command, env=child_env(env), stdout=log, stderr=subprocess.STDOUT)


def wait_for_pause(marker: Path, child: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    """What the child wrote at its pause point; None if it ended without reaching it."""
    deadline = time.monotonic() + START_SECONDS
    while not marker.exists():
        if child.poll() is not None:
            return None if not marker.exists() else json.loads(marker.read_text())
        if time.monotonic() > deadline:
            raise AssertionError(f"the CLI never reached its pause point ({marker.name})")
        time.sleep(0.02)
    found: dict[str, Any] = json.loads(marker.read_text())
    return found


def kill(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and reap it."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait()
