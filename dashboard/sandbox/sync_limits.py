"""`--sync-pace` and `--sync-concurrency`: the synchronous model routes answer as a real model
server does, taking their time and refusing calls beyond what they can run at once.

Each call to a model route holds one of `concurrency` slots while it waits `pace` seconds and
is answered; a call that finds every slot taken is answered 429 with `retry-after`, as OpenAI
answers a client over its rate limit. The Files and Batches routes are left alone.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.answers import ANSWERED_ENDPOINTS
from sandbox.api_errors import ApiErrorResponse

#: Seconds a client refused for lack of a free slot is asked to wait.
BUSY_RETRY_AFTER_SECONDS = 1


class SyncLimitMiddleware:
    """ASGI middleware pacing the model routes and bounding how many run at once."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pace: float = 0.0,
        concurrency: int | None = None,
        retry_after_seconds: int = BUSY_RETRY_AFTER_SECONDS,
    ) -> None:
        if pace < 0:
            raise ValueError(f"The pace must be 0 or more seconds per call, not {pace}.")
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"The concurrency must be at least 1 call, not {concurrency}.")
        self.app = app
        self.pace = pace
        self.concurrency = concurrency
        self.retry_after_seconds = retry_after_seconds
        #: Calls being answered now (one event loop: no lock needed).
        self.running = 0
        #: Calls refused for lack of a free slot so far.
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ANSWERED_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        if self.concurrency is not None and self.running >= self.concurrency:
            self.refused += 1
            error = ApiErrorResponse(
                429,
                f"Too many requests at once: this server answers {self.concurrency} at a time. "
                "(sandbox limit)",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": str(self.retry_after_seconds)},
            )
            await error.response()(scope, receive, send)
            return
        self.running += 1
        freed = False

        def free() -> None:
            nonlocal freed
            if not freed:
                freed = True
                self.running -= 1

        async def send_then_free(message: Message) -> None:
            # The slot is free before the last byte leaves: a client that sends its next call
            # the moment it has this answer finds the slot free.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                free()
            await send(message)

        try:
            if self.pace:
                await anyio.sleep(self.pace)
            await self.app(scope, receive, send_then_free)
        finally:
            free()
