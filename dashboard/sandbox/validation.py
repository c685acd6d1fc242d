"""Validation of a batch input file, as OpenAI does it before a batch runs.

Problems make the batch `failed` with `errors.data` entries `{code, message, param, line}`. The
codes are those OpenAI reports (shared/reference/batch-api.md); the messages follow OpenAI's
wording where it is known and are plain otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.lines import iter_input_lines

#: Requests in one input file, and embedding inputs in one embeddings batch.
MAX_TASKS = 50_000
# A file full of broken lines would list every one; OpenAI reports a handful, we keep this many.
MAX_REPORTED_ERRORS = 100

CountTokens = Callable[[str, Mapping[str, Any]], int]


@dataclass(frozen=True)
class ValidationResult:
    """What validating an input file found."""

    #: Requests in the file.
    total: int
    #: The one model of the file (None when no line named one).
    model: str | None
    #: Input tokens of the file, counted only when a token limit applies to its model.
    input_tokens: int
    #: `{code, message, param, line}` entries; empty when the batch may run.
    errors: tuple[dict[str, Any], ...]


def _error(code: str, message: str, *, param: str | None = None, line: int | None = None) -> dict:
    return {"code": code, "message": message, "param": param, "line": line}


def validate_input_file(
    path: Path,
    endpoint: str,
    *,
    token_limits: Mapping[str, int],
    enqueued_tokens: Callable[[str], int],
    count_tokens: CountTokens,
) -> ValidationResult:
    """Check every line of `path` for a batch on `endpoint`, streaming the file.

    `enqueued_tokens(model)` gives the input tokens already queued for `model` by other batches;
    `count_tokens(endpoint, body)` counts one request's input tokens (used only when
    `token_limits` has the model).
    """
    errors: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    model: str | None = None
    total = embedding_inputs = tokens = 0

    def report(entry: dict[str, Any]) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(entry)

    for line in iter_input_lines(path):
        total += 1
        try:
            request = json.loads(line.raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            report(
                _error(
                    "invalid_json_line",
                    "This line is not parseable as valid JSON.",
                    line=line.number,
                )
            )
            continue
        if not isinstance(request, dict):
            report(_error("invalid_json_line", "This line is not a JSON object.", line=line.number))
            continue
        missing = _missing_parameter(request)
        if missing:
            report(
                _error(
                    "missing_required_parameter",
                    f"Missing required parameter: '{missing}'.",
                    param=missing,
                    line=line.number,
                )
            )
            continue
        custom_id, body = request["custom_id"], request["body"]
        line_model = str(body["model"])
        if custom_id in seen_ids:
            report(
                _error(
                    "duplicate_custom_id",
                    f"The custom_id '{custom_id}' is a duplicate of another request. The custom_id "
                    "parameter must be unique for each individual request in a batch.",
                    param="custom_id",
                    line=line.number,
                )
            )
        seen_ids.add(custom_id)
        if request["method"] != "POST":
            report(
                _error(
                    "invalid_value",
                    f"Invalid method '{request['method']}': the Batch API only supports POST.",
                    param="method",
                    line=line.number,
                )
            )
        if request["url"] != endpoint:
            report(
                _error(
                    "url_mismatch",
                    f"The URL '{request['url']}' of this request does not match the endpoint "
                    f"'{endpoint}' of the batch.",
                    param="url",
                    line=line.number,
                )
            )
        if model is None:
            model = line_model
        elif line_model != model:
            report(
                _error(
                    "model_mismatch",
                    f"The model '{line_model}' of this request differs from '{model}' used by the "
                    "rest of the file; a batch file must use one model.",
                    param="body.model",
                    line=line.number,
                )
            )
        if endpoint == "/v1/embeddings":
            given = body.get("input")
            embedding_inputs += (
                len(given)
                if isinstance(given, list) and given and not isinstance(given[0], int)
                else 1
            )
        if line_model in token_limits:
            tokens += count_tokens(endpoint, body)

    if total == 0:
        report(_error("empty_file", "The input file is empty: it holds no request."))
    if total > MAX_TASKS:
        report(
            _error(
                "too_many_tasks",
                f"The input file holds {total:,} requests; a batch takes at most {MAX_TASKS:,}.",
            )
        )
    elif embedding_inputs > MAX_TASKS:
        report(
            _error(
                "too_many_tasks",
                f"The input file holds {embedding_inputs:,} embedding inputs; an embeddings batch "
                f"takes at most {MAX_TASKS:,}.",
            )
        )
    if not errors and model is not None and model in token_limits:
        limit = token_limits[model]
        queued = enqueued_tokens(model)
        if queued + tokens > limit:
            report(
                _error(
                    "token_limit_exceeded",
                    f"Enqueued token limit reached for {model}. Limit: {limit:,} enqueued tokens; "
                    f"this batch holds {tokens:,} and {queued:,} are already queued. Please try "
                    "again once some in_progress batches have been completed.",
                )
            )
    return ValidationResult(total, model, tokens, tuple(errors))


def _missing_parameter(request: dict[str, Any]) -> str | None:
    """The first required parameter a request line lacks, in OpenAI's naming."""
    for name in ("custom_id", "method", "url", "body"):
        if name not in request or request[name] is None:
            return name
    if not isinstance(request["custom_id"], str) or not request["custom_id"]:
        return "custom_id"
    if not isinstance(request["body"], dict):
        return "body"
    if not isinstance(request["body"].get("model"), str) or not request["body"]["model"]:
        return "body.model"
    return None
