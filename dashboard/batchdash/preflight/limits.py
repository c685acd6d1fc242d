"""What the Batch API and the models accept, and the split of a job into parts within it.

Limits from shared/reference/batch-api.md: one input file holds at most 50,000 requests and
200 MB; a model's queue holds at most an organisation's enqueued-token limit.
"""

from __future__ import annotations

import re

import numpy as np

from batchdash.errors import InputError
from batchdash.i18n import _l

#: Requests per input file (OpenAI allows 50,000; also the cap on embedding inputs per batch).
MAX_REQUESTS_PER_PART = 50_000
#: Bytes per input file: OpenAI allows 200 MB; 190 MB (decimal) leaves room under either
#: reading of "MB".
MAX_PART_BYTES = 190_000_000
#: Excel's limit on the characters of one cell; a longer cell rarely comes from a real sheet
#: and usually means a quote left open swallowed the rows after it.
EXCEL_CELL_CHARS = 32_767
#: The smallest `max_output_tokens` the Responses API accepts (spec `CreateResponse`).
MIN_RESPONSES_OUTPUT_TOKENS = 16
#: The temperature range the API accepts.
TEMPERATURE_RANGE = (0.0, 2.0)

# o1, o3, o4-mini..., gpt-5 and later think before answering and take a reasoning effort
# instead of a temperature; their "-chat" variants are plain chat models.
_REASONING = re.compile(r"^(o\d|gpt-[5-9]|codex)", re.IGNORECASE)


def base_model(model: str) -> str:
    """The model a fine-tune was made from (`ft:gpt-4o-mini-2024-07-18:org::id`), else `model`."""
    name = model.strip()
    if name.startswith("ft:"):
        return name[3:].split(":", 1)[0]
    return name


def is_reasoning_model(model: str) -> bool:
    """Whether `model` is a reasoning model (no temperature; takes a reasoning effort)."""
    name = base_model(model).lower()
    return bool(_REASONING.match(name)) and "chat" not in name


def context_window(model: str) -> int | None:
    """The most input tokens `model` takes, from the genai-prices model list; None if unknown."""
    from genai_prices import data_snapshot  # imported on first use: 0.13 s

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(
            base_model(model), None, "openai", None
        )
    except LookupError:
        return None
    return info.context_window


# The most output tokens OpenAI's models write in one answer (their model pages), by name
# prefix; the longest matching prefix wins. genai-prices knows context windows, not this.
_OUTPUT_LIMITS: dict[str, int] = {
    "gpt-5": 128_000,
    "gpt-4.1": 32_768,
    "gpt-4o": 16_384,
    "chatgpt-4o": 16_384,
    "gpt-4-turbo": 4_096,
    "gpt-4-": 4_096,
    "gpt-4": 8_192,
    "gpt-3.5": 4_096,
    "o1-mini": 65_536,
    "o1": 100_000,
    "o3": 100_000,
    "o4-mini": 100_000,
    "codex": 100_000,
}


def output_limit(model: str) -> int | None:
    """The most output tokens one answer of `model` may have; None if unknown."""
    name = base_model(model).lower()
    matches = [prefix for prefix in _OUTPUT_LIMITS if name.startswith(prefix)]
    return _OUTPUT_LIMITS[max(matches, key=len)] if matches else None


def known_model(model: str) -> bool:
    """Whether the genai-prices model list knows `model` (as an OpenAI model)."""
    from genai_prices import data_snapshot

    try:
        data_snapshot.get_snapshot().find_provider_model(base_model(model), None, "openai", None)
    except LookupError:
        return False
    return True


def split_into_parts(
    row_bytes: np.ndarray,
    row_tokens: np.ndarray | None = None,
    *,
    max_requests: int = MAX_REQUESTS_PER_PART,
    max_bytes: int = MAX_PART_BYTES,
    max_tokens: int | None = None,
) -> list[tuple[int, int]]:
    """Consecutive `(first_row, stop_row)` spans (0-based, stop exclusive) covering every row.

    Each span is as long as the limits allow: at most `max_requests` rows, `max_bytes` bytes and,
    when given, `max_tokens` input tokens. A single row over a limit is an InputError.
    """
    rows = len(row_bytes)
    byte_ends = np.concatenate(([0], np.cumsum(row_bytes, dtype=np.int64)))
    token_ends = None
    if max_tokens is not None:
        if row_tokens is None:
            raise ValueError("max_tokens needs row_tokens")
        token_ends = np.concatenate(([0], np.cumsum(row_tokens, dtype=np.int64)))
    spans: list[tuple[int, int]] = []
    first = 0
    while first < rows:
        # byte_ends is non-decreasing, so a binary search finds the last row that still fits.
        stop = min(rows, first + max_requests)
        stop = min(stop, _last_fitting(byte_ends, first, max_bytes))
        if token_ends is not None and max_tokens is not None:
            stop = min(stop, _last_fitting(token_ends, first, max_tokens))
        if stop <= first:
            size = {"row": first + 1, "bytes": int(row_bytes[first])}
            if row_tokens is None:
                raise InputError(
                    _l(
                        "Row {row} alone is over the limit of one batch file ({bytes:,} bytes). "
                        "Shorten that row's text.",
                        **size,
                    )
                )
            raise InputError(
                _l(
                    "Row {row} alone is over the limit of one batch file ({bytes:,} bytes, "
                    "{tokens:,} tokens). Shorten that row's text.",
                    tokens=int(row_tokens[first]),
                    **size,
                )
            )
        spans.append((first, stop))
        first = stop
    return spans


def _last_fitting(ends: np.ndarray, first: int, limit: int) -> int:
    return int(np.searchsorted(ends, ends[first] + limit, side="right")) - 1
