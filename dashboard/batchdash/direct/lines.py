"""A direct call's outcome as a line of the Batch API's output format, so that the merge reads
a direct part's rows exactly as it reads a batch's output and error files (contract 6).

An answer is a line with `response.status_code` 200 and the answer as `body`; a refusal of the
request itself a line with its 4xx status and the server's `{"error": ...}` body, as in a
batch's error file; a call that kept failing (rate limits, server errors, timeouts) past the
retries a line with a top-level `error`; a row cancelled before it was sent a `batch_cancelled`
error, which the merge counts as `cancelled`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from batchdash.api.gateway import DirectAnswer
from batchdash.errors import ApiError
from batchdash.registry.direct_lines import DirectLine

#: The top-level error code of a row whose calls kept failing past the retries.
CALLS_FAILED = "direct_calls_failed"
#: The code the Batch API gives requests a cancel stopped (the merge reads it as `cancelled`).
CANCELLED = "batch_cancelled"


def answer_line(custom_id: str, answer: DirectAnswer, calls: int) -> DirectLine:
    """The line of an answer, or of a refusal of the request itself (a 4xx)."""
    response = {
        "status_code": answer.status_code,
        "request_id": answer.request_id or "",
        "body": answer.body,
    }
    outcome = "ok" if answer.status_code == 200 else "error"
    return DirectLine(custom_id, outcome, _line(custom_id, response, None), calls)


def failed_line(custom_id: str, error: ApiError, calls: int) -> DirectLine:
    """The line of a row whose calls all failed: the last failure, said plainly."""
    message = f"{' '.join(str(error).split())} (after {calls} call{'s' if calls != 1 else ''})"
    failure = {"code": CALLS_FAILED, "message": message}
    return DirectLine(custom_id, "error", _line(custom_id, None, failure), calls)


def cancelled_line(custom_id: str) -> DirectLine:
    """The line of a row a cancel kept from being sent."""
    failure = {
        "code": CANCELLED,
        "message": "The direct run was cancelled before this row was sent.",
    }
    return DirectLine(custom_id, "cancelled", _line(custom_id, None, failure), 0)


def _line(custom_id: str, response: dict[str, Any] | None, error: dict[str, str] | None) -> str:
    line = {
        "id": f"direct_req_{uuid.uuid4().hex}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))
