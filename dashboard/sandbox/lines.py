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


def _short_hash(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=12).hexdigest()


def request_key(custom_id: str, body: Any) -> str:
    """Identifies one request (custom_id with that body) across batches, for run counts."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _short_hash(custom_id, canonical)


def output_file_id(batch_id: str, kind: str) -> str:
    """The id of a batch's output or error file, derived so that a repeated publish reuses it."""
    return f"file-{_short_hash(batch_id, kind)}"


def answered_line(
    batch_id: str, index: int, custom_id: str, status_code: int, body: dict[str, Any]
) -> bytes:
    """The output or error line of a request that ran (error lines keep `error` null)."""
    line = {
        "id": f"batch_req_{_short_hash(batch_id, str(index))}",
        "custom_id": custom_id,
        "response": {
            "status_code": status_code,
            "request_id": f"req_{_short_hash(batch_id, str(index), 'request')}",
            "body": body,
        },
        "error": None,
    }
    return _dump(line)


def not_run_line(batch_id: str, index: int, custom_id: str, code: str) -> bytes:
    """The error line of a request that never ran (`batch_expired` or `batch_cancelled`)."""
    line = {
        "id": f"batch_req_{_short_hash(batch_id, str(index))}",
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": NOT_RUN_MESSAGES[code]},
    }
    return _dump(line)


def _dump(line: dict[str, Any]) -> bytes:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
