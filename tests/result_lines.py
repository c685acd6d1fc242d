"""Output and error file lines in the Batch API's format, for tests and benchmarks."""

from __future__ import annotations

import json
from typing import Any

from batchdash.recipe import MODERATION_CATEGORIES

EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."


def result_line(custom_id: str, response: Any = None, error: Any = None) -> bytes:
    """One `BatchRequestOutput` line (no newline)."""
    record = {"id": f"batch_req_{custom_id}", "custom_id": custom_id}
    record |= {"response": response, "error": error}
    return json.dumps(record, ensure_ascii=False).encode()


def answer_line(custom_id: str, body: dict[str, Any]) -> bytes:
    """A successful (HTTP 200) line carrying `body`."""
    return result_line(custom_id, {"status_code": 200, "request_id": "req_1", "body": body})


def chat_body(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    """A `chat.completion` body."""
    message = {"role": "assistant", "content": content, "refusal": refusal}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1711475054,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def chat_line(custom_id: str, content: str | None, **options: Any) -> bytes:
    """A successful chat line; `options` go to `chat_body`."""
    return answer_line(custom_id, chat_body(content, **options))


def http_error_line(custom_id: str, status_code: int, message: str, code: str | None) -> bytes:
    """A request the API answered with an HTTP error."""
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    response = {"status_code": status_code, "request_id": "req_1", "body": {"error": error}}
    return result_line(custom_id, response)


def not_run_line(
    custom_id: str, code: str = "batch_expired", message: str = EXPIRED_MESSAGE
) -> bytes:
    """A request that never ran (expired or cancelled batch)."""
    return result_line(custom_id, None, {"code": code, "message": message})


def jsonl(*lines: bytes) -> bytes:
    """Lines joined into a newline-terminated file."""
    return b"".join(line + b"\n" for line in lines)


def moderation_body(
    scores: dict[str, float] | None = None, model: str = "omni-moderation-2024-09-26"
) -> dict[str, Any]:
    """A moderation body for one input: every category scores 0.0001 unless `scores` says
    otherwise, and a category scoring 0.5 or more is flagged."""
    every = dict.fromkeys(MODERATION_CATEGORIES, 0.0001) | (scores or {})
    categories = {name: score >= 0.5 for name, score in every.items()}
    result = {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": every,
        "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
    }
    return {"id": "modr-1", "model": model, "results": [result]}


def moderation_line(custom_id: str, scores: dict[str, float] | None = None) -> bytes:
    """A successful moderation line; see `moderation_body`."""
    return answer_line(custom_id, moderation_body(scores))
