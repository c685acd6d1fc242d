"""Reading the Batch API's output and error files into one result per request.

Both files share one line shape (`BatchRequestOutput`): a `custom_id`, a `response` with the
HTTP status and the endpoint's usual body, or a top-level `error` for requests that never ran.
Lines may come in any order and from any number of files; the merge joins them on custom_id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

from batchdash.errors import ResultsError
from batchdash.i18n import Message, _l
from batchdash.recipe import (
    ENDPOINTS,
    FLAGGED_COLUMN,
    MODERATION_CATEGORIES,
    Endpoint,
    Recipe,
    score_column,
)
from batchdash.results.columns import FIX, json_objects, read_columns
from batchdash.results.structured import FieldValue, parse_structured

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

# Shared by every row without structured fields; typed read-only, and a plain dict so that rows
# pickle (Streamlit's cache pickles what it keeps).
_NO_FIELDS: Mapping[str, FieldValue] = {}

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
# A moderation answer has no `object`; its `results` list tells it apart.
_MODERATION_KEY = "results"


class RowResult(NamedTuple):
    """What one line of an output or error file says about one request.

    A named tuple rather than a frozen dataclass: a 50,000-line file makes 50,000 of them, and a
    tuple is built several times faster.
    """

    #: The request's custom_id (DESIGN.md contract 4).
    custom_id: str
    #: ok, error (HTTP error, refusal or malformed structured answer), expired, cancelled.
    status: RowStatus
    #: Answer text; for embeddings the vector as JSON; kept even when a structured answer fails.
    response: str = ""
    #: Structured answer split into the recipe's output fields (empty unless it parsed).
    fields: Mapping[str, FieldValue] = _NO_FIELDS
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
    first_line: int = 1,
) -> list[RowResult]:
    """One RowResult per line of one output or error file, in line order.

    `data` is the whole file, or its lines (a file opened in binary mode works), or a run of
    its lines whose first is line `first_line` of the file. Empty lines are skipped, so
    Azure's empty error file gives an empty list. A line that is not a batch result raises
    ResultsError naming `source_name` and the 1-based line number.
    """
    columns = read_columns(data, recipe.endpoint, source_name, first_line)
    values = columns.values
    replies = _REPLIES[recipe.endpoint](values)
    rows = zip(
        columns.line_numbers,
        values["custom_id"],
        values["has_response"],
        values["status_code"],
        values["has_body"],
        values["shape"],
        values["model"],
        values["error_code"],
        values["error_message"],
        replies.text,
        replies.finish_reason,
        replies.input_tokens,
        replies.output_tokens,
        replies.failure,
        strict=True,
    )
    results: list[RowResult] = []
    for row, (number, custom_id, has_response, status_code, has_body, shape, model, code,
              message, text, finish_reason, input_tokens, output_tokens, failure) in enumerate(rows):  # fmt: skip
        if not custom_id:
            raise _bad_line(number, source_name, _l("has no custom_id"))
        if has_response and status_code == 200:
            if not has_body:
                raise _bad_line(number, source_name, _l("is an answer without a body"))
            if not shape:
                raise _bad_line(
                    number,
                    source_name,
                    _l("is not an answer of {endpoint}", endpoint=recipe.endpoint),
                    _l("choose the endpoint the batch used"),
                )
            status, answer_fields, problem = _judge(text, finish_reason, failure, recipe)
            if replies.fields is not None and status == "ok":
                answer_fields = replies.fields[row]
            # Positional: the fields in their declared order (the hot path of a large file).
            results.append(
                RowResult(
                    custom_id,
                    status,
                    text,
                    answer_fields,
                    problem,
                    finish_reason,
                    input_tokens,
                    output_tokens,
                    batch_id,
                    model or recipe.model,
                    source_name,
                )
            )
            continue
        if code or message:
            status = _NOT_RUN_CODES.get(code or "", "error")
            problem = message or f"The request did not run ({code})."
        elif has_response:
            status, problem = "error", _http_error(values, row)
        else:
            raise _bad_line(number, source_name, _l("has neither a response nor an error"))
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


def _bad_line(number: int, source: str, problem: Message, fix: Message = FIX) -> ResultsError:
    return ResultsError(
        _l(
            "Line {number} of {source} {problem}: {fix}.",
            number=number,
            source=source,
            problem=problem,
            fix=fix,
        )
    )


def infer_endpoint_and_model(
    data: bytes | Iterable[bytes], *, source_name: str = "the results file", first_line: int = 1
) -> tuple[Endpoint | None, str | None]:
    """The endpoint and model of the first successful answer in a file; None where none says.

    Error lines carry neither, so a file of failures alone tells nothing. A garbage line before
    the first answer raises ResultsError, as in `parse_result_lines`.
    """
    for obj in json_objects(data, source_name, first_line):
        response = obj.get("response")
        if not isinstance(response, dict) or response.get("status_code") != 200:
            continue
        body = response.get("body")
        if not isinstance(body, dict):
            continue
        endpoint = _ENDPOINT_OF_OBJECT.get(str(body.get("object")))
        if endpoint is None and isinstance(body.get(_MODERATION_KEY), list):
            endpoint = "/v1/moderations"
        model = body.get("model")
        return endpoint, model if isinstance(model, str) and model else None
    return None, None


def _http_error(values: dict[str, list[Any]], row: int) -> str:
    return http_error_text(
        values["status_code"][row],
        values["body_error_message"][row],
        values["body_error_code"][row] or values["body_error_type"][row],
    )


def http_error_text(status_code: int | None, message: str | None, code: str | None) -> str:
    """The error column's sentence for a request the API answered with an HTTP error."""
    if not (message or code):
        return f"The request failed with HTTP {status_code}."
    text = (message or "The request failed").rstrip(". ")
    return f"{text} (HTTP {status_code}, {code})." if code else f"{text} (HTTP {status_code})."


@dataclass(frozen=True)
class _Replies:
    """What the merged table keeps of every line's body, one list per value, in line order.

    Lines without a successful body get empty values, which nothing reads.
    """

    #: Answer text (or the embedding as JSON).
    text: list[str]
    #: Chat Completions word for why the answer stopped.
    finish_reason: list[str]
    #: Billed input tokens.
    input_tokens: list[int]
    #: Billed output tokens.
    output_tokens: list[int]
    #: A refusal or failure the body reports despite HTTP 200; empty when the answer is usable.
    failure: list[str]
    #: Column values the body itself holds (moderation scores); None: structured fields, if
    #: any, come from parsing the answer text.
    fields: list[Mapping[str, FieldValue]] | None = None


def _judge(
    text: str, finish_reason: str, failure: str, recipe: Recipe
) -> tuple[RowStatus, Mapping[str, FieldValue], str]:
    """Status, structured values and error of a successful (HTTP 200) answer."""
    if failure:
        return "error", _NO_FIELDS, failure
    if not recipe.structured:
        return "ok", _NO_FIELDS, ""
    values, problem = parse_structured(text, recipe.output_fields, finish_reason)
    return ("error" if problem else "ok"), values or _NO_FIELDS, problem


def _texts(values: list[str | None]) -> list[str]:
    return [value or "" for value in values]


def _counts(values: list[int | None]) -> list[int]:
    return [value or 0 for value in values]


def _refusals(values: list[str | None]) -> list[str]:
    return [f"The model refused: {value}" if value else "" for value in values]


def _chat_replies(values: dict[str, list[Any]]) -> _Replies:
    return _Replies(
        text=_texts(values["text"]),
        finish_reason=_texts(values["finish_reason"]),
        input_tokens=_counts(values["input_tokens"]),
        output_tokens=_counts(values["output_tokens"]),
        failure=_refusals(values["refusal"]),
    )


def _completions_replies(values: dict[str, list[Any]]) -> _Replies:
    rows = len(values["text"])
    return _Replies(
        text=_texts(values["text"]),
        finish_reason=_texts(values["finish_reason"]),
        input_tokens=_counts(values["input_tokens"]),
        output_tokens=_counts(values["output_tokens"]),
        failure=[""] * rows,
    )


def _embeddings_replies(values: dict[str, list[Any]]) -> _Replies:
    rows = len(values["embedding"])
    return _Replies(
        text=[_embedding_text(embedding) for embedding in values["embedding"]],
        finish_reason=[""] * rows,
        input_tokens=_counts(values["input_tokens"]),
        output_tokens=[0] * rows,
        failure=[""] * rows,
    )


def _embedding_text(embedding: Any) -> str:
    if isinstance(embedding, list):
        # Floats whatever the JSON spelled (0 or 0.0), so both readers write the same text.
        return json.dumps([float(x) for x in embedding], separators=(",", ":"))
    return embedding if isinstance(embedding, str) else ""  # base64 (encoding_format)


def _responses_replies(values: dict[str, list[Any]]) -> _Replies:
    texts: list[str] = []
    finish_reasons: list[str] = []
    failures: list[str] = []
    for output, status, reason, body_error in zip(
        values["output"],
        values["status"],
        values["incomplete_reason"],
        values["body_error_message"],
        strict=True,
    ):
        text, refusal = _responses_output(output or ())
        status = status or "completed"
        if status == "completed":
            finish_reasons.append("stop")
        else:
            finish_reasons.append(_RESPONSES_STOP_REASONS.get(reason or "", reason or status))
        if refusal:
            failures.append(f"The model refused: {refusal}")
        elif status == "failed":
            failures.append(f"The response failed: {body_error or 'no reason given'}")
        else:
            failures.append("")
        texts.append(text)
    return _Replies(
        text=texts,
        finish_reason=finish_reasons,
        input_tokens=_counts(values["input_tokens"]),
        output_tokens=_counts(values["output_tokens"]),
        failure=failures,
    )


def _responses_output(output: Iterable[Any]) -> tuple[str, str]:
    """The answer text and refusal of a Responses `output` list."""
    texts: list[str] = []
    refusals: list[str] = []
    for item in output:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue  # reasoning summaries, tool calls
        for part in item.get("content") or ():
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "output_text":
                texts.append(part.get("text") or "")
            elif kind == "refusal":
                refusals.append(part.get("refusal") or "")
    return "".join(texts), " ".join(refusals)


def moderation_replies(values: dict[str, list[Any]]) -> _Replies:
    """Moderation answers: `response` names the flagged categories ("" when none); the fields
    are `flagged` (yes/no) and every category's score, of which the merge keeps the chosen."""
    texts: list[str] = []
    fields: list[Mapping[str, FieldValue]] = []
    for flagged, categories, scores in zip(
        values["flagged"], values["categories"], values["scores"], strict=True
    ):
        categories = categories if isinstance(categories, dict) else {}
        scores = scores if isinstance(scores, dict) else {}
        texts.append(", ".join(c for c in MODERATION_CATEGORIES if categories.get(c) is True))
        row: dict[str, FieldValue] = {FLAGGED_COLUMN: "yes" if flagged else "no"}
        for category in MODERATION_CATEGORIES:
            score = scores.get(category)
            if isinstance(score, int | float) and not isinstance(score, bool):
                row[score_column(category)] = float(score)
        fields.append(row)
    rows = len(texts)
    return _Replies(
        text=texts,
        finish_reason=[""] * rows,
        input_tokens=[0] * rows,
        output_tokens=[0] * rows,
        failure=[""] * rows,
        fields=fields,
    )


_REPLIES: dict[Endpoint, Callable[[dict[str, list[Any]]], _Replies]] = {
    "/v1/chat/completions": _chat_replies,
    "/v1/responses": _responses_replies,
    "/v1/embeddings": _embeddings_replies,
    "/v1/completions": _completions_replies,
    "/v1/moderations": moderation_replies,
}
assert set(_REPLIES) == set(ENDPOINTS)
