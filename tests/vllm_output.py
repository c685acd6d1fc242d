"""Output files shaped as vLLM's run-batch writes them (vllm/entrypoints/openai/run_batch.py:
`BatchRequestOutput` with `BatchResponseData`), made from an exported input file.

A success carries vLLM's ChatCompletionResponse (its own extra fields included); a request vLLM
could not run gets `make_error_request_output`'s line: status 400, no body, `error` a plain
string; a request the server refused gets its `ErrorResponse` object as `error`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

MODEL_MISSING = {
    "error": {
        "message": "The model `missing-model` does not exist.",
        "type": "NotFoundError",
        "param": "model",
        "code": 404,
    }
}
# vLLM before the ErrorResponse nesting (0.10 and earlier) wrote it flat.
FLAT_ERROR = {
    "object": "error",
    "message": "This model's maximum context length is 2048 tokens.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}


def success(custom_id: str, model: str, text: str, prompt_tokens: int = 9) -> dict[str, Any]:
    """A line vLLM writes for an answered chat request."""
    completion_tokens = len(text.split())
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": 1_765_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": None,
                    "audio": None,
                    "function_call": None,
                    "tool_calls": [],
                    "reasoning_content": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }
    return _line(custom_id, 200, body, None)


def string_error(custom_id: str, message: str) -> dict[str, Any]:
    """The line of a request vLLM could not run (`make_error_request_output`)."""
    return _line(custom_id, 400, None, message)


def error_response(custom_id: str, error: Mapping[str, Any], status: int) -> dict[str, Any]:
    """The line of a request the server answered with an ErrorResponse."""
    return _line(custom_id, status, None, dict(error))


def _line(custom_id: str, status: int, body: Any, error: Any) -> dict[str, Any]:
    return {
        "id": f"vllm-{uuid.uuid4().hex}",
        "custom_id": custom_id,
        "response": {
            "status_code": status,
            "request_id": f"vllm-batch-{uuid.uuid4().hex}",
            "body": body,
        },
        "error": error,
    }


def output_for(
    exported: bytes,
    *,
    errors: Mapping[str, str] = (),  # type: ignore[assignment]
    missing: Iterable[str] = (),
) -> bytes:
    """run-batch's output for an exported JSONL: every line answered in input order ("Answer
    to <custom_id>"), but those in `errors` failing with that string and those in `missing`
    left out (as when the run was stopped)."""
    skipped = set(missing)
    errors = dict(errors)
    lines = []
    for raw in exported.splitlines():
        request = json.loads(raw)
        custom_id = request["custom_id"]
        if custom_id in skipped:
            continue
        if custom_id in errors:
            lines.append(string_error(custom_id, errors[custom_id]))
        else:
            model = request["body"]["model"]
            lines.append(success(custom_id, model, f"Answer to {custom_id}"))
    return "".join(json.dumps(line) + "\n" for line in lines).encode()
