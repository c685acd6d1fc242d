"""A stranger's server on 127.0.0.1 that writes down every Authorization header it is sent."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.local_http import serving_handler


@dataclass
class Listener:
    """The listener's address and what reached it."""

    #: Its base URL, like http://127.0.0.1:40123/v1.
    url: str
    #: Each request's method, path and Authorization header, in order.
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def saw(self, secret: str) -> bool:
        """Whether any request carried `secret`."""
        return any(secret in authorization for _, _, authorization in self.requests)


@contextmanager
def recording_server() -> Iterator[Listener]:
    """Serve until the block ends; every request is answered 401, as OpenAI answers a wrong
    key."""
    listener = Listener("")

    class Record(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            listener.requests.append(
                (self.command, self.path, self.headers.get("Authorization", ""))
            )
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                        "param": None,
                    }
                }
            ).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving_handler(Record) as port:
        listener.url = f"http://127.0.0.1:{port}/v1"
        yield listener
