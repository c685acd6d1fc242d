"""vLLM's run-batch output read as OpenAI's Batch API output lines.

`python -m vllm.entrypoints.openai.run_batch` writes one `BatchRequestOutput` per input line, in
input order, to a single file (vllm/entrypoints/openai/run_batch.py). A success is OpenAI's
shape (`response.status_code` 200 and the endpoint's body). A failure is not: its `error` is a
plain string (a request vLLM could not run: `response.status_code` 400, no body) or vLLM's
`ErrorResponse` object (`{"error": {"message", "type", "code"}}`, older versions
`{"object": "error", "message", "type", "code"}`), beside a response without a body. Those
lines are rewritten here into OpenAI's per-request error shape (`response.body.error`), so the
usual reader (`results.parse`) and the merge take the file as they take any batch's; every
other line is kept byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from batchdash.errors import ResultsError
from batchdash.i18n import _l
from batchdash.results.columns import json_objects

#: How the batch id of an imported file starts (`import:<file name>`): its rows ran on the
#: analyst's own GPU machine, so they cost nothing here.
IMPORTED_PREFIX = "import:"
#: What to do when a file is not vLLM's output, in the messages below.
VLLM_FIX = _l("import the output file vLLM's run-batch wrote (its -o file) for this job")

# vLLM answers a request it could not run with 400 (`make_error_request_output`).
_DEFAULT_STATUS = 400


def openai_lines(data: bytes, source: str) -> list[bytes]:
    """Each non-empty line of a run-batch output file in OpenAI's output-line shape.

    Raises ResultsError (one sentence naming `source`) for an empty file, a line that is not a
    JSON object, or one without a custom_id or without any answer or error.
    """
    lines: list[bytes] = []
    for number, (obj, raw) in enumerate(_objects(data, source), start=1):
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise ResultsError(
                _l(
                    "Line {number} of {source} has no custom_id: {fix}.",
                    number=number,
                    source=source,
                    fix=VLLM_FIX,
                )
            )
        rewritten = _openai_shape(obj)
        shaped = obj if rewritten is None else rewritten
        if not isinstance(shaped.get("response"), dict) and not shaped.get("error"):
            raise ResultsError(
                _l(
                    "Line {number} of {source} has neither an answer nor an error: {fix}.",
                    number=number,
                    source=source,
                    fix=VLLM_FIX,
                )
            )
        if rewritten is None:
            lines.append(raw.strip())
        else:
            lines.append(json.dumps(rewritten, ensure_ascii=False, separators=(",", ":")).encode())
    if not lines:
        raise ResultsError(
            _l("{source} holds no result lines: {fix}.", source=source, fix=VLLM_FIX)
        )
    return lines


def _objects(data: bytes, source: str) -> list[tuple[dict[str, Any], bytes]]:
    raws = [line for line in data.removeprefix(b"\xef\xbb\xbf").splitlines() if line.strip()]
    try:
        objects = list(json_objects(raws, source))
    except ResultsError:
        raise ResultsError(
            _l(
                "{source} is not a results file (a line is not JSON): {fix}.",
                source=source,
                fix=VLLM_FIX,
            )
        ) from None
    return list(zip(objects, raws, strict=True))


def _openai_shape(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The line in OpenAI's shape; None when it has that shape already."""
    error = obj.get("error")
    if error is None:
        return None
    if error == "":
        return {**obj, "error": None}
    response = obj.get("response") if isinstance(obj.get("response"), dict) else None
    message, kind = _error_words(error)
    if message is None:
        return None  # OpenAI's own top-level error object ({code, message})
    if response is None:
        return {**obj, "error": {"code": kind, "message": message}}
    status = response.get("status_code")
    body_error = {"message": message, "type": kind, "code": None}
    return {
        **obj,
        "response": {
            **response,
            "status_code": status if isinstance(status, int) and status != 200 else _DEFAULT_STATUS,
            "body": {"error": body_error},
        },
        "error": None,
    }


def _error_words(error: Any) -> tuple[str | None, str | None]:
    """vLLM's error as (message, type); (None, None) for OpenAI's own error object."""
    if isinstance(error, str):
        return error.strip() or "vLLM gave no reason.", None
    if not isinstance(error, dict):
        return json.dumps(error, ensure_ascii=False), None
    inner = error.get("error")
    if isinstance(inner, dict):  # ErrorResponse: {"error": {"message", "type", "code"}}
        return _text(inner.get("message")), _text(inner.get("type"))
    if error.get("object") == "error":  # older ErrorResponse, flat
        return _text(error.get("message")), _text(error.get("type"))
    return None, None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
