"""Reading the Batch API's output and error files into one result per request.

Both files share one line shape (`BatchRequestOutput`): a `custom_id`, a `response` with the
HTTP status and the endpoint's usual body, or a top-level `error` for requests that never ran.
Lines may come in any order and from any number of files; the merge joins them on custom_id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from batchdash.errors import ResultsError
from batchdash.recipe import ENDPOINTS, Endpoint, Recipe
from batchdash.result_columns import FIX, json_objects, read_columns
from batchdash.structured import FieldValue, parse_structured

RowStatus = Literal["ok", "error", "expired", "cancelled", "not_run"]
ROW_STATUSES: tuple[RowStatus, ...] = get_args(RowStatus)

__all__ = [
    "ROW_STATUSES",
    "FieldValue",
    "RowResult",
    "RowStatus",
    "infer_endpoint_and_model",
    "parse_result_lines",
    "parse_structured",
]

# Top-level error codes of requests that never ran (batch-api.md: "Output and error files").
_NOT_RUN_CODES: dict[str, RowStatus] = {"batch_expired": "expired", "batch_cancelled": "cancelled"}

# The Responses API says why an answer stopped in its own words; the merged table uses the
# Chat Completions words for every endpoint, so one filter on `finish_reason` finds them all.
_RESPONSES_STOP_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}

# The `object` of a successful body tells which endpoint produced it.
_ENDPOINT_OF_OBJECT: dict[str, Endpoint] = {
    "chat.completion": "/v1/chat/completions",
    "response": "/v1/responses",
    "text_completion": "/v1/completions",
    "list": "/v1/embeddings",
}


@dataclass(frozen=True)
class RowResult:
    """What one line of an output or error file says about one request."""

    #: The request's custom_id (DESIGN.md contract 4).
    custom_id: str
    #: ok, error (HTTP error, refusal or malformed structured answer), expired, cancelled.
    status: RowStatus
    #: Answer text; for embeddings the vector as JSON; kept even when a structured answer fails.
    response: str = ""
    #: Structured answer split into the recipe's output fields (empty unless it parsed).
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    #: Why the row failed, as one plain sentence; empty when ok.
    error: str = ""
    #: stop, length, content_filter, ... (Chat Completions words for every endpoint).
    finish_reason: str = ""
    #: Input tokens billed for this request.
    input_tokens: int = 0
    #: Output tokens billed for this request.
    output_tokens: int = 0
    #: The batch that produced the line, when known.
    batch_id: str = ""
    #: The model that answered (as the API reports it), else the recipe's model.
    model: str = ""
    #: Name of the file the line came from, for messages.
    source: str = ""


def parse_result_lines(
    data: bytes | Iterable[bytes],
    *,
    recipe: Recipe,
    batch_id: str = "",
    source_name: str = "the results file",
) -> list[RowResult]:
    """One RowResult per line of one output or error file, in line order.

    `data` is the whole file, or its lines (a file opened in binary mode works). Empty lines
    are skipped, so Azure's empty error file gives an empty list. A line that is not a batch
    result raises ResultsError naming `source_name` and the 1-based line number.
    """
    columns = read_columns(data, recipe.endpoint, source_name)
    values = columns.values
    reply_of = _REPLIES[recipe.endpoint]
    results: list[RowResult] = []
    for row, number in enumerate(columns.line_numbers):

        def bad_line(problem: str, fix: str = FIX, number: int = number) -> ResultsError:
            return ResultsError(f"Line {number} of {source_name} {problem}: {fix}.")

        custom_id = values["custom_id"][row]
        if not custom_id:
            raise bad_line("has no custom_id")
        has_response = values["has_response"][row]
        if has_response and values["status_code"][row] == 200:
            if not values["has_body"][row]:
                raise bad_line("is an answer without a body")
            if not values["shape"][row]:
                raise bad_line(
                    f"is not an answer of {recipe.endpoint}", "choose the endpoint the batch used"
                )
            reply = reply_of(values, row)
            status, answer_fields, problem = _judge(reply, recipe)
            results.append(
                RowResult(
                    custom_id=custom_id,
                    status=status,
                    response=reply.text,
                    fields=answer_fields,
                    error=problem,
                    finish_reason=reply.finish_reason,
                    input_tokens=reply.input_tokens,
                    output_tokens=reply.output_tokens,
                    batch_id=batch_id,
                    model=values["model"][row] or recipe.model,
                    source=source_name,
                )
            )
            continue
        code = values["error_code"][row]
        message = values["error_message"][row]
        if code or message:
            status = _NOT_RUN_CODES.get(code or "", "error")
            problem = message or f"The request did not run ({code})."
        elif has_response:
            status, problem = "error", _http_error(values, row)
        else:
            raise bad_line("has neither a response nor an error")
        results.append(
            RowResult(
                custom_id=custom_id,
                status=status,
                error=problem,
                batch_id=batch_id,
                model=recipe.model,
                source=source_name,
            )
        )
    return results


def infer_endpoint_and_model(
    data: bytes | Iterable[bytes], *, source_name: str = "the results file"
) -> tuple[Endpoint | None, str | None]:
    """The endpoint and model of the first successful answer in a file; None where none says.

    Error lines carry neither, so a file of failures alone tells nothing. A garbage line before
    the first answer raises ResultsError, as in `parse_result_lines`.
    """
    for obj in json_objects(data, source_name):
        response = obj.get("response")
        if not isinstance(response, dict) or response.get("status_code") != 200:
            continue
        body = response.get("body")
        if not isinstance(body, dict):
            continue
        endpoint = _ENDPOINT_OF_OBJECT.get(str(body.get("object")))
        model = body.get("model")
        return endpoint, model if isinstance(model, str) and model else None
    return None, None


def _http_error(values: dict[str, list[Any]], row: int) -> str:
    status_code = values["status_code"][row]
    message = values["body_error_message"][row]
    code = values["body_error_code"][row] or values["body_error_type"][row]
    if not (message or code):
        return f"The request failed with HTTP {status_code}."
    text = (message or "The request failed").rstrip(". ")
    return f"{text} (HTTP {status_code}, {code})." if code else f"{text} (HTTP {status_code})."


@dataclass(frozen=True)
class _Reply:
    """The parts of a successful body the merged table keeps."""

    #: Answer text (or the embedding as JSON).
    text: str
    #: Chat Completions word for why the answer stopped.
    finish_reason: str
    #: Billed input tokens.
    input_tokens: int
    #: Billed output tokens.
    output_tokens: int
    #: A refusal or failure the body reports despite HTTP 200; empty when the answer is usable.
    failure: str = ""


def _judge(reply: _Reply, recipe: Recipe) -> tuple[RowStatus, dict[str, FieldValue], str]:
    """Status, structured values and error of a successful (HTTP 200) answer."""
    if reply.failure:
        return "error", {}, reply.failure
    if not recipe.structured:
        return "ok", {}, ""
    values, problem = parse_structured(reply.text, recipe.output_fields, reply.finish_reason)
    return ("error" if problem else "ok"), values, problem


def _chat_reply(values: dict[str, list[Any]], row: int) -> _Reply:
    refusal = values["refusal"][row]
    return _Reply(
        text=values["text"][row] or "",
        finish_reason=values["finish_reason"][row] or "",
        input_tokens=values["input_tokens"][row] or 0,
        output_tokens=values["output_tokens"][row] or 0,
        failure=f"The model refused: {refusal}" if refusal else "",
    )


def _responses_reply(values: dict[str, list[Any]], row: int) -> _Reply:
    texts: list[str] = []
    refusals: list[str] = []
    for item in values["output"][row]:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue  # reasoning summaries, tool calls
        for part in item.get("content") or ():
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "output_text":
                texts.append(part.get("text") or "")
            elif kind == "refusal":
                refusals.append(part.get("refusal") or "")
    status = values["status"][row] or "completed"
    reason = values["incomplete_reason"][row]
    if status == "completed":
        finish_reason = "stop"
    else:
        finish_reason = _RESPONSES_STOP_REASONS.get(reason or "", reason or status)
    failure = f"The model refused: {' '.join(refusals)}" if refusals else ""
    if status == "failed" and not failure:
        failure = f"The response failed: {values['body_error_message'][row] or 'no reason given'}"
    return _Reply(
        text="".join(texts),
        finish_reason=finish_reason,
        input_tokens=values["input_tokens"][row] or 0,
        output_tokens=values["output_tokens"][row] or 0,
        failure=failure,
    )


def _embeddings_reply(values: dict[str, list[Any]], row: int) -> _Reply:
    embedding = values["embedding"][row]
    if isinstance(embedding, list):
        # Floats whatever the JSON spelled (0 or 0.0), so both readers write the same text.
        text = json.dumps([float(x) for x in embedding], separators=(",", ":"))
    else:
        text = embedding if isinstance(embedding, str) else ""  # base64 (encoding_format)
    return _Reply(text, "", values["input_tokens"][row] or 0, 0)


def _completions_reply(values: dict[str, list[Any]], row: int) -> _Reply:
    return _Reply(
        text=values["text"][row] or "",
        finish_reason=values["finish_reason"][row] or "",
        input_tokens=values["input_tokens"][row] or 0,
        output_tokens=values["output_tokens"][row] or 0,
    )


_REPLIES: dict[Endpoint, Callable[[dict[str, list[Any]], int], _Reply]] = {
    "/v1/chat/completions": _chat_reply,
    "/v1/responses": _responses_reply,
    "/v1/embeddings": _embeddings_reply,
    "/v1/completions": _completions_reply,
}
assert set(_REPLIES) == set(ENDPOINTS)
