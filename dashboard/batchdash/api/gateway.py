"""The only module that calls the openai SDK: files, batches and the synchronous endpoints.

Every SDK error leaves this module as one of the project's own error types (batchdash.errors),
with a sentence an analyst can act on. Timeouts and retries are explicit; the SDK itself retries
429, 5xx, timeouts and refused connections with backoff, honouring `retry-after`, and each of
its retries is told to the notice listeners (`api_notices`) in plain words. Creating a batch is
never retried here: a create that timed out may still have been carried out, so the caller
looks for the batch (`find_batch`) before trying again. It works against any base URL: OpenAI,
Azure OpenAI v1, a compatible gateway, or the sandbox. The API key never appears in a message,
a log line or a repr.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import httpx2
import openai
from openai._models import FinalRequestOptions

from batchdash.api.batch_info import BatchInfo
from batchdash.api.notices import notify
from batchdash.api.retry_policy import seconds_text
from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.errors import (
    ApiError,
    ApiTimeout,
    BadRequest,
    InputError,
    KeyRefused,
    NetworkDown,
    NotFound,
    RateLimited,
    ServerUnavailable,
)
from batchdash.i18n import Message, _l
from batchdash.recipe import ENDPOINTS

log = logging.getLogger(__name__)

#: Seconds allowed to open a connection (a dead host should fail fast).
CONNECT_TIMEOUT = 10.0
#: Bytes read at a time when a result file is streamed to disk.
DOWNLOAD_CHUNK_BYTES = 1 << 20
# Server messages are quoted to the analyst up to this length.
_MAX_DETAIL_CHARS = 300
# Anything shaped like an OpenAI secret key, in case a server echoes one.
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-*]{6,}")
# A key that is a short plain word is a stand-in, not a secret (the sandbox's "sandbox", a local
# server's "EMPTY"): masking it would garble the same word in the server's messages. Real keys
# are far longer (OpenAI's 51+ characters, Azure's 32); any other key is masked, however short.
_STAND_IN_MAX_CHARS = 11
_AZURE_RESOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
#: The name the pages give the bundled sandbox server; messages say it in the language in use.
SANDBOX_NAME = "The sandbox"


def azure_base_url(resource: str) -> str:
    """The Azure OpenAI v1 base URL of a resource name (or of its endpoint URL)."""
    name = resource.strip()
    match = re.fullmatch(r"https://([^./]+)\.openai\.azure\.com(/.*)?", name)
    if match:
        name = match.group(1)
    if not _AZURE_RESOURCE.fullmatch(name):
        raise InputError(
            _l(
                "The Azure resource name {resource!r} is not valid: use the letters, digits and "
                "hyphens before .openai.azure.com, like my-resource.",
                resource=resource,
            )
        )
    return f"https://{name}.openai.azure.com/openai/v1/"


class Gateway:
    """Files, batches and synchronous calls of one API key at one base URL."""

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        *,
        http_client: httpx2.Client | None = None,
        timeout: float = 60,
        max_retries: int = 3,
        completion_window: str = "24h",
        upload_purpose: str = "batch",
        can_list: bool = True,
        terminal_statuses: Iterable[str] = OPENAI_TERMINAL_STATUSES,
        name: str | None = None,
        batch_metadata: Mapping[str, str] | None = None,
        output_expires_seconds: int | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise KeyRefused(_l("No API key is set. Enter one in Settings."))
        self._api_key = api_key
        self.timeout = timeout
        #: Extra attempts the SDK makes after a 408/409/429/5xx, a timeout or a refused
        #: connection, waiting as `retry-after` says or backing off exponentially.
        self.max_retries = max_retries
        #: Completion window sent with every new batch (OpenAI accepts only "24h").
        self.completion_window = completion_window
        #: `purpose` of uploaded input files (every provider so far says "batch").
        self.upload_purpose = upload_purpose
        #: Whether the server lists batches (Gemini's compatibility layer does not): without a
        #: list, nothing is looked for before a create and every batch is retrieved by its id.
        self.can_list = can_list
        #: Statuses after which a batch never changes.
        self.terminal_statuses = frozenset(terminal_statuses)
        #: Pairs added to every new batch's metadata (e.g. the pace a sandbox batch runs at).
        self.batch_metadata = dict(batch_metadata or {})
        #: Seconds after their creation a new batch's output and error files expire
        #: (`output_expires_after`), and uploaded input files too (`expires_after`): a file
        #: Batchdash never gets to delete goes all the same, and Azure counts only files without
        #: an expiry against its 500. None sends no such field (the provider's default applies).
        self.output_expires_seconds = output_expires_seconds
        self._client = _NoticingOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=httpx2.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            max_retries=max_retries,
            http_client=http_client,
        )
        # For calls the SDK must not repeat by itself: one that timed out may have been done.
        self._once = self._client.with_options(max_retries=0)
        #: The base URL in use (the SDK falls back to OPENAI_BASE_URL, then OpenAI's).
        self.base_url = str(self._client.base_url)
        #: What messages call the server: `name` ("The sandbox") or one read from the URL.
        self.provider = (
            _named(name)
            if name
            else _provider_name(self._client.base_url.host, _netloc(self._client.base_url))
        )
        #: What "Cannot reach ..." names: the server's name, or its host and port.
        self.host = _in_sentence(name) if name else _netloc(self._client.base_url)
        self._client.server_name = self._once.server_name = name

    def __repr__(self) -> str:
        return f"Gateway(base_url={self.base_url!r})"

    def _expiry(self) -> Any:
        """The `expires_after` of new files (anchored at each file's own creation)."""
        if self.output_expires_seconds is None:
            return openai.omit
        return {"anchor": "created_at", "seconds": self.output_expires_seconds}

    # --- files -----------------------------------------------------------------------------

    def upload_part(self, name: str, data: bytes, *, retry: bool = True) -> str:
        """Upload one JSONL part for batch use; returns its file id.

        `retry=False` makes one attempt and leaves retrying to the caller, who can first look
        for the file with `find_file`: an upload that timed out may have landed, and the SDK's
        own retry would upload it a second time.
        """
        client = self._client if retry else self._once
        with self._translated(_l("upload of {name}", name=name)):
            uploaded = client.files.create(
                file=(name, data, "application/jsonl"),
                purpose=cast(Any, self.upload_purpose),
                expires_after=self._expiry(),
            )
        return uploaded.id

    def find_file(self, filename: str, size: int, created_after: int) -> str | None:
        """The newest batch input file named `filename` of `size` bytes, uploaded since
        `created_after` (unix seconds), if any; the scan stops at the first older file."""
        with self._translated(_l("list of files")):
            for found in self._client.files.list(purpose="batch", order="desc", limit=100):
                if found.created_at < created_after:
                    return None
                if found.filename == filename and found.bytes == size:
                    return found.id
        return None

    def list_files(self, page_size: int = 100) -> Iterator[FileInfo]:
        """Every file of the key, newest first, fetched `page_size` at a time as it goes."""
        with self._translated(_l("list of files")):
            for found in self._client.files.list(order="desc", limit=page_size):
                yield FileInfo(
                    id=found.id,
                    filename=found.filename,
                    purpose=str(found.purpose),
                    bytes=found.bytes,
                    created_at=found.created_at,
                )

    def delete_file(self, file_id: str, *, retry: bool = True) -> bool:
        """Delete a file; False when the server no longer had it (deleted or expired before).
        With `retry` False the SDK does not repeat a failed call (housekeeping tries later)."""
        client = self._client if retry else self._once
        try:
            with self._translated(_l("file {file_id}", file_id=file_id)):
                client.files.delete(file_id)
        except NotFound:
            return False
        return True

    def download_file(
        self,
        file_id: str,
        dest: Path,
        *,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Stream a file to `dest` (through a temporary file, renamed at the end); bytes written.

        An empty file (Azure writes an empty error file even when nothing failed) gives 0.
        `on_progress(bytes_so_far, total_bytes)` follows along; the total is None when the
        server does not say.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        written = 0
        try:
            with (
                os.fdopen(handle, "wb") as out,
                self._translated(_l("file {file_id}", file_id=file_id)),
                self._client.files.with_streaming_response.content(file_id) as response,
            ):
                total = _content_length(response.headers)
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
                    if on_progress is not None:
                        on_progress(written, total)
            os.replace(temporary, dest)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return written

    def file_bytes(self, file_id: str) -> bytes:
        """A whole file in memory (for small files; use `download_file` for results)."""
        with self._translated(_l("file {file_id}", file_id=file_id)):
            return self._client.files.content(file_id).read()

    # --- batches ---------------------------------------------------------------------------

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str,
        metadata: dict[str, str],
        completion_window: str | None = None,
    ) -> BatchInfo:
        """Start a batch over an uploaded file, tagged with `metadata` (at most 16 pairs), with
        `completion_window` (default: the gateway's).

        Made once, without the SDK's retries: a create that timed out may have been carried out
        all the same, so whoever tries again looks for the tagged batch first (`find_batch`).
        """
        expiry = self._expiry()
        with self._translated(_l("file {file_id}", file_id=input_file_id)):
            batch = self._once.batches.create(
                input_file_id=input_file_id,
                endpoint=cast(Any, endpoint),
                completion_window=cast(Any, completion_window or self.completion_window),
                metadata={**self.batch_metadata, **metadata},
                output_expires_after=expiry,
            )
        return self._info(batch)

    def retrieve_batch(self, batch_id: str) -> BatchInfo:
        """The current state of one batch."""
        with self._translated(_l("batch {batch_id}", batch_id=batch_id)):
            batch = self._client.batches.retrieve(batch_id)
        return self._info(batch)

    def cancel_batch(self, batch_id: str) -> BatchInfo:
        """Ask to cancel a batch; it moves to "cancelling", then "cancelled" with partial results."""
        with self._translated(_l("batch {batch_id}", batch_id=batch_id)):
            batch = self._client.batches.cancel(batch_id)
        return self._info(batch)

    def list_batches(self, limit: int = 100) -> Iterator[BatchInfo]:
        """Every batch of the key, newest first, fetching `limit` per page as it goes (none
        from a server that cannot list them)."""
        if not self.can_list:
            return
        with self._translated(_l("list of batches")):
            for batch in self._client.batches.list(limit=limit):
                yield self._info(batch)

    def batches_since(self, created_after: int | None) -> Iterator[BatchInfo]:
        """The key's batches created since `created_after` (unix seconds), newest first.

        The list is newest first, so reading stops at the first batch created before it.
        """
        for batch in self.list_batches():
            if created_after is not None and batch.created_at < created_after:
                return
            yield batch

    def find_batch(
        self, metadata_match: Mapping[str, str], created_after: int | None = None
    ) -> BatchInfo | None:
        """The newest batch whose metadata holds every pair of `metadata_match`, if any, among
        those created since `created_after` (nothing older can be the one we look for)."""
        for batch in self.batches_since(created_after):
            if all(batch.metadata.get(k) == v for k, v in metadata_match.items()):
                return batch
        return None

    # --- synchronous calls -----------------------------------------------------------------

    def complete(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """One synchronous request to a model endpoint; the JSON answer as a dict."""
        if endpoint not in ENDPOINTS:
            raise InputError(
                _l(
                    "Batchdash cannot call {endpoint!r}; use one of {endpoints}.",
                    endpoint=endpoint,
                    endpoints=", ".join(ENDPOINTS),
                )
            )
        path = endpoint.removeprefix("/v1")
        with self._translated(None):
            response = self._client.post(path, body=body, cast_to=httpx2.Response)
            answer = response.json()
        if not isinstance(answer, dict):
            raise ApiError(
                _l(
                    "{provider} answered {endpoint} with something that is not JSON.",
                    provider=self.provider,
                    endpoint=endpoint,
                )
            )
        return answer

    def call_direct(self, endpoint: str, body: dict[str, Any]) -> DirectAnswer:
        """One synchronous request for one row of a direct run, made once (the runner retries
        and paces itself): the answer, or the server's refusal of that request alone.

        A refusal of the request itself (HTTP 400, 404, 413, 422 and the other 4xx but 401,
        403, 408, 409 and 429) comes back as a DirectAnswer, like a batch's error line; a
        refused key, a rate limit, a server error, a timeout or a lost connection is raised
        as the project's error (RateLimited carries the server's Retry-After)."""
        if endpoint not in ENDPOINTS:
            raise InputError(
                _l(
                    "Batchdash cannot call {endpoint}; use one of {endpoints}.",
                    endpoint=repr(endpoint),
                    endpoints=", ".join(ENDPOINTS),
                )
            )
        path = endpoint.removeprefix("/v1")
        refused: DirectAnswer | None = None
        with self._translated(None, logged=False):
            try:
                response = self._once.post(path, body=body, cast_to=httpx2.Response)
            except openai.APIStatusError as error:
                if not _refuses_request_alone(error.status_code):
                    raise
                refused = DirectAnswer(
                    error.status_code, _error_body(error, self._detail(error)), error.request_id
                )
            else:
                answer = response.json()
        if refused is not None:
            return refused
        if not isinstance(answer, dict):
            raise ServerUnavailable(
                _l(
                    "{provider} answered {endpoint} with something that is not JSON.",
                    provider=self.provider,
                    endpoint=endpoint,
                )
            )
        return DirectAnswer(200, answer, response.headers.get("x-request-id"))

    def list_models(self) -> list[str]:
        """The ids of the models the key may use, sorted (GET /models)."""
        with self._translated(_l("list of models")):
            return sorted({model.id for model in self._client.models.list()})

    def check_key(self) -> None:
        """Raise KeyRefused (or another ApiError) unless the key can list batches (or, on a
        server that lists none, its models)."""
        if not self.can_list:
            self.list_models()
            return
        with self._translated(_l("list of batches")):
            self._client.batches.list(limit=1)

    # --- errors ----------------------------------------------------------------------------

    def retry_reason(self, error: ApiError) -> str | Message:
        """Why a call is being tried again, in a few plain words ("OpenAI is busy (rate limit)")."""
        if isinstance(error, RateLimited):
            return _reason("rate_limit", self.provider, self.host, self.timeout)
        if isinstance(error, ServerUnavailable):
            return _reason("server", self.provider, self.host, self.timeout)
        if isinstance(error, ApiTimeout):
            return _reason("timeout", self.provider, self.host, self.timeout)
        if isinstance(error, NetworkDown):
            return _reason("network", self.provider, self.host, self.timeout)
        return str(error).rstrip(".。")

    def _info(self, batch: openai.types.Batch) -> BatchInfo:
        data = batch.model_dump(mode="json", warnings=False)
        return BatchInfo.from_dict(data, terminal_statuses=self.terminal_statuses)

    @contextmanager
    def _translated(self, subject: Message | None, *, logged: bool = True) -> Iterator[None]:
        """Re-raise SDK and transport errors as batchdash errors; `subject` names the object.
        `logged=False` keeps them out of the log (a direct run tells its own progress)."""
        try:
            yield
        except openai.OpenAIError as error:
            translated = self._translate(error, subject)
            if isinstance(error, openai.APIStatusError):
                translated.status_code = error.status_code
                translated.request_id = error.request_id
        except httpx2.TimeoutException:
            # Raised while streaming a body, after the SDK handed the response over.
            translated = ApiTimeout(self._timeout_message())
        except httpx2.TransportError:
            translated = NetworkDown(self._unreachable_message())
        else:
            return
        if logged:
            log.warning("%s: %s", type(translated).__name__, translated)
        # `from None`: the SDK error holds the request, and the request holds the key.
        raise translated from None

    def _translate(self, error: openai.OpenAIError, subject: Message | None) -> ApiError:
        if isinstance(error, openai.APITimeoutError):
            return ApiTimeout(self._timeout_message())
        if isinstance(error, openai.APIConnectionError):
            return NetworkDown(self._unreachable_message())
        if not isinstance(error, openai.APIStatusError):
            return ApiError(
                _l(
                    "The call to {provider} failed: {detail}",
                    provider=self.provider,
                    detail=self._detail(error),
                )
            )
        status, detail = error.status_code, self._detail(error)
        if isinstance(error, openai.AuthenticationError):
            return KeyRefused(_l("The API key was refused. Check it in Settings."))
        if isinstance(error, openai.PermissionDeniedError):
            return KeyRefused(
                _l(
                    "The API key was refused for this request ({detail}); check its project and "
                    "permissions in Settings.",
                    detail=detail,
                )
            )
        if isinstance(error, openai.NotFoundError):
            if subject is None:
                return NotFound(
                    _l(
                        "{provider} does not know this model or URL ({detail}).",
                        provider=self.provider,
                        detail=detail,
                    )
                )
            return NotFound(
                _l(
                    "The {subject} was not found for this API key; check that the key belongs to the "
                    "project that created it.",
                    subject=subject,
                )
            )
        if isinstance(error, openai.RateLimitError):
            return self._rate_limited(error)
        if status >= 500:
            return ServerUnavailable(
                _l(
                    "{provider} has a server problem (HTTP {status}); try again in a few minutes.",
                    provider=self.provider,
                    status=status,
                )
            )
        if status in (400, 413, 422):
            return BadRequest(
                _l(
                    "{provider} rejected the request: {detail}",
                    provider=self.provider,
                    detail=detail,
                )
            )
        return ApiError(
            _l(
                "{provider} answered HTTP {status}: {detail}",
                provider=self.provider,
                status=status,
                detail=detail,
            )
        )

    def _rate_limited(self, error: openai.APIStatusError) -> RateLimited:
        if error.code == "insufficient_quota":
            limited = RateLimited(
                _l(
                    "The API key has no quota left (insufficient_quota); add credit or raise the "
                    "spending limit in the provider's billing settings."
                )
            )
            limited.retryable = False
            return limited
        wait = retry_after_seconds(error.response.headers)
        if wait is None:
            return RateLimited(
                _l("{provider} is busy (rate limit), retrying in a minute.", provider=self.provider)
            )
        return RateLimited(
            _l(
                "{provider} is busy (rate limit), retrying in {seconds} s.",
                provider=self.provider,
                seconds=math.ceil(wait),
            ),
            wait,
        )

    def _timeout_message(self) -> Message:
        return _l(
            "{provider} did not answer within {timeout:g} s; try again in a minute.",
            provider=self.provider,
            timeout=self.timeout,
        )

    def _unreachable_message(self) -> Message:
        return _l("Cannot reach {host}. Check the network or the base URL.", host=self.host)

    def _detail(self, error: openai.OpenAIError) -> str:
        """The server's own explanation, shortened and with any key hidden."""
        body = getattr(error, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        text = str(message or getattr(error, "message", "") or type(error).__name__)
        if not _is_stand_in(self._api_key):
            text = text.replace(self._api_key, "[key hidden]")
        text = _KEY_PATTERN.sub("sk-[hidden]", " ".join(text.split()))
        if len(text) > _MAX_DETAIL_CHARS:
            text = text[: _MAX_DETAIL_CHARS - 1] + "…"
        return text


RetryKind = Literal["rate_limit", "server", "status", "timeout", "network"]


def _reason(
    kind: RetryKind, provider: str | Message, host: str | Message, timeout: float, status: int = 0
) -> Message:
    """The first half of a retry notice: what went wrong, plainly."""
    if kind == "rate_limit":
        return _l("{provider} is busy (rate limit)", provider=provider)
    if kind == "server":
        if status:
            return _l(
                "{provider} has a server problem (HTTP {status})", provider=provider, status=status
            )
        return _l("{provider} has a server problem", provider=provider)
    if kind == "status":
        return _l("{provider} answered HTTP {status}", provider=provider, status=status)
    if kind == "timeout":
        return _l(
            "{provider} did not answer within {timeout:g} s", provider=provider, timeout=timeout
        )
    return _l("Cannot reach {host}", host=host)


class _NoticingOpenAI(openai.OpenAI):
    """The SDK's client, telling the notice listeners about each retry it makes by itself."""

    #: What the notices call the server (None: a name read from the base URL).
    server_name: str | None = None

    def _calculate_retry_timeout(
        self,
        remaining_retries: int,
        options: FinalRequestOptions,
        response_headers: httpx2.Headers | None = None,
    ) -> float:
        wait = super()._calculate_retry_timeout(remaining_retries, options, response_headers)
        # The SDK asks for the wait right before it sleeps for a retry, while it handles the
        # error that caused it; that error says what went wrong.
        notify(
            _l(
                "{reason}, retrying in {wait}.",
                reason=self._retry_reason(sys.exc_info()[1]),
                wait=seconds_text(wait),
            )
        )
        return wait

    def _retry_reason(self, error: BaseException | None) -> Message:
        name = self.server_name
        netloc: str | Message
        if name:
            provider, netloc = _named(name), _in_sentence(name)
        else:
            netloc = _netloc(self.base_url)
            provider = _provider_name(self.base_url.host, netloc)
        timeout = self.timeout.read if isinstance(self.timeout, httpx2.Timeout) else self.timeout
        seconds = float(timeout) if isinstance(timeout, int | float) else 0.0
        if isinstance(error, httpx2.TimeoutException):
            return _reason("timeout", provider, netloc, seconds)
        if isinstance(error, httpx2.HTTPStatusError):
            status = error.response.status_code
            kind: RetryKind = (
                "rate_limit" if status == 429 else "server" if status >= 500 else "status"
            )
            return _reason(kind, provider, netloc, seconds, status)
        return _reason("network", provider, netloc, seconds)


@dataclass(frozen=True)
class FileInfo:
    """One file of the key, as the server lists it."""

    #: The file's id.
    id: str
    #: The name it was uploaded under (output files get one from the server).
    filename: str
    #: `batch`, `batch_output`, ...
    purpose: str
    #: Its size.
    bytes: int
    #: When it was made, in unix seconds.
    created_at: int


@dataclass(frozen=True)
class DirectAnswer:
    """What the server answered one direct request: the HTTP status and the JSON body."""

    #: 200 for an answer; a 4xx for a refusal of the request itself.
    status_code: int
    #: The answer, or the refusal's `{"error": {...}}`.
    body: dict[str, Any]
    #: The server's `x-request-id`, when it gave one.
    request_id: str | None = None


def _refuses_request_alone(status: int) -> bool:
    """Whether an HTTP status refuses this one request (as a batch's error line would), not
    the key (401, 403) nor a passing state of the server (408 timeout, 409 conflict, 429)."""
    return 400 <= status < 500 and status not in (401, 403, 408, 409, 429)


def _error_body(error: openai.APIStatusError, detail: str) -> dict[str, Any]:
    """The refusal's body as the server sent it, its message as `detail` says it (shortened,
    any key hidden: the body is kept in the registry), else a body made of `detail`."""
    try:
        body = error.response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {**body, "error": {**body["error"], "message": detail}}
    return {"error": {"message": detail, "type": "invalid_request_error", "code": None}}


def _content_length(headers: Mapping[str, str]) -> int | None:
    """The body size a response announces, if it does (a compressed body's is not its size)."""
    value = headers.get("content-length")
    if value is None or headers.get("content-encoding") or not value.isdigit():
        return None
    return int(value)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds a 429 asks to wait: `retry-after-ms`, `retry-after` seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _is_stand_in(api_key: str) -> bool:
    """Whether the key is a placeholder word rather than a secret (see _STAND_IN_MAX_CHARS)."""
    return len(api_key) <= _STAND_IN_MAX_CHARS and api_key.isascii() and api_key.isalpha()


def _netloc(url: httpx2.URL) -> str:
    return url.netloc.decode() or str(url)


def _named(name: str) -> str | Message:
    """A server's name as messages start with it: the sandbox's in the language in use."""
    return _l("The sandbox") if name == SANDBOX_NAME else name


def _in_sentence(name: str) -> str | Message:
    """A server's name inside a sentence: "The sandbox" -> "the sandbox" ("OpenAI" stays)."""
    if name == SANDBOX_NAME:
        return _l("the sandbox")
    return "the " + name[4:] if name.startswith("The ") else name


def _provider_name(host: str, netloc: str) -> str | Message:
    """How messages name the server: "OpenAI", "Azure OpenAI" or "The server at HOST:PORT"."""
    if host == "api.openai.com" or host.endswith(".api.openai.com"):
        return "OpenAI"
    if host.endswith(".openai.azure.com"):
        return "Azure OpenAI"
    return _l("The server at {netloc}", netloc=netloc)
