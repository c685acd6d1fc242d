"""What the routes of one sandbox app share: its store, engine and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request

from sandbox.lifecycle import Engine
from sandbox.store import Store

#: OpenAI's limit on one uploaded file (200 MB, read as the stricter decimal megabytes).
MAX_FILE_BYTES = 200_000_000


@dataclass(frozen=True)
class SandboxContext:
    """The state behind one sandbox app."""

    #: Records and file contents.
    store: Store
    #: The background worker that moves batches on.
    engine: Engine
    #: Seconds from creation to expiry of a batch (OpenAI: 24 h).
    completion_window_seconds: float
    #: Largest file an upload may carry.
    max_file_bytes: int = MAX_FILE_BYTES


def context_of(request: Request) -> SandboxContext:
    """The context of the app serving `request`."""
    return cast(SandboxContext, request.app.state.sandbox)
