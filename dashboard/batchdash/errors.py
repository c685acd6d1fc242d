"""The project's own error types.

Every error carries a message that an analyst can act on: it names the problem and the fix.
The pages show `str(error)` as it is; the CLI prints it as one line and exits 2. The message is
usually a `Message` (`raise InputError(_l(...))`), so `str(error)` is in the language in use
when the error is shown, not when it was raised.
"""

from __future__ import annotations


class BatchdashError(Exception):
    """Base of every error Batchdash raises on purpose."""


class InputError(BatchdashError):
    """The spreadsheet, template, recipe or an option cannot be used as given."""


class ResultsError(BatchdashError):
    """An output or error file cannot be read."""


class ApiError(BatchdashError):
    """The Batch API (OpenAI or a compatible server) refused or failed a call."""

    #: Whether trying the same call again later may succeed.
    retryable: bool = False
    #: The HTTP status the server answered, when it answered (for support; never the key).
    status_code: int | None = None
    #: The server's `x-request-id` for the failed call, when it sent one (support asks for it).
    request_id: str | None = None


class KeyRefused(ApiError):
    """The API key was refused (HTTP 401/403)."""


class NotFound(ApiError):
    """A file or batch id does not exist for this key (HTTP 404)."""


class BadRequest(ApiError):
    """The server rejected the request itself (HTTP 400/422)."""


class RateLimited(ApiError):
    """Too many requests or quota exhausted (HTTP 429)."""

    retryable = True

    def __init__(self, message: object, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: Seconds the server asked us to wait, when it said.
        self.retry_after = retry_after


class ServerUnavailable(ApiError):
    """The server answered with a 5xx error."""

    retryable = True


class ApiTimeout(ApiError):
    """The server did not answer in time."""

    retryable = True


class NetworkDown(ApiError):
    """The server could not be reached at all."""

    retryable = True


class RegistryError(BatchdashError):
    """The job registry database cannot be opened, or was written by a newer Batchdash."""
