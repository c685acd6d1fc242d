"""`GET /v1/models` and `GET /v1/models/{model}`: the models of the sandbox's profile.

The list says what a client's model picker would offer for that provider; any other model name
is still answered (the sandbox imitates models, it does not gate them).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.api_errors import ApiErrorResponse
from sandbox.context import context_of

# A fixed creation time: the sandbox's models have no history, and answers stay deterministic.
_CREATED = 1_700_000_000


def _model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": owner}


async def list_models(request: Request) -> Response:
    """GET /v1/models."""
    dialect = context_of(request).dialect
    data = [_model(model_id, dialect.owner) for model_id in dialect.models]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> Response:
    """GET /v1/models/{model}: a listed model, else OpenAI's 404."""
    dialect = context_of(request).dialect
    model_id = request.path_params["model"]
    if model_id not in dialect.models:
        raise ApiErrorResponse(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return JSONResponse(_model(model_id, dialect.owner))


model_routes = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
]
