"""The project's own picture of a Batch object, independent of the SDK's classes.

Statuses stay plain text: a compatible server may send one OpenAI never does, and an unknown
status is treated as still running. Which statuses are final is configurable per provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES

_TIMESTAMPS = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


@dataclass(frozen=True)
class BatchErrorEntry:
    """One entry of a batch's `errors.data` (why validation failed)."""

    #: Machine-readable code, e.g. "token_limit_exceeded" or "invalid_json_line".
    code: str | None
    #: The server's explanation.
    message: str | None
    #: Input-file line (1-based) the error is about, when it is about one.
    line: int | None = None
    #: Request parameter at fault, when one is.
    param: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    """A snapshot of one batch as the API reported it."""

    #: Batch id, e.g. "batch_abc123".
    id: str
    #: Status text as sent: validating, in_progress, finalizing, completed, failed, expired,
    #: cancelling, cancelled, or anything else a compatible server invents.
    status: str
    #: Endpoint every request of the batch goes to.
    endpoint: str
    #: Model of the batch, when the server says.
    model: str | None = None
    #: Uploaded JSONL file the batch reads.
    input_file_id: str = ""
    #: File of successful answers; None until finished, or when every request failed.
    output_file_id: str | None = None
    #: File of failed requests; None when there were none (Azure may send an empty file).
    error_file_id: str | None = None
    #: Always "24h" on OpenAI.
    completion_window: str = "24h"
    #: Requests in the batch.
    total: int = 0
    #: Requests answered successfully so far.
    completed: int = 0
    #: Requests that failed so far.
    failed: int = 0
    #: Input tokens used so far.
    input_tokens: int = 0
    #: Output tokens used so far.
    output_tokens: int = 0
    #: The string pairs attached at creation (Batchdash tags job and part here).
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Validation errors of a failed batch.
    errors: tuple[BatchErrorEntry, ...] = ()
    #: Unix seconds of creation.
    created_at: int = 0
    #: Unix seconds when processing started.
    in_progress_at: int | None = None
    #: Unix seconds when the completion window ends.
    expires_at: int | None = None
    #: Unix seconds when the output files started being written.
    finalizing_at: int | None = None
    #: Unix seconds of completion.
    completed_at: int | None = None
    #: Unix seconds of a validation failure.
    failed_at: int | None = None
    #: Unix seconds of expiry.
    expired_at: int | None = None
    #: Unix seconds when cancelling started.
    cancelling_at: int | None = None
    #: Unix seconds when cancelling finished.
    cancelled_at: int | None = None
    #: The statuses after which the batch never changes (configurable for other providers).
    terminal_statuses: frozenset[str] = field(
        default=OPENAI_TERMINAL_STATUSES, repr=False, compare=False
    )

    @property
    def terminal(self) -> bool:
        """Whether the batch has reached a final status (unknown statuses are not final)."""
        return self.status in self.terminal_statuses

    @property
    def pending(self) -> int:
        """Requests neither answered nor failed yet."""
        return max(self.total - self.completed - self.failed, 0)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        terminal_statuses: frozenset[str] = OPENAI_TERMINAL_STATUSES,
    ) -> BatchInfo:
        """Read the API's JSON Batch object (or `to_dict` output); missing parts default."""
        counts = data.get("request_counts") or {}
        usage = data.get("usage") or {}
        errors = data.get("errors") or {}
        error_data = errors.get("data") if isinstance(errors, Mapping) else errors
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or "unknown"),
            endpoint=str(data.get("endpoint") or ""),
            model=data.get("model"),
            input_file_id=str(data.get("input_file_id") or ""),
            output_file_id=data.get("output_file_id") or None,
            error_file_id=data.get("error_file_id") or None,
            completion_window=str(data.get("completion_window") or "24h"),
            total=int(counts.get("total") or 0),
            completed=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            errors=tuple(
                BatchErrorEntry(
                    code=entry.get("code"),
                    message=entry.get("message"),
                    line=entry.get("line"),
                    param=entry.get("param"),
                )
                for entry in error_data or ()
            ),
            created_at=int(data.get("created_at") or 0),
            in_progress_at=_timestamp(data.get("in_progress_at")),
            expires_at=_timestamp(data.get("expires_at")),
            finalizing_at=_timestamp(data.get("finalizing_at")),
            completed_at=_timestamp(data.get("completed_at")),
            failed_at=_timestamp(data.get("failed_at")),
            expired_at=_timestamp(data.get("expired_at")),
            cancelling_at=_timestamp(data.get("cancelling_at")),
            cancelled_at=_timestamp(data.get("cancelled_at")),
            terminal_statuses=terminal_statuses,
        )

    def to_dict(self) -> dict[str, Any]:
        """The snapshot in the API's JSON shape, for the registry (inverse of `from_dict`)."""
        return {
            "id": self.id,
            "object": "batch",
            "status": self.status,
            "endpoint": self.endpoint,
            "model": self.model,
            "input_file_id": self.input_file_id,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "completion_window": self.completion_window,
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "metadata": dict(self.metadata),
            "errors": {
                "object": "list",
                "data": [
                    {"code": e.code, "message": e.message, "line": e.line, "param": e.param}
                    for e in self.errors
                ],
            }
            if self.errors
            else None,
            **{name: getattr(self, name) for name in _TIMESTAMPS},
        }


def _timestamp(value: Any) -> int | None:
    return None if value is None else int(value)
