"""Direct runs under test: a sandbox that counts, on the server side, every call to its model
routes per custom_id, and a table whose prompts name their rows."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pandas as pd
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchdash.recipe import Recipe
from sandbox.answers import ANSWERED_ENDPOINTS
from sandbox.server import running_sandbox

#: Each row's prompt is this and its id, so the server can tell which row a call is for.
PROMPT_PREFIX = "Answer row "
RECIPE = Recipe(
    model="gpt-4o-mini",
    template=PROMPT_PREFIX + "{key}",
    id_column="key",
    max_output_tokens=16,
)


def keyed_rows(count: int) -> pd.DataFrame:
    """A table of `count` rows whose custom_ids are k1, k2, ..."""
    return pd.DataFrame({"key": [f"k{i}" for i in range(1, count + 1)], "n": range(count)})


@dataclass
class Call:
    """One call to a model route, as the server saw it."""

    #: The row it was for.
    custom_id: str
    #: time.monotonic() when it arrived.
    arrived: float
    #: The HTTP status answered (0 while unanswered).
    status: int = 0
    #: The retry-after it was answered with, if any.
    retry_after: float | None = None


@dataclass
class CallLog:
    """Every model-route call the server received, in arrival order."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def per_row(self) -> Counter[str]:
        """Calls per custom_id."""
        with self.lock:
            return Counter(call.custom_id for call in self.calls)

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)


class CountingMiddleware:
    """Notes every call to a model route (faulted ones included: it is outermost)."""

    def __init__(self, app: ASGIApp, log: CallLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ANSWERED_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        call = Call(_row_of(json.loads(body)), arrived)
        with self.log.lock:  # noted as it arrives: a call its client gave up on counts too
            self.log.calls.append(call)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                wait = dict(message.get("headers", [])).get(b"retry-after")
                call.retry_after = float(wait) if wait is not None else None
                call.status = int(message["status"])
            await send(message)

        await self.app(scope, replay, noting)


def _row_of(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    return str(text).removeprefix(PROMPT_PREFIX)


@contextmanager
def counting_sandbox(data_dir: Path, **app_options: Any) -> Iterator[tuple[str, CallLog]]:
    """A sandbox on 127.0.0.1 (options as `create_app`'s) and the log of its model calls,
    warmed up: its first answer loads a tokenizer, which takes seconds on a busy machine."""
    log = CallLog()
    with running_sandbox(
        data_dir, wrap=lambda app: CountingMiddleware(app, log), **app_options
    ) as url:
        body = {"model": RECIPE.model, "messages": [{"role": "user", "content": "warm-up"}]}
        warm = httpx2.Client(timeout=120)
        with warm:
            while warm.post(f"{url}/chat/completions", json=body).status_code != 200:
                continue  # a fault: the next call gets through
        with log.lock:
            log.calls.clear()
        yield url, log
