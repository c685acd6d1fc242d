"""Progress of the result files a refresh fetches, for whoever shows it.

The job service fetches a finished batch's files inside `refresh`, through its gateway. The
gateway given to the service is wrapped by `reporting`: its downloads tell the listener of the
calling thread (set with `listening`) how many bytes came in so far, so a page can draw a
progress bar while one shared service serves every session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

from batchdash.api.gateway import Gateway

#: listener(file_id, bytes_so_far, total_bytes or None)
FetchListener = Callable[[str, int, int | None], None]

_listener: ContextVar[FetchListener | None] = ContextVar("batchdash_fetch_listener", default=None)


@contextmanager
def listening_to_fetches(listener: FetchListener) -> Iterator[None]:
    """Send the progress of every download made in this block (this thread) to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class _ReportingGateway:
    """A gateway whose downloads report to the current listener; everything else passes through."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def __repr__(self) -> str:
        return repr(self._gateway)

    def download_file(self, file_id: str, dest: Path) -> int:
        listener = _listener.get()
        if listener is None:
            return self._gateway.download_file(file_id, dest)

        def report(done: int, total: int | None) -> None:
            listener(file_id, done, total)

        listener(file_id, 0, None)
        return self._gateway.download_file(file_id, dest, on_progress=report)


def reporting(gateway: Gateway) -> Gateway:
    """`gateway`, with downloads that report their progress to the listener of the thread."""
    return cast(Gateway, _ReportingGateway(gateway))
