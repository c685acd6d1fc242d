"""Process-wide resources, created once and shared by every session (`st.cache_resource`).

Per-user data never lives here: the key a resource is made with is part of its cache key, so
two analysts with two keys get two gateways.

The SDK, SQLAlchemy and the sandbox server are imported when their resource is first made, not
with this module: every page imports it, and the first page an analyst sees needs none of them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import select
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from batchdash.i18n import Message, _l
from batchdash.settings import SANDBOX_URL, Settings, read_settings

if TYPE_CHECKING:
    from batchdash.api.gateway import Gateway
    from batchdash.registry.store import Registry

_log = logging.getLogger(__name__)
#: Seconds a stopping sandbox may take to finish its requests.
_STOP_SECONDS = 30
#: Seconds after which the bundled sandbox starts though nothing has asked it anything yet.
SANDBOX_START_SECONDS = 5.0


def _secrets() -> Mapping[str, object]:
    """st.secrets as a plain mapping; empty when there is no secrets file."""
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def app_settings() -> Settings:
    """Configuration from secrets.toml first, then the environment (contract 3)."""
    return read_settings(_secrets(), os.environ)


def _close_registry(opened: Registry) -> None:
    opened.close()


@st.cache_resource(show_spinner="Opening the job registry…", on_release=_close_registry)
def registry(db_url: str) -> Registry:
    """The registry at `db_url`, one engine per process."""
    from batchdash.registry.store import Registry

    return Registry(db_url)


def app_registry() -> Registry:
    """The registry this server is configured with (`app_settings().db_url`)."""
    return registry(app_settings().db_url)


@dataclass(frozen=True)
class RunningSandbox:
    """The bundled sandbox, started in a thread of this process.

    Its port is bound and listening before the server is up, so its URL is known at once and
    the first page is drawn without waiting for it: requests sent meanwhile wait in the
    socket's backlog until the server takes them. It starts when the first request arrives or
    SANDBOX_START_SECONDS after it was asked for, whichever comes first: importing and starting
    it takes a second of the machine, which the first page should have.
    """

    #: Base URL of its API (`http://127.0.0.1:<port>/v1`).
    url: str
    #: Set to stop the server.
    stop: threading.Event = field(repr=False, compare=False)
    #: Written to when stopping, to wake the thread while it waits to start.
    wake: socket.socket = field(repr=False, compare=False)
    #: The thread that starts the server and keeps it running.
    thread: threading.Thread = field(repr=False, compare=False)
    #: Why it cannot serve, once known (empty while it starts or serves): one plain sentence.
    failure: list[Message] = field(repr=False, compare=False)


def _serve_sandbox(
    sock: socket.socket,
    woken: socket.socket,
    data_dir: Path,
    rate: float | None,
    profile: str,
    stop: threading.Event,
    failure: list[Message],
) -> None:
    """Start the sandbox on `sock` and serve until `stop` is set; why it failed is kept."""
    if failure:  # known before it was started: nothing to wait for
        woken.close()
        sock.close()
        return
    # A connection waiting in the backlog makes the listening socket readable; `woken`, the
    # stop.
    select.select([sock, woken], [], [], SANDBOX_START_SECONDS)
    woken.close()
    if stop.is_set():
        sock.close()
        return
    try:
        from sandbox.server import running_sandbox
        from sandbox.token_limit import every_model

        with running_sandbox(
            data_dir,
            sock=sock,
            rate=rate,
            profile=profile,
            sync_pace=_env_seconds(SANDBOX_SYNC_PACE) or 0.0,
            completion_window_seconds=_env_seconds(SANDBOX_WINDOW),
            token_limits=every_model(_env_tokens(SANDBOX_TOKEN_LIMIT)),
        ):
            stop.wait()
    except Exception as error:  # shown as a sentence from the next script run on
        _log.exception("The bundled sandbox did not start.")
        failure.append(_start_failure(data_dir, error))
        sock.close()


def _start_failure(folder: Path, error: Exception) -> Message:
    """What to tell the analyst when the sandbox on `folder` failed to start with `error`."""
    from sandbox.store import DataDirBusy

    if isinstance(error, DataDirBusy):
        return _busy(folder)
    if isinstance(error, OSError) and error.filename is not None:
        return _unwritable(folder, error.strerror or str(error))
    return _l(
        "The sandbox did not start ({error}). Check the server's log, then restart the app.",
        error=str(error) or type(error).__name__,
    )


def _unwritable(folder: Path, reason: str) -> Message:
    return _l(
        "The sandbox cannot start: its data directory {folder} cannot be written ({reason}). "
        "Set BATCHDASH_DATA_DIR to a folder this server may write to, then restart the app.",
        folder=str(folder),
        reason=reason,
    )


def _busy(folder: Path) -> Message:
    return _l(
        "The sandbox cannot start: another sandbox is already running on its data directory "
        "{folder}. Stop that one, or set BATCHDASH_SANDBOX_URL to its address (or "
        "BATCHDASH_DATA_DIR to another folder), then restart the app.",
        folder=str(folder),
    )


def _foreseen_failure(folder: Path) -> Message | None:
    """Why the sandbox cannot start on `folder`, when that shows without starting it: the
    nearest folder that exists cannot be written, or another sandbox holds `folder`. Creates
    nothing (a sandbox nobody asks anything never touches its directory)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return _unwritable(folder, f"{existing}: {os.strerror(errno.ENOTDIR)}")
    if not os.access(existing, os.W_OK | os.X_OK):
        return _unwritable(folder, f"{existing}: {os.strerror(errno.EACCES)}")
    if not (folder / "engine.lock").is_file():  # never started here: nothing can hold it
        return None
    from sandbox.store import directory_held

    return _busy(folder) if directory_held(folder) else None


def _stop_sandbox(sandbox: RunningSandbox) -> None:
    sandbox.stop.set()
    with contextlib.suppress(OSError):  # the thread may have stopped waiting already
        sandbox.wake.send(b"x")
    sandbox.thread.join(timeout=_STOP_SECONDS)
    sandbox.wake.close()


@st.cache_resource(show_spinner=False, on_release=_stop_sandbox)
def _sandbox(data_dir: Path, rate: float | None = None, profile: str = "openai") -> RunningSandbox:
    # One sandbox per imitated provider, each in its own directory (one server per directory).
    folder = data_dir / ("sandbox" if profile == "openai" else f"sandbox-{profile}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop = threading.Event()
    wake, woken = socket.socketpair()
    foreseen = _foreseen_failure(folder)
    failure: list[Message] = [foreseen] if foreseen is not None else []
    thread = threading.Thread(
        target=_serve_sandbox,
        args=(sock, woken, folder, rate, profile, stop, failure),
        name="sandbox-start",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(url, stop, wake, thread, failure)


#: Environment variable with this server's default pace of the bundled sandbox, in requests
#: per second per batch ("unlimited", or anything but a positive number: as fast as it can).
#: Unset, the pace picked in Settings applies (ui.sandbox_pace); tests set it to run fast.
SANDBOX_RATE = "BATCHDASH_SANDBOX_RATE"


def sandbox_rate_set() -> bool:
    """Whether BATCHDASH_SANDBOX_RATE gives this server's sandbox pace."""
    return bool(os.environ.get(SANDBOX_RATE, "").strip())


def sandbox_rate() -> float | None:
    """The pace BATCHDASH_SANDBOX_RATE asks for; None (unlimited) when unset or not a positive
    number."""
    try:
        rate = float(os.environ.get(SANDBOX_RATE, ""))
    except ValueError:
        return None
    return rate if 0 < rate < math.inf else None


#: Environment variable with the seconds each synchronous call to the bundled sandbox takes
#: (a direct run's calls; unset: at once), so a direct run can be watched, and cancelled
#: half-way, on the sandbox.
SANDBOX_SYNC_PACE = "BATCHDASH_SANDBOX_SYNC_PACE"
#: Environment variable with the seconds a batch of the bundled sandbox has before it expires
#: (unset: the provider's 24 h), so a batch near its expiry can be tried out.
SANDBOX_WINDOW = "BATCHDASH_SANDBOX_WINDOW_SECONDS"


#: Environment variable with the bundled sandbox's enqueued-token limit per model (unset: none),
#: so the queue for that limit can be tried out.
SANDBOX_TOKEN_LIMIT = "BATCHDASH_SANDBOX_ENQUEUED_TOKEN_LIMIT"


def _env_tokens(name: str) -> int | None:
    """The whole number of tokens above 0 the environment variable `name` gives, or None."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _env_seconds(name: str) -> float | None:
    """The positive number of seconds the environment variable `name` gives, or None."""
    try:
        seconds = float(os.environ.get(name, ""))
    except ValueError:
        return None
    return seconds if 0 < seconds < math.inf else None


def shared_sandbox() -> bool:
    """Whether BATCHDASH_SANDBOX_URL names a sandbox running elsewhere."""
    return bool(os.environ.get(SANDBOX_URL, "").strip())


def sandbox_url(data_dir: Path, profile: str = "openai") -> str:
    """The bundled sandbox's URL, imitating the provider `profile`, started on a free
    127.0.0.1 port on first use.

    It serves for the life of the app; clearing `st.cache_resource` stops it. With
    BATCHDASH_SANDBOX_URL set, that sandbox is used and none is started. The URL is handed out
    while the server still starts (see RunningSandbox); whether it could, `sandbox_failure`
    says.
    """
    shared = os.environ.get(SANDBOX_URL, "").strip()
    if shared:
        return shared
    return _sandbox(data_dir, sandbox_rate(), profile).url


def sandbox_failure(data_dir: Path, profile: str = "openai") -> Message | None:
    """Why the bundled sandbox cannot serve, as one sentence naming the problem and the fix;
    None while it starts or serves (and for a sandbox running elsewhere).

    Known in the script run that first asks for the sandbox when its folder cannot be written
    or another sandbox holds it; any other failure of its start (in its thread, when the first
    request arrives) from the script run after it on.
    """
    if os.environ.get(SANDBOX_URL, "").strip():
        return None
    failure = _sandbox(data_dir, sandbox_rate(), profile).failure
    return failure[0] if failure else None


@st.cache_resource(max_entries=32)
def gateway(
    base_url: str | None,
    api_key: str,
    name: str | None = None,
    batch_metadata: tuple[tuple[str, str], ...] = (),
    provider: str = "openai",
) -> Gateway:
    """One SDK client per key, base URL, server name, extra batch metadata and provider profile
    (kept in memory only); `name` is what its messages call the server (default: one read from
    the URL)."""
    from batchdash.jobs.opening import provider_gateway
    from batchdash.providers.profiles import BY_NAME

    return provider_gateway(
        api_key, base_url, BY_NAME[provider], name=name, batch_metadata=dict(batch_metadata)
    )
