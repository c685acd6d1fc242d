"""The /v1/files routes: upload, list, retrieve, delete, content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import ApiErrorResponse, bad_param, not_found
from sandbox.context import SandboxContext, context_of
from sandbox.lifecycle import DEFAULT_OUTPUT_EXPIRY_SECONDS
from sandbox.params import expiration_after, missing, one_of, query_int
from sandbox.store import FileRecord, new_id, now, write_atomically

# Room for the multipart envelope around the file when judging Content-Length.
_MULTIPART_OVERHEAD = 64 * 1024
_COPY_CHUNK = 1024 * 1024
#: Purposes an upload may name (spec `CreateFileRequest.purpose`); only `batch` files feed
#: batches. `evals` is left out: the spec's File object has no such purpose to report it with.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data")
# OpenAI allows up to 10,000 files per list page.
_MAX_LIST_LIMIT = 10_000


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(_COPY_CHUNK):
        yield chunk


def _too_large(limit: int) -> str:
    return f"The file is larger than the {limit:,} bytes an upload may hold; split it into parts."


async def create_file(request: Request) -> Response:
    """POST /v1/files: store an upload (a `.jsonl` file when it is for the Batch API)."""
    ctx = context_of(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > ctx.max_file_bytes + _MULTIPART_OVERHEAD:
        raise ApiErrorResponse(
            413, _too_large(ctx.max_file_bytes), param="file", code="file_too_large"
        )
    async with request.form() as form:
        upload = form.get("file")
        purpose = form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise missing("file")
        if purpose is None:
            raise missing("purpose")
        purpose = one_of("purpose", purpose, UPLOAD_PURPOSES)
        filename = upload.filename or ""
        if purpose == "batch" and not filename.lower().endswith(".jsonl"):
            # OpenAI's own answer names neither a param nor a code.
            raise ApiErrorResponse(
                400, "Invalid file format for Batch API. Must be .jsonl", param=None, code=None
            )
        size = upload.size or 0
        if size > ctx.max_file_bytes:
            raise bad_param("file", _too_large(ctx.max_file_bytes), code="file_too_large")
        expires_after = None
        if "expires_after[anchor]" in form or "expires_after[seconds]" in form:
            expires_after = {
                key: form[f"expires_after[{key}]"]
                for key in ("anchor", "seconds")
                if f"expires_after[{key}]" in form
            }
        seconds = expiration_after("expires_after", expires_after)
        _check_kept_files(ctx, seconds)
        file_id = new_id("file-")
        path = ctx.store.file_path(file_id)
        await upload.seek(0)
        written = await run_in_threadpool(write_atomically, path, _read_chunks(upload.file))
    created = now()
    if seconds is None and ctx.dialect.files_expire:
        seconds = DEFAULT_OUTPUT_EXPIRY_SECONDS
    record = FileRecord(
        id=file_id,
        bytes=written,
        created_at=created,
        filename=filename,
        purpose=purpose,
        expires_at=None if seconds is None else created + seconds,
    )
    ctx.store.add_file(record)
    return JSONResponse(record.to_api())


def _check_kept_files(ctx: SandboxContext, seconds: int | None) -> None:
    """Azure keeps at most 500 input files without an expiry per resource; one more is refused.

    Azure documents the cap, not the error it answers with: the sandbox answers a 400 in
    OpenAI's shape that names the limit and the way out.
    """
    cap = ctx.dialect.max_kept_files
    if cap is None or seconds is not None:
        return
    if ctx.store.count_kept_inputs() >= cap:
        raise ApiErrorResponse(
            400,
            f"This resource already holds {cap} batch input files without an expiry, the most it "
            "may keep. Delete some files, or upload with expires_after.",
            param="file",
            code="file_limit_exceeded",
        )


async def list_files(request: Request) -> Response:
    """GET /v1/files: a page of files, newest first unless `order=asc`."""
    query = request.query_params
    limit = query_int(query, "limit", _MAX_LIST_LIMIT, 1, _MAX_LIST_LIMIT)
    order = one_of("order", query.get("order", "desc"), ("asc", "desc"))
    records, has_more = context_of(request).store.list_files(
        purpose=query.get("purpose"),
        after=query.get("after"),
        limit=limit,
        order="asc" if order == "asc" else "desc",
    )
    data = [record.to_api() for record in records]
    # The newest spec requires first_id and last_id as strings, so an empty page sends "".
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else "",
            "last_id": data[-1]["id"] if data else "",
            "has_more": has_more,
        }
    )


def _file_or_404(request: Request) -> FileRecord:
    file_id = request.path_params["file_id"]
    record = context_of(request).store.get_file(file_id)
    if record is None:
        raise not_found("File", file_id)
    return record


async def retrieve_file(request: Request) -> Response:
    """GET /v1/files/{file_id}."""
    return JSONResponse(_file_or_404(request).to_api())


async def delete_file(request: Request) -> Response:
    """DELETE /v1/files/{file_id}."""
    record = _file_or_404(request)
    deleted = context_of(request).store.delete_file(record.id)
    return JSONResponse({"id": record.id, "object": "file", "deleted": deleted})


async def file_content(request: Request) -> Response:
    """GET /v1/files/{file_id}/content, streamed from disk."""
    record = _file_or_404(request)
    path = context_of(request).store.file_path(record.id)
    if not path.exists():
        raise not_found("File", record.id)
    return FileResponse(path, media_type="application/octet-stream", filename=record.filename)


file_routes = [
    Route("/v1/files", create_file, methods=["POST"]),
    Route("/v1/files", list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", retrieve_file, methods=["GET"]),
    Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
]
