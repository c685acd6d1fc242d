"""ASGI layers every sandbox answer passes through: OpenAI's `x-request-id` header, and (with
`--require-key`) the 401 OpenAI answers a request without an API key.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so streamed answers (server-sent events,
file contents) pass through untouched.
"""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The words OpenAI answers a request that carries no key with (HTTP 401).
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
# Paths open without a key: the health check is the sandbox's own, not part of the API.
_OPEN_PATHS = ("/health",)


class RequestIdMiddleware:
    """Adds an `x-request-id: req_...` header to every response, as OpenAI does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{secrets.token_hex(16)}".encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id)]}
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequireKeyMiddleware:
    """Answers 401 in OpenAI's shape when a request has no `Authorization: Bearer` header.

    Any key is accepted: the sandbox has none to check against, it only imitates the refusal a
    client sees when it forgot to send one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS or _has_key(scope):
            await self.app(scope, receive, send)
            return
        error = {
            "error": {
                "message": NO_KEY_MESSAGE,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        body = json.dumps(error).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="OpenAI API"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _has_key(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and bool(key.strip())
    return False
