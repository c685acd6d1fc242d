"""The sandbox's synchronous model endpoints, which the pages use to "try on 3 rows".

Attempts are counted per app and per request body (endpoint + canonical JSON), in memory: the
first call with a `[[sandbox:flaky]]` body fails with 500 and the SDK's own retry of the same
body gets an answer, as with a transient server error. A restart forgets the counts.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox.answers import ANSWERED_ENDPOINTS, answer
from sandbox.api_errors import ApiErrorResponse
from sandbox.streaming import STREAMED_ENDPOINTS, stream_events

# Bodies remembered per app; the oldest are forgotten first, so memory stays bounded.
MAX_REMEMBERED_BODIES = 10_000


def _attempt(request: Request, endpoint: str, body: Any) -> int:
    """1 the first time this app sees `body` on `endpoint`, then 2, 3, ..."""
    state = request.app.state
    seen: OrderedDict[str, int] | None = getattr(state, "sync_attempts", None)
    if seen is None:
        seen = state.sync_attempts = OrderedDict()
    canonical = json.dumps([endpoint, body], sort_keys=True, ensure_ascii=False)
    key = hashlib.sha256(canonical.encode()).hexdigest()
    seen[key] = seen.get(key, 0) + 1
    seen.move_to_end(key)
    while len(seen) > MAX_REMEMBERED_BODIES:
        seen.popitem(last=False)
    return seen[key]


def _endpoint_handler(endpoint: str) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            message = "We could not parse the JSON body of your request; send a JSON object."
            return ApiErrorResponse(400, message).response()
        attempt = _attempt(request, endpoint, body)
        # Tokenising and building vectors is CPU work: keep it off the event loop.
        status, payload = await run_in_threadpool(answer, endpoint, body, attempt=attempt)
        streamed = isinstance(body, dict) and body.get("stream") is True
        if status != 200 or not streamed or endpoint not in STREAMED_ENDPOINTS:
            # A refused request gets its JSON error, streamed or not, as from OpenAI.
            return JSONResponse(payload, status_code=status)
        events = await run_in_threadpool(list, stream_events(endpoint, body, payload))
        return StreamingResponse(iter(events), media_type="text/event-stream")

    return handle


#: POST routes for the model endpoints; the sandbox app mounts them at its root.
sync_routes: list[Route] = [
    Route(endpoint, _endpoint_handler(endpoint), methods=["POST"])
    for endpoint in ANSWERED_ENDPOINTS
]
