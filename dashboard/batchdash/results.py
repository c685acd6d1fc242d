"""Reading the Batch API's output and error files into one result per request.

Both files share one line shape (`BatchRequestOutput`): a `custom_id`, a `response` with the
HTTP status and the endpoint's usual body, or a top-level `error` for requests that never ran.
Lines may come in any order and from any number of files; the merge joins them on custom_id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from batchdash.errors import ResultsError
from batchdash.recipe import ENDPOINTS, Endpoint, OutputField, Recipe

RowStatus = Literal["ok", "error", "expired", "cancelled", "not_run"]
ROW_STATUSES: tuple[RowStatus, ...] = get_args(RowStatus)

#: A parsed structured field: text, "yes"/"no" and "one of" answers are str, numbers float,
#: integers int.
FieldValue = str | int | float

_BOM = b"\xef\xbb\xbf"

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

_FIX = "give Batchdash the output and error files exactly as the Batch API returned them"


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
    """One RowResult per line of one output or error file.

    `data` is the whole file, or its lines (a file opened in binary mode works). Empty lines
    are skipped, so Azure's empty error file gives an empty list. A line that is not a batch
    result raises ResultsError naming `source_name` and the 1-based line number.
    """
    return [
        _row_result(obj, number, recipe, batch_id, source_name)
        for number, obj in _json_lines(data, source_name)
    ]


def infer_endpoint_and_model(data: bytes | Iterable[bytes]) -> tuple[Endpoint | None, str | None]:
    """The endpoint and model of the first successful answer in a file; None where none says.

    Error lines carry neither, so a file of failures alone tells nothing.
    """
    for _, obj in _json_lines(data, "the results file"):
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


def _lines(data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    chunks: Iterable[bytes] = [data] if isinstance(data, bytes | bytearray) else data
    for chunk in chunks:
        yield from chunk.splitlines()


def _json_lines(data: bytes | Iterable[bytes], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(_lines(data), start=1):
        line = raw.strip()
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :].strip()
        if not line:
            continue
        try:
            obj = json.loads(line.decode("utf-8"))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            raise ResultsError(
                f"Line {number} of {source} is not a JSON line ({reason}): {_FIX}."
            ) from None
        if not isinstance(obj, dict):
            raise ResultsError(f"Line {number} of {source} is not a JSON object: {_FIX}.")
        yield number, obj


def _row_result(
    obj: dict[str, Any], number: int, recipe: Recipe, batch_id: str, source: str
) -> RowResult:
    custom_id = obj.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise ResultsError(f"Line {number} of {source} has no custom_id: {_FIX}.")
    response = obj.get("response")
    error = obj.get("error")
    if isinstance(response, dict) and response.get("status_code") == 200:
        body = response.get("body")
        if not isinstance(body, dict):
            raise ResultsError(f"Line {number} of {source} is an answer without a body: {_FIX}.")
        reply = _reply(body, recipe, number, source)
        status, values, problem = _judge(reply, recipe)
        model = body.get("model")
        return RowResult(
            custom_id=custom_id,
            status=status,
            response=reply.text,
            fields=values,
            error=problem,
            finish_reason=reply.finish_reason,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            batch_id=batch_id,
            model=model if isinstance(model, str) and model else recipe.model,
            source=source,
        )
    if isinstance(error, dict) and error:
        code = str(error.get("code") or "")
        status = _NOT_RUN_CODES.get(code, "error")
        problem = str(error.get("message") or f"The request did not run ({code or 'no reason'}).")
    elif isinstance(response, dict):
        status, problem = "error", _http_error(response)
    else:
        raise ResultsError(
            f"Line {number} of {source} has neither a response nor an error: {_FIX}."
        )
    return RowResult(
        custom_id=custom_id,
        status=status,
        error=problem,
        batch_id=batch_id,
        model=recipe.model,
        source=source,
    )


def _http_error(response: dict[str, Any]) -> str:
    status_code = response.get("status_code")
    body = response.get("body")
    details = body.get("error") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        return f"The request failed with HTTP {status_code}."
    message = str(details.get("message") or "The request failed").rstrip(". ")
    code = details.get("code") or details.get("type")
    return (
        f"{message} (HTTP {status_code}, {code})." if code else f"{message} (HTTP {status_code})."
    )


def _reply(body: dict[str, Any], recipe: Recipe, number: int, source: str) -> _Reply:
    try:
        return _EXTRACTORS[recipe.endpoint](body)
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ResultsError(
            f"Line {number} of {source} is not an answer of {recipe.endpoint}: choose the "
            "endpoint the batch used."
        ) from None


def _judge(reply: _Reply, recipe: Recipe) -> tuple[RowStatus, dict[str, FieldValue], str]:
    """Status, structured values and error of a successful (HTTP 200) answer."""
    if reply.failure:
        return "error", {}, reply.failure
    if not recipe.structured:
        return "ok", {}, ""
    values, problem = parse_structured(reply.text, recipe.output_fields, reply.finish_reason)
    return ("error" if problem else "ok"), values, problem


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


def _tokens(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) else 0


def _chat_reply(body: dict[str, Any]) -> _Reply:
    choice = body["choices"][0]
    message = choice["message"]
    usage = body.get("usage")
    refusal = message.get("refusal")
    return _Reply(
        text=message.get("content") or "",
        finish_reason=choice.get("finish_reason") or "",
        input_tokens=_tokens(usage, "prompt_tokens"),
        output_tokens=_tokens(usage, "completion_tokens"),
        failure=f"The model refused: {refusal}" if refusal else "",
    )


def _responses_reply(body: dict[str, Any]) -> _Reply:
    texts: list[str] = []
    refusals: list[str] = []
    for item in body["output"]:
        if item.get("type") != "message":
            continue  # reasoning summaries, tool calls
        for part in item.get("content") or ():
            if part.get("type") == "output_text":
                texts.append(part.get("text") or "")
            elif part.get("type") == "refusal":
                refusals.append(part.get("refusal") or "")
    status = body.get("status") or "completed"
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if status == "completed":
        finish_reason = "stop"
    else:
        finish_reason = _RESPONSES_STOP_REASONS.get(str(reason), str(reason or status))
    failure = f"The model refused: {' '.join(refusals)}" if refusals else ""
    if status == "failed":
        problem = body.get("error")
        message = problem.get("message") if isinstance(problem, dict) else None
        failure = failure or f"The response failed: {message or 'no reason given'}"
    usage = body.get("usage")
    return _Reply(
        text="".join(texts),
        finish_reason=finish_reason,
        input_tokens=_tokens(usage, "input_tokens"),
        output_tokens=_tokens(usage, "output_tokens"),
        failure=failure,
    )


def _embeddings_reply(body: dict[str, Any]) -> _Reply:
    embedding = body["data"][0]["embedding"]
    # A list of floats becomes compact JSON; a base64 string (encoding_format) stays as it is.
    text = embedding if isinstance(embedding, str) else json.dumps(embedding, separators=(",", ":"))
    return _Reply(text, "", _tokens(body.get("usage"), "prompt_tokens"), 0)


def _completions_reply(body: dict[str, Any]) -> _Reply:
    choice = body["choices"][0]
    usage = body.get("usage")
    return _Reply(
        text=choice["text"] or "",
        finish_reason=choice.get("finish_reason") or "",
        input_tokens=_tokens(usage, "prompt_tokens"),
        output_tokens=_tokens(usage, "completion_tokens"),
    )


_EXTRACTORS = {
    "/v1/chat/completions": _chat_reply,
    "/v1/responses": _responses_reply,
    "/v1/embeddings": _embeddings_reply,
    "/v1/completions": _completions_reply,
}
assert set(_EXTRACTORS) == set(ENDPOINTS)


def parse_structured(
    text: str, fields: Iterable[OutputField], finish_reason: str = ""
) -> tuple[dict[str, FieldValue], str]:
    """A structured answer's field values, or ({}, the reason it does not fit the fields).

    Types: text is any string; number any JSON number (float); integer a whole JSON number;
    yes/no a JSON boolean or the strings yes/no in any case, both written "yes"/"no"; one of
    a string exactly equal to one of the choices. Extra keys are ignored.
    """
    try:
        answer = json.loads(text)
    except ValueError:
        if finish_reason == "length":
            return {}, (
                "The answer was cut off at the output token limit before its JSON was complete: "
                "raise the maximum output tokens and repair this row."
            )
        return {}, "The answer is not valid JSON, so it cannot be split into the output fields."
    if not isinstance(answer, dict):
        return {}, "The answer is JSON but not an object with the output fields."
    values: dict[str, FieldValue] = {}
    for spec in fields:
        if answer.get(spec.name) is None:
            return {}, f"The answer has no value for the field '{spec.name}'."
        value = _field_value(answer[spec.name], spec)
        if value is None:
            shown = json.dumps(answer[spec.name], ensure_ascii=False)[:80]
            return {}, f"The answer's field '{spec.name}' is {shown}, {_expected(spec)}."
        values[spec.name] = value
    return values, ""


def _field_value(value: Any, spec: OutputField) -> FieldValue | None:
    """The value in its column's type, or None when it does not fit `spec`."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type == "text":
        return value if isinstance(value, str) else None
    if spec.type == "number":
        return float(value) if is_number and math.isfinite(value) else None
    if spec.type == "integer":
        if is_number and math.isfinite(value) and float(value).is_integer():
            return int(value)
        return None
    if spec.type == "yes/no":
        if isinstance(value, bool):
            return "yes" if value else "no"
        word = value.strip().lower() if isinstance(value, str) else None
        return word if word in ("yes", "no") else None
    return value if isinstance(value, str) and value in spec.choices else None


def _expected(spec: OutputField) -> str:
    if spec.type == "one of":
        return "not one of: " + ", ".join(spec.choices)
    wanted = {"text": "text", "number": "a number", "integer": "a whole number"}
    return f"not {wanted.get(spec.type, 'yes or no')}"
