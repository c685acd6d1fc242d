"""The sandbox ASGI app: OpenAI's Files and Batches APIs and the model endpoints, served locally.

The progress engine runs while the app's lifespan runs: under uvicorn, or inside a Starlette
`TestClient` used as a context manager (`with TestClient(app) as client:`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.answers import answer, input_tokens
from sandbox.api_errors import ApiErrorResponse, handle_api_error, handle_http_exception
from sandbox.batches import batch_routes_for
from sandbox.context import SandboxContext
from sandbox.faults import FaultMiddleware
from sandbox.files import file_routes
from sandbox.lifecycle import AnswerFn, Engine
from sandbox.middleware import RequestIdMiddleware, RequireKeyMiddleware
from sandbox.models_route import model_routes
from sandbox.profiles import Dialect, NoRoute, dialect_named
from sandbox.store import Store
from sandbox.sync_limits import SyncLimitMiddleware
from sandbox.sync_routes import sync_routes


async def health(_request: Request) -> Response:
    """GET /health: answers while the server runs (never faulted)."""
    return JSONResponse({"status": "ok"})


def create_app(
    data_dir: Path,
    *,
    rate: float | None = None,
    fault_rate: float = 0.0,
    seed: int = 0,
    completion_window_seconds: float | None = None,
    token_limits: Mapping[str, int] | None = None,
    stall_seconds: float = 75.0,
    max_file_bytes: int | None = None,
    profile: str = "openai",
    require_key: bool = False,
    sync_pace: float = 0.0,
    sync_concurrency: int | None = None,
    fault_retry_after: int = 1,
) -> Starlette:
    """A sandbox app keeping its state in `data_dir` (created if missing).

    `rate` is requests per second per batch (None: as fast as possible); `fault_rate` the share
    of calls that fail at random (seeded by `seed`), stalls lasting `stall_seconds`, 429s
    asking to wait `fault_retry_after` seconds;
    `completion_window_seconds` how long every batch may run before it expires (None: as the
    profile and the batch's window say); `token_limits` the enqueued input-token limit per
    model; `max_file_bytes` the largest upload (None: the profile's); `profile` the provider
    whose documented differences the sandbox imitates (sandbox.profiles); `require_key` makes
    a request without an `Authorization: Bearer` header answer 401, as OpenAI does;
    `sync_pace` is the seconds each call to a model route takes, and above `sync_concurrency`
    such calls at once the route answers 429 (sandbox.sync_limits).
    """
    if rate is not None and rate <= 0:
        raise ValueError(f"The rate must be a positive number of requests per second, not {rate}.")
    dialect = dialect_named(profile)
    store = Store(Path(data_dir))
    engine = Engine(
        store,
        _dialect_answer(dialect),
        rate=rate,
        token_limits=token_limits or {},
        count_tokens=input_tokens,
        check_file=dialect.file_problems,
        empty_error_file=dialect.empty_error_file,
    )
    context = SandboxContext(
        store,
        engine,
        completion_window_seconds,
        dialect.max_file_bytes if max_file_bytes is None else max_file_bytes,
        dialect,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.stop()
            store.close()

    # Outermost first: every answer, faults and refusals included, carries a request id.
    middleware = [Middleware(RequestIdMiddleware)]
    if require_key:
        middleware.append(Middleware(RequireKeyMiddleware))
    if fault_rate > 0:
        # On every route, the model routes included: a faulted call never takes a slot there.
        middleware.append(
            Middleware(
                FaultMiddleware,
                rate=fault_rate,
                seed=seed,
                stall_seconds=stall_seconds,
                retry_after_seconds=fault_retry_after,
            )
        )
    if sync_pace or sync_concurrency is not None:
        middleware.append(
            Middleware(SyncLimitMiddleware, pace=sync_pace, concurrency=sync_concurrency)
        )
    app = Starlette(
        routes=[
            Route("/health", health),
            *_batch_api_routes(dialect),
            *model_routes,
            *sync_routes,
        ],
        middleware=middleware,
        exception_handlers={
            ApiErrorResponse: handle_api_error,
            HTTPException: handle_http_exception,
        },
        lifespan=lifespan,
    )
    app.state.sandbox = context
    return app


def _batch_api_routes(dialect: Dialect) -> list[BaseRoute]:
    """The Files and Batches routes, or for a server without them its answer for any route
    it lacks under those paths."""
    if dialect.batch_api:
        return [*file_routes, *batch_routes_for(dialect)]
    answer = dialect.no_route or NoRoute(404, '{{"detail": "Not Found"}}')

    async def missing(request: Request) -> Response:
        body = answer.text(request.method, request.url.path)
        return Response(body, status_code=answer.status, media_type=answer.media_type)

    methods = ["GET", "POST", "DELETE"]
    return [
        Route(path, missing, methods=methods)
        for path in ("/v1/files", "/v1/files/{rest:path}", "/v1/batches", "/v1/batches/{rest:path}")
    ]


def _dialect_answer(dialect: Dialect) -> AnswerFn:
    """`answer`, reached through the dialect's endpoint aliases; free models cost nothing."""

    def respond(endpoint: str, body: dict[str, Any], *, attempt: int) -> tuple[int, dict[str, Any]]:
        status, payload = answer(dialect.answered_endpoint(endpoint), body, attempt=attempt)
        usage = payload.get("usage")
        if body.get("model") in dialect.free_models and isinstance(usage, dict):
            # A test model runs no inference: the answer is there, the bill is empty.
            payload["usage"] = _zeroed(usage)
        return status, payload

    return respond


def _zeroed(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _zeroed(value) if isinstance(value, dict) else 0 if isinstance(value, int) else value
        for key, value in usage.items()
    }
