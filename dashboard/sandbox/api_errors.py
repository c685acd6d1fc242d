"""HTTP errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiErrorResponse(Exception):
    """Raised by a route to answer with an OpenAI error object instead of a result."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        #: HTTP status of the answer.
        self.status_code = status_code
        #: The sentence OpenAI would write.
        self.message = message
        #: OpenAI's error category, e.g. "invalid_request_error" or "server_error".
        self.type = type
        #: The request parameter at fault, when one is.
        self.param = param
        #: A machine-readable code, when OpenAI gives one.
        self.code = code
        #: Extra response headers, e.g. `retry-after`.
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON body OpenAI sends for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> Response:
        """The error as a Starlette response."""
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


def not_found(kind: str, object_id: str) -> ApiErrorResponse:
    """The 404 OpenAI answers for an unknown file or batch id."""
    return ApiErrorResponse(404, f"No such {kind} object: {object_id}", param="id")


def bad_param(
    param: str, message: str, code: str | None = "invalid_value", status: int = 400
) -> ApiErrorResponse:
    """A 400 for one request parameter."""
    return ApiErrorResponse(status, message, param=param, code=code)


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    """Starlette exception handler turning ApiErrorResponse into its JSON answer."""
    assert isinstance(exc, ApiErrorResponse)
    return exc.response()


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 answers, in OpenAI's shape."""
    status = int(getattr(exc, "status_code", 500))
    if status == 404:
        message = "Invalid URL: the sandbox serves /v1/files, /v1/batches and the model endpoints."
    elif status == 405:
        message = "This method is not allowed on this URL."
    else:
        message = str(getattr(exc, "detail", "")) or "The request failed."
    return ApiErrorResponse(status, message).response()
