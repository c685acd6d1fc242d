"""Provider dialects: how each OpenAI-compatible Batch API differs from OpenAI's, as the sandbox
imitates it with `sandbox --profile NAME`.

The sandbox keeps its own table (it imports nothing of the client's code), so a client's profile
can be tested against an independent statement of the same documented facts. Sources, read in
2026 (each provider's own pages; figures change, check them again before relying on one):

- openai: the Batch guide and the OpenAPI spec (shared/reference/batch-api.md).
- azure: Microsoft Learn, "Getting started with Azure OpenAI batch deployments" and its quotas
  table: `model` is the deployment name; 500 batch input files per resource (files with an
  expiry do not count); input files do not expire by default; a UTF-8 BOM is refused; "we do not
  expire the jobs that take longer" than 24 h; endpoints chat completions, responses, embeddings;
  an error file (empty) even when nothing failed (shared/reference/batch-api.md).
- groq: console.groq.com/docs/batch: `/v1/chat/completions` only; `completion_window` from
  "24h" to "7d"; input files up to 100 MB.
- deepinfra: deepinfra.com/blog/batch-api and docs/openai_api: chat completions, completions
  and embeddings; a 24 h window.
- dashscope: Alibaba Cloud Model Studio, "OpenAI-compatible - Batch (file input)": chat
  completions and embeddings at 50% of the real-time price; `completion_window` 24h..336h;
  older pages: 50,000 requests and 100 MB a file; `batch-test-model` on `/v1/chat/ds-test`
  runs no inference and costs nothing, on files of at most 100 lines and 1 MB.
- siliconflow: docs.siliconflow.cn, "Create a batch": `/v1/chat/completions` only; a window
  from 24 to 336 hours; a new batch reports the status `in_queue`.
- gemini: ai.google.dev, "OpenAI compatibility" and the 2025-09-08 Batch API announcement:
  chat completions and embeddings through the OpenAI SDK; batch jobs expire after 48 hours.
  The compatibility page documents upload, create, retrieve, cancel and file content, not a
  listing of batches: the sandbox leaves `GET /v1/batches` out (it answers 405, as a route that
  exists for another method does).
- litellm and custom: whatever is behind them; the sandbox answers as OpenAI does.
- ollama, llamacpp, lmstudio, vllm: servers on the analyst's machine with OpenAI's synchronous
  routes and `/v1/models` but no Files or Batches API. What each answers there, read in their
  sources: Ollama's gin router has no such route and answers `404 page not found` as plain
  text; llama.cpp's server answers 404 with `{"error": {"code": 404, "message": "File Not
  Found", "type": "not_found_error"}}`; LM Studio answers HTTP 200 with `{"error": "Unexpected
  endpoint or method. (POST /v1/batches)"}` (measured by its users: it never says 404); `vllm
  serve` is FastAPI, whose unknown routes answer 404 `{"detail": "Not Found"}` (an online
  Batch API behind `--enable-batch-api` exists only on a development branch).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Every endpoint OpenAI accepts for a batch (spec `CreateBatchRequest.endpoint`).
OPENAI_BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
#: OpenAI's limit on one uploaded file (200 MB, read as the stricter decimal megabytes).
OPENAI_MAX_FILE_BYTES = 200_000_000
#: Models the sandbox lists as OpenAI's (any other name is answered all the same).
OPENAI_MODELS = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o4-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "omni-moderation-latest",
    "gpt-image-1",
    "dall-e-3",
)
_HOUR = 3600.0


@dataclass(frozen=True)
class NoRoute:
    """A server's answer for a route it does not have."""

    #: HTTP status.
    status: int
    #: The body; `{method}` and `{path}` are filled in (JSON bodies have their braces doubled).
    body: str
    #: Its content type.
    media_type: str = "application/json"

    def text(self, method: str, path: str) -> str:
        """The body for one request."""
        return self.body.format(method=method, path=path)


_WINDOW = re.compile(r"^([1-9][0-9]{0,4})([hd])$")
_BOM = b"\xef\xbb\xbf"


def window_hours(value: object) -> int | None:
    """Hours of a completion window written `24h` or `7d` (None when it is neither)."""
    match = _WINDOW.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    number = int(match.group(1))
    return number * 24 if match.group(2) == "d" else number


@dataclass(frozen=True)
class Dialect:
    """What one provider's Batch API does differently from OpenAI's."""

    #: The profile name (`sandbox --profile NAME`).
    name: str
    #: Who the profile imitates, for people.
    label: str
    #: Endpoints a batch may name.
    batch_endpoints: tuple[str, ...] = OPENAI_BATCH_ENDPOINTS
    #: Shortest and longest completion window accepted, in hours.
    window_hours: tuple[int, int] = (24, 24)
    #: Hours after which a batch expires whatever its window (None: when its window ends).
    expiry_hours: float | None = None
    #: False when batches never expire (Azure lets a late batch run on).
    expires: bool = True
    #: Largest upload in bytes.
    max_file_bytes: int = OPENAI_MAX_FILE_BYTES
    #: Batch input files without an expiry a resource may hold (None: no cap).
    max_kept_files: int | None = None
    #: Whether input files expire after 30 days when the upload does not say.
    files_expire: bool = True
    #: Whether an input file starting with a UTF-8 byte order mark fails validation.
    refuses_bom: bool = False
    #: Whether a batch where nothing failed still gets an empty error file.
    empty_error_file: bool = False
    #: The status a new batch reports instead of `validating` (None: `validating`).
    queued_status: str | None = None
    #: Whether `POST /v1/batches/{id}/cancel` exists.
    has_cancel: bool = True
    #: Whether `GET /v1/batches` exists.
    has_list: bool = True
    #: Batch endpoints answered as another endpoint (DashScope's test route is a chat route).
    endpoint_aliases: Mapping[str, str] = field(default_factory=dict)
    #: Models that run no inference and cost nothing, with their (lines, bytes) file limits.
    free_models: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: What `GET /v1/models` lists (ids as this provider writes them) and who owns them.
    models: tuple[str, ...] = OPENAI_MODELS
    #: The `owned_by` of the listed models.
    owner: str = "openai"
    #: Whether `/v1/files` and `/v1/batches` exist; without them, `no_route` answers there.
    batch_api: bool = True
    #: How the server answers a route it lacks: a status and a body, where `{method}` and
    #: `{path}` name the request (None: OpenAI's 404, as for any unknown URL).
    no_route: NoRoute | None = None

    def windows_text(self) -> str:
        """The accepted windows, as the error message names them."""
        low, high = self.window_hours
        return f"'{low}h'" if low == high else f"from '{low}h' to '{high}h'"

    def accepts_window(self, value: object) -> bool:
        """Whether `value` is a completion window this provider takes."""
        hours = window_hours(value)
        low, high = self.window_hours
        if low == high:
            return value == f"{low}h"
        return hours is not None and low <= hours <= high

    def expiry_seconds(self, window: str) -> float | None:
        """Seconds from creation to expiry of a batch with `window` (None: it never expires)."""
        if not self.expires:
            return None
        if self.expiry_hours is not None:
            return self.expiry_hours * _HOUR
        return (window_hours(window) or 24) * _HOUR

    def answered_endpoint(self, endpoint: str) -> str:
        """The synchronous endpoint that answers a batch's lines."""
        return self.endpoint_aliases.get(endpoint, endpoint)

    def file_problems(self, path: Path, model: str | None, total: int) -> list[dict[str, Any]]:
        """Validation errors this provider adds to OpenAI's, `{code, message, param, line}`."""
        problems: list[dict[str, Any]] = []
        if self.refuses_bom:
            with path.open("rb") as handle:
                if handle.read(len(_BOM)) == _BOM:
                    problems.append(
                        {
                            "code": "invalid_json_line",
                            "message": "The file starts with a byte order mark (BOM); save it as "
                            "UTF-8 without a BOM.",
                            "param": None,
                            "line": 1,
                        }
                    )
        if model is not None and model in self.free_models:
            max_lines, max_bytes = self.free_models[model]
            size = path.stat().st_size
            if total > max_lines or size > max_bytes:
                problems.append(
                    {
                        "code": "too_many_tasks",
                        "message": f"A file for {model} holds at most {max_lines} lines and "
                        f"{max_bytes:,} bytes; this one holds {total} lines and {size:,} bytes.",
                        "param": None,
                        "line": None,
                    }
                )
        return problems


_CHAT = "/v1/chat/completions"
_MB = 1_000_000


def _local_server(
    name: str, label: str, models: tuple[str, ...], owner: str, no_route: NoRoute
) -> Dialect:
    """A server on the analyst's machine: synchronous routes and its models, no batches."""
    return Dialect(
        name,
        label,
        batch_endpoints=(),
        models=models,
        owner=owner,
        batch_api=False,
        no_route=no_route,
    )


DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (
        Dialect("openai", "OpenAI"),
        Dialect(
            "azure",
            "Azure OpenAI (v1 API)",
            batch_endpoints=(_CHAT, "/v1/responses", "/v1/embeddings"),
            expires=False,
            max_kept_files=500,
            files_expire=False,
            refuses_bom=True,
            empty_error_file=True,
            models=("gpt-4o-mini", "gpt-4.1-mini", "text-embedding-3-small"),
            owner="system",
        ),
        Dialect(
            "groq",
            "Groq",
            batch_endpoints=(_CHAT,),
            window_hours=(24, 7 * 24),
            max_file_bytes=100 * _MB,
            models=("llama-3.1-8b-instant", "llama-3.3-70b-versatile"),
            owner="Meta",
        ),
        Dialect(
            "deepinfra",
            "DeepInfra",
            batch_endpoints=(_CHAT, "/v1/completions", "/v1/embeddings"),
            models=("meta-llama/Meta-Llama-3.1-8B-Instruct", "BAAI/bge-large-en-v1.5"),
            owner="deepinfra",
        ),
        Dialect(
            "dashscope",
            "Alibaba Cloud Model Studio (DashScope)",
            batch_endpoints=(_CHAT, "/v1/embeddings", "/v1/chat/ds-test"),
            window_hours=(24, 336),
            max_file_bytes=100 * _MB,
            endpoint_aliases={"/v1/chat/ds-test": _CHAT},
            free_models={"batch-test-model": (100, 1 * _MB)},
            models=("qwen-plus", "qwen-max", "qwen-flash", "text-embedding-v4", "batch-test-model"),
            owner="system",
        ),
        Dialect(
            "siliconflow",
            "SiliconFlow",
            batch_endpoints=(_CHAT,),
            window_hours=(24, 336),
            queued_status="in_queue",
            models=("deepseek-ai/DeepSeek-V3", "Qwen/Qwen2.5-7B-Instruct"),
            owner="siliconflow",
        ),
        Dialect(
            "gemini",
            "Google Gemini (OpenAI compatibility)",
            batch_endpoints=(_CHAT, "/v1/embeddings"),
            expiry_hours=48,
            has_list=False,
            # The compatibility layer lists models with Gemini's resource prefix.
            models=(
                "models/gemini-2.5-flash",
                "models/gemini-2.5-pro",
                "models/gemini-embedding-001",
            ),
            owner="google",
        ),
        Dialect("litellm", "LiteLLM proxy"),
        Dialect("custom", "Another OpenAI-compatible server"),
        _local_server(
            "ollama",
            "Ollama",
            ("llama3.2:latest", "qwen2.5:7b", "nomic-embed-text:latest"),
            "library",
            NoRoute(404, "404 page not found", "text/plain"),
        ),
        _local_server(
            "llamacpp",
            "llama.cpp server",
            ("qwen2.5-7b-instruct-q4_k_m.gguf",),
            "llamacpp",
            NoRoute(
                404,
                '{{"error": {{"code": 404, "message": "File Not Found", '
                '"type": "not_found_error"}}}}',
            ),
        ),
        _local_server(
            "lmstudio",
            "LM Studio",
            ("qwen2.5-7b-instruct", "text-embedding-nomic-embed-text-v1.5"),
            "organization_owner",
            NoRoute(200, '{{"error": "Unexpected endpoint or method. ({method} {path})"}}'),
        ),
        _local_server(
            "vllm",
            "vLLM serve",
            ("Qwen/Qwen2.5-7B-Instruct",),
            "vllm",
            NoRoute(404, '{{"detail": "Not Found"}}'),
        ),
    )
}
#: The profile names, in the order `--profile` lists them.
PROFILE_NAMES = tuple(DIALECTS)


def dialect_named(name: str) -> Dialect:
    """The dialect of profile `name`; ValueError naming the choices for an unknown one."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(
            f"No sandbox profile named {name!r}; choose one of {', '.join(PROFILE_NAMES)}."
        ) from None
