"""A webhook receiver on 127.0.0.1 for the notifications' tests: it keeps every JSON body it is
posted, and can answer the first few requests with an error or a redirect."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.local_http import serving_handler


@dataclass
class Receiver:
    """The receiver's address and what reached it."""

    #: Its URL, like http://127.0.0.1:40123/hook/secret-token.
    url: str = ""
    #: Each body posted, in order (those answered with an error too).
    bodies: list[Any] = field(default_factory=list)
    #: Each request's headers, in order.
    headers: list[dict[str, str]] = field(default_factory=list)
    #: Requests still to answer with `failure` before answering 200.
    failures: int = 0
    #: The status of a failing answer.
    failure: int = 500
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(*, failures: int = 0, failure: int = 500) -> Iterator[Receiver]:
    """Serve until the block ends."""
    receiver = Receiver(failures=failures, failure=failure)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with receiver.lock:
                receiver.bodies.append(json.loads(raw or b"null"))
                receiver.headers.append(dict(self.headers))
                failing = receiver.failures > 0
                receiver.failures -= failing
            status = receiver.failure if failing else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving_handler(Handler) as port:
        receiver.url = f"http://127.0.0.1:{port}/hook/token-0123456789"
        yield receiver
