"""`--fault-rate`: a share of API calls fails the way a busy API does, for reliability tests.

Each call (the health check aside) draws from a seeded random generator: with probability
`rate` it answers 500, or 429 with `retry-after`, or stalls for `stall_seconds` (longer than a
client's timeout) before being served as usual, as a slow server does; a client that gave up
and retried may then find its call was carried out after all (the request is read before the
stall, so even a create or an upload whose client left is carried out).
"""

from __future__ import annotations

import random
import threading
from typing import Literal

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.api_errors import ApiErrorResponse

Fault = Literal["server_error", "rate_limited", "stall"]
FAULTS: tuple[Fault, ...] = ("server_error", "rate_limited", "stall")

#: Paths never faulted, so a supervisor can tell the server is up.
EXEMPT_PATHS = frozenset({"/health"})


class FaultMiddleware:
    """ASGI middleware that fails a seeded random share of HTTP calls."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        seed: int = 0,
        stall_seconds: float = 75.0,
        retry_after_seconds: int = 1,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"The fault rate must be between 0 and 1, not {rate}.")
        self.app = app
        self.rate = rate
        self.stall_seconds = stall_seconds
        self.retry_after_seconds = retry_after_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> Fault | None:
        """The fault for the next call, or None to serve it normally."""
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            return self._random.choice(FAULTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate == 0 or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        fault = self.draw()
        if fault == "server_error":
            error = ApiErrorResponse(
                500,
                "The server had an error while processing your request. Sorry about that! "
                "(sandbox fault)",
                type="server_error",
            )
            await error.response()(scope, receive, send)
            return
        if fault == "rate_limited":
            error = ApiErrorResponse(
                429,
                "Rate limit reached for requests. Please try again shortly. (sandbox fault)",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": str(self.retry_after_seconds)},
            )
            await error.response()(scope, receive, send)
            return
        if fault == "stall":
            # The request is read first, so a client that gives up during the stall has
            # already sent it: the call is carried out all the same, as on a slow server.
            receive = await _buffered(receive)
            await anyio.sleep(self.stall_seconds)
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; the returned `receive` hands it out again."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay
