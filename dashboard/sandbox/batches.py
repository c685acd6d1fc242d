"""The /v1/batches routes: create, retrieve, list, cancel."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import ApiErrorResponse, bad_param, not_found
from sandbox.context import SandboxContext, context_of
from sandbox.lifecycle import expiry_deadline
from sandbox.params import expiration_after, missing, one_of, query_int
from sandbox.profiles import Dialect
from sandbox.store import BatchRecord, new_id, now

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiErrorResponse(
            400, "We could not parse the JSON body of your request.", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise ApiErrorResponse(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_param(
            "metadata", "Invalid type for 'metadata': expected an object.", "invalid_type"
        )
    if len(metadata) > MAX_METADATA_PAIRS:
        raise bad_param(
            "metadata",
            f"Invalid 'metadata': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got an object with {len(metadata)} properties "
            "instead.",
            "object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY:
            raise bad_param(
                "metadata",
                f"Invalid 'metadata': key '{key[:20]}...' is longer than {MAX_METADATA_KEY} "
                "characters.",
                "string_above_max_length",
            )
        if not isinstance(value, str):
            raise bad_param(
                f"metadata.{key}",
                f"Invalid type for 'metadata.{key}': expected a string.",
                "invalid_type",
            )
        if len(value) > MAX_METADATA_VALUE:
            raise bad_param(
                f"metadata.{key}",
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length {MAX_METADATA_VALUE}, but got a string with length {len(value)} instead.",
                "string_above_max_length",
            )
    return dict(metadata)


async def create_batch(request: Request) -> Response:
    """POST /v1/batches: accept a batch in `validating`; the engine takes it from there."""
    ctx = context_of(request)
    body = await _json_body(request)
    for name in ("input_file_id", "endpoint", "completion_window"):
        if body.get(name) is None:
            raise missing(name)
    dialect = ctx.dialect
    endpoint = one_of("endpoint", body["endpoint"], dialect.batch_endpoints)
    window = _window(dialect, body["completion_window"])
    metadata = _check_metadata(body.get("metadata"))
    output_seconds = expiration_after("output_expires_after", body.get("output_expires_after"))
    input_file_id = str(body["input_file_id"])
    input_file = ctx.store.get_file(input_file_id)
    if input_file is None:
        raise ApiErrorResponse(404, f"No such File object: {input_file_id}", param="input_file_id")
    if input_file.purpose != "batch":
        raise bad_param(
            "input_file_id",
            f"The file {input_file_id} has purpose '{input_file.purpose}'; a batch needs a file "
            "uploaded with purpose 'batch'.",
        )
    created = time.time()
    expires_at, deadline = expiry_deadline(created, _expiry_seconds(ctx, window))
    record = BatchRecord(
        id=new_id("batch_"),
        endpoint=endpoint,
        input_file_id=input_file_id,
        completion_window=window,
        created_at=int(created),
        expires_at=expires_at,
        deadline=deadline,
        metadata=metadata,
        output_expires_seconds=output_seconds,
    )
    ctx.store.add_batch(record)
    ctx.engine.wake()
    return JSONResponse(_present(ctx, record))


def _window(dialect: Dialect, value: Any) -> str:
    """The completion window when the provider accepts it, else its 400 in OpenAI's shape."""
    if not dialect.accepts_window(value):
        raise bad_param(
            "completion_window",
            f"Invalid value: '{value}'. Supported values are: {dialect.windows_text()}.",
        )
    return str(value)


def _expiry_seconds(ctx: SandboxContext, window: str) -> float | None:
    if ctx.completion_window_seconds is not None:
        return ctx.completion_window_seconds
    return ctx.dialect.expiry_seconds(window)


def _present(ctx: SandboxContext, record: BatchRecord) -> dict[str, Any]:
    """The Batch object as this provider shows it (SiliconFlow says `in_queue`)."""
    data = record.to_api()
    if ctx.dialect.queued_status is not None and record.status == "validating":
        data["status"] = ctx.dialect.queued_status
    return data


def _batch_or_404(request: Request) -> BatchRecord:
    batch_id = request.path_params["batch_id"]
    record = context_of(request).store.get_batch(batch_id)
    if record is None:
        raise not_found("Batch", batch_id)
    return record


async def retrieve_batch(request: Request) -> Response:
    """GET /v1/batches/{batch_id}."""
    return JSONResponse(_present(context_of(request), _batch_or_404(request)))


async def list_batches(request: Request) -> Response:
    """GET /v1/batches: a page of batches, newest first."""
    query = request.query_params
    limit = query_int(query, "limit", 20, 1, 100)
    ctx = context_of(request)
    records, has_more = ctx.store.list_batches(after=query.get("after"), limit=limit)
    page: dict[str, Any] = {
        "object": "list",
        "data": [_present(ctx, record) for record in records],
        "has_more": has_more,
    }
    if records:
        page["first_id"], page["last_id"] = records[0].id, records[-1].id
    return JSONResponse(page)


async def cancel_batch(request: Request) -> Response:
    """POST /v1/batches/{batch_id}/cancel: a validating or running batch becomes `cancelling`."""
    ctx = context_of(request)
    record = _batch_or_404(request)
    with ctx.store.transaction() as conn:
        fresh = ctx.store.get_batch(record.id)
        assert fresh is not None
        if fresh.status not in ("validating", "in_progress"):
            raise ApiErrorResponse(
                400,
                f"Cannot cancel a batch with status '{fresh.status}'; only a validating or "
                "in_progress batch can be cancelled.",
            )
        fresh.status = "cancelling"
        fresh.cancelling_at = now()
        ctx.store.put_batch(fresh, conn)
    ctx.engine.wake()
    return JSONResponse(_present(ctx, fresh))


def batch_routes_for(dialect: Dialect) -> list[Route]:
    """The batch routes a provider has: one without cancel or list answers those 404/405."""
    routes = [
        Route("/v1/batches", create_batch, methods=["POST"]),
        Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
    ]
    if dialect.has_list:
        routes.append(Route("/v1/batches", list_batches, methods=["GET"]))
    if dialect.has_cancel:
        routes.append(Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]))
    return routes
