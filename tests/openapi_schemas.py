"""Validation against OpenAI's published OpenAPI specs (the copies in shared/reference)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator

Spec = Literal["newest", "2025"]

_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "openai-openapi"
_FILES: dict[Spec, Path] = {
    "newest": _REFERENCE / "openapi.yaml",
    "2025": _REFERENCE / "manual_spec-2025-04-29" / "openapi.yaml",
}

_REQUEST_SCHEMAS = {
    "/v1/chat/completions": "CreateChatCompletionRequest",
    "/v1/responses": "CreateResponse",
    "/v1/embeddings": "CreateEmbeddingRequest",
    "/v1/completions": "CreateCompletionRequest",
    "/v1/moderations": "CreateModerationRequest",
}


@cache
def _components(spec: Spec) -> dict[str, Any]:
    path = _FILES[spec]
    if not path.exists():
        raise AssertionError(f"The OpenAPI spec is missing at {path}.")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        document = yaml.load(handle, Loader=loader)
    return {"components": document["components"]}


@cache
def _validator(schema_name: str, spec: Spec) -> OAS30Validator | OAS31Validator:
    components = _components(spec)
    if schema_name not in components["components"]["schemas"]:
        raise AssertionError(f"No schema named {schema_name} in the {spec} spec.")
    schema = {"$ref": f"#/components/schemas/{schema_name}", **components}
    cls = OAS31Validator if spec == "newest" else OAS30Validator
    return cls(schema)


def validate(schema_name: str, instance: object, *, spec: Spec = "newest") -> None:
    """Raise AssertionError (with every violation) unless `instance` fits the named schema."""
    errors = sorted(_validator(schema_name, spec).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        lines = [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:10]]
        raise AssertionError(
            f"{schema_name} ({spec} spec) rejects the object:\n" + "\n".join(lines)
        )


def schema_of(schema_name: str, *, spec: Spec = "newest") -> dict[str, Any]:
    """The named schema as written in the spec (its `$ref`s left unresolved)."""
    schemas: dict[str, Any] = _components(spec)["components"]["schemas"]
    if schema_name not in schemas:
        raise AssertionError(f"No schema named {schema_name} in the {spec} spec.")
    return schemas[schema_name]


def request_schema_for(endpoint: str) -> str:
    """The request-body schema of a batch endpoint."""
    return _REQUEST_SCHEMAS[endpoint]
