"""What the routes of one sandbox app share: its store, engine and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request

from sandbox.lifecycle import Engine
from sandbox.profiles import Dialect
from sandbox.store import Store


@dataclass(frozen=True)
class SandboxContext:
    """The state behind one sandbox app."""

    #: Records and file contents.
    store: Store
    #: The background worker that moves batches on.
    engine: Engine
    #: Seconds from creation to expiry of every batch (None: as the dialect and window say).
    completion_window_seconds: float | None
    #: Largest file an upload may carry.
    max_file_bytes: int
    #: The provider whose differences the sandbox imitates.
    dialect: Dialect


def context_of(request: Request) -> SandboxContext:
    """The context of the app serving `request`."""
    return cast(SandboxContext, request.app.state.sandbox)
