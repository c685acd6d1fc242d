"""Log probabilities for the sandbox's answers, when a request asks for them.

The figures are made up but stable: each token of the answer gets a log probability derived from
the token and its position, and its alternatives (other tokens of the vocabulary) get lower
ones, in descending order as OpenAI lists them. Chat and Responses share one shape
(`ChatCompletionTokenLogprob`); the legacy completions endpoint has its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sandbox.prompts import invalid, refused
from sandbox.tokens import Encoding

#: OpenAI's largest `top_logprobs` (chat, responses) and `logprobs` (completions).
MAX_TOP_LOGPROBS = 20
MAX_COMPLETION_LOGPROBS = 5


def _chosen_logprob(token: int, position: int) -> float:
    digest = hashlib.sha256(f"{token}\0{position}".encode()).digest()
    return -round(int.from_bytes(digest[:2], "big") / 65535 * 0.5, 6)


def _alternatives(token: int, count: int, encoding: Encoding) -> list[int]:
    """`count` other token ids, the same ones every time for `token`."""
    size = encoding.n_vocab - 1000  # keep clear of the special tokens at the top
    return [(token * 7919 + 104729 * (k + 1)) % size for k in range(count)]


def _entry(token: int, logprob: float, encoding: Encoding) -> dict[str, Any]:
    raw = encoding.decode_bytes([token])
    return {
        "token": raw.decode("utf-8", errors="replace"),
        "logprob": logprob,
        "bytes": list(raw),
    }


def token_logprobs(text: str, encoding: Encoding, top: int) -> list[dict[str, Any]]:
    """`ChatCompletionTokenLogprob` entries for every token of `text`, `top` alternatives each."""
    entries = []
    for position, token in enumerate(encoding.encode_ordinary(text)):
        chosen = _chosen_logprob(token, position)
        alternatives = [
            _entry(other, round(chosen - 1.5 * (rank + 1), 6), encoding)
            for rank, other in enumerate(_alternatives(token, max(top - 1, 0), encoding))
        ]
        top_list = [_entry(token, chosen, encoding), *alternatives][:top]
        entries.append({**_entry(token, chosen, encoding), "top_logprobs": top_list})
    return entries


def chat_top_logprobs(body: Mapping[str, Any]) -> int | None:
    """How many alternatives a chat request wants per token (None: no logprobs asked)."""
    wanted = body.get("logprobs")
    top = body.get("top_logprobs")
    if wanted is not None and not isinstance(wanted, bool):
        raise refused(
            "Invalid type for 'logprobs': expected a boolean.",
            param="logprobs",
            code="invalid_type",
        )
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_LOGPROBS:
            raise invalid("top_logprobs", f"an integer from 0 to {MAX_TOP_LOGPROBS}")
        if not wanted:
            raise refused(
                "Using top_logprobs requires logprobs to be set to true.", param="top_logprobs"
            )
    return (top or 0) if wanted else None


def completion_logprobs(text: str, encoding: Encoding, top: int, offset: int = 0) -> dict[str, Any]:
    """The legacy completions `logprobs` object for `text`, `top` alternatives per token."""
    entries = token_logprobs(text, encoding, max(top, 1))
    offsets, position = [], offset
    for entry in entries:
        offsets.append(position)
        position += len(entry["token"])
    return {
        "tokens": [entry["token"] for entry in entries],
        "token_logprobs": [entry["logprob"] for entry in entries],
        "top_logprobs": [
            {alt["token"]: alt["logprob"] for alt in entry["top_logprobs"][:top]}
            for entry in entries
        ],
        "text_offset": offsets,
    }


def completion_top_logprobs(body: Mapping[str, Any]) -> int | None:
    """The completions endpoint's `logprobs` (alternatives per token), None when not asked."""
    wanted = body.get("logprobs")
    if wanted is None:
        return None
    if (
        isinstance(wanted, bool)
        or not isinstance(wanted, int)
        or not 0 <= wanted <= MAX_COMPLETION_LOGPROBS
    ):
        raise invalid("logprobs", f"an integer from 0 to {MAX_COMPLETION_LOGPROBS}")
    return wanted
