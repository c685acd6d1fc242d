"""Reading batch input lines and writing output/error lines in OpenAI's format."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_RUN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


@dataclass(frozen=True)
class InputLine:
    """One non-blank line of an input file."""

    #: 1-based line number in the file (blank lines counted).
    number: int
    #: Byte offset just past this line, where reading resumes.
    end_offset: int
    #: The line's bytes, newline included.
    raw: bytes


def iter_input_lines(path: Path, start_offset: int = 0) -> Generator[InputLine, None, None]:
    """The non-blank lines of `path` from `start_offset`, streamed.

    Line numbers are exact only when reading from the start (validation needs them; a resumed
    run does not).
    """
    with path.open("rb") as handle:
        handle.seek(start_offset)
        offset = start_offset
        for number, raw in enumerate(handle, start=1):
            offset += len(raw)
            if raw.strip():
                yield InputLine(number, offset, raw)


# Built once: json.dumps with options builds a new encoder on every call, which shows at 50,000
# lines.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_CANONICAL_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _short_hash(*parts: str, size: int = 12) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=size).hexdigest()


def request_key(custom_id: str, body: Any) -> str:
    """Identifies one request (custom_id with that body) across batches, for run counts."""
    return _short_hash(custom_id, _CANONICAL_ENCODER.encode(body))


def _line_ids(batch_id: str, index: int) -> tuple[str, str]:
    """The `batch_req_` id of a line and the `req_` id of its request, stable across reruns."""
    digest = _short_hash(batch_id, str(index), size=24)
    return f"batch_req_{digest[:24]}", f"req_{digest[24:]}"


def output_file_id(batch_id: str, kind: str) -> str:
    """The id of a batch's output or error file, derived so that a repeated publish reuses it."""
    return f"file-{_short_hash(batch_id, kind)}"


def answered_line(
    batch_id: str, index: int, custom_id: str, status_code: int, body: dict[str, Any]
) -> bytes:
    """The output or error line of a request that ran (error lines keep `error` null)."""
    line_id, request_id = _line_ids(batch_id, index)
    line = {
        "id": line_id,
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None,
    }
    return _dump(line)


def not_run_line(batch_id: str, index: int, custom_id: str, code: str) -> bytes:
    """The error line of a request that never ran (`batch_expired` or `batch_cancelled`)."""
    line = {
        "id": _line_ids(batch_id, index)[0],
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": NOT_RUN_MESSAGES[code]},
    }
    return _dump(line)


def _dump(line: dict[str, Any]) -> bytes:
    return _LINE_ENCODER.encode(line).encode() + b"\n"
