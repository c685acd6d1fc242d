"""The sandbox's answers: shapes from the OpenAPI spec, determinism, usage, schemas, limits, faults."""

from __future__ import annotations

import base64
import json
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from openai import OpenAI
from starlette.applications import Starlette
from starlette.testclient import TestClient

from batchdash.preflight.plan import plan_batch
from batchdash.preflight.tokens import encoding_for_model
from batchdash.recipe import Endpoint, OutputField, Recipe
from sandbox.answers import answer, input_tokens
from sandbox.sync_routes import sync_routes
from tests.openapi_schemas import request_schema_for, validate

RESPONSE_SCHEMAS = {
    "/v1/chat/completions": "CreateChatCompletionResponse",
    "/v1/responses": "Response",
    "/v1/embeddings": "CreateEmbeddingResponse",
    "/v1/completions": "CreateCompletionResponse",
}
MODELS = {
    "/v1/chat/completions": "gpt-4o-mini",
    "/v1/responses": "gpt-4.1-mini",
    "/v1/embeddings": "text-embedding-3-small",
    "/v1/completions": "gpt-3.5-turbo-instruct",
}
PROMPT = "Summarise this review in one line: the room was small but spotless, staff very kind."


def body_for(endpoint: str, prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    model = MODELS[endpoint]
    if endpoint == "/v1/chat/completions":
        body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    elif endpoint in ("/v1/responses", "/v1/embeddings"):
        body = {"model": model, "input": prompt}
    else:
        body = {"model": model, "prompt": prompt, "max_tokens": 200}
    validate(request_schema_for(endpoint), body)
    return {**body, **extra}


def answer_text(endpoint: str, reply: dict[str, Any]) -> str:
    if endpoint == "/v1/chat/completions":
        return str(reply["choices"][0]["message"]["content"])
    if endpoint == "/v1/responses":
        return str(reply["output"][0]["content"][0]["text"])
    return str(reply["choices"][0]["text"])


@pytest.mark.parametrize("endpoint", list(RESPONSE_SCHEMAS))
def test_each_endpoint_answers_in_the_newest_spec_shape_and_deterministically(
    endpoint: str,
) -> None:
    status, reply = answer(endpoint, body_for(endpoint), attempt=1, created=1_700_000_000)
    assert status == 200
    validate(RESPONSE_SCHEMAS[endpoint], reply)
    again = answer(endpoint, body_for(endpoint), attempt=3, created=1_700_000_000)
    assert again == (status, reply)
    other = answer(endpoint, body_for(endpoint, "Another prompt"), attempt=1, created=1_700_000_000)
    assert other[1] != reply


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/responses", "/v1/completions"])
def test_text_answers_say_they_come_from_the_sandbox_and_count_their_tokens(endpoint: str) -> None:
    _, reply = answer(endpoint, body_for(endpoint), attempt=1)
    text = answer_text(endpoint, reply)
    assert text.startswith("[sandbox] ")
    assert "Summarise this review in one line" in text
    usage = reply["usage"]
    written = usage.get("completion_tokens", usage.get("output_tokens"))
    assert written == len(encoding_for_model(MODELS[endpoint]).encode(text))


@pytest.mark.parametrize(
    ("endpoint", "system"),
    [
        ("/v1/chat/completions", ""),
        ("/v1/chat/completions", "You rate hotel reviews."),
        ("/v1/responses", "You rate hotel reviews."),
        ("/v1/embeddings", ""),
        ("/v1/completions", ""),
    ],
)
def test_input_tokens_agree_with_the_preflight_estimate(endpoint: Endpoint, system: str) -> None:
    frame = pd.DataFrame({"review": ["Lovely staff, tiny room.", "Noisy street; great breakfast!"]})
    recipe = Recipe(
        endpoint=endpoint, model=MODELS[endpoint], template="Rate: {review}", system_prompt=system
    )
    plan = plan_batch(frame, recipe)
    assert plan.ok, plan.problems
    for row in range(len(frame)):
        body = plan.request_body(row)
        status, reply = answer(endpoint, body, attempt=1)
        assert status == 200, reply
        usage = reply["usage"]
        used = usage.get("prompt_tokens", usage.get("input_tokens"))
        assert used == plan.row_input_tokens[row] == input_tokens(endpoint, body)


STRICT_SCHEMA = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5},
        "recommend": {"type": "boolean"},
        "code": {"type": "string", "maxLength": 6},
        "topics": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
        "details": {
            "type": "object",
            "properties": {
                "note": {"type": ["string", "null"]},
                "when": {"type": "string", "format": "date"},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
            },
            "required": ["note", "when", "tags"],
            "additionalProperties": False,
        },
    },
    "required": ["sentiment", "score", "stars", "recommend", "code", "topics", "details"],
    "additionalProperties": False,
    "$defs": {
        "tag": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"k": {"const": "x"}},
                    "required": ["k"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        }
    },
}


@pytest.mark.parametrize("prompt", [f"review number {n}" for n in range(12)])
def test_a_chat_json_schema_gets_json_that_fits_it(prompt: str) -> None:
    body = body_for(
        "/v1/chat/completions",
        prompt,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "review", "strict": True, "schema": STRICT_SCHEMA},
        },
    )
    validate("CreateChatCompletionRequest", body)
    status, reply = answer("/v1/chat/completions", body, attempt=1)
    assert status == 200
    value = json.loads(reply["choices"][0]["message"]["content"])
    jsonschema.Draft202012Validator(STRICT_SCHEMA).validate(value)
    assert list(value) == list(STRICT_SCHEMA["properties"])  # type: ignore[call-overload]
    assert answer("/v1/chat/completions", body, attempt=2)[1]["choices"] == reply["choices"]


def test_values_vary_across_prompts_so_columns_are_not_constant() -> None:
    seen = set()
    for n in range(12):
        body = body_for(
            "/v1/chat/completions",
            f"review {n}",
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": STRICT_SCHEMA},
            },
        )
        value = json.loads(
            answer("/v1/chat/completions", body, attempt=1)[1]["choices"][0]["message"]["content"]
        )
        seen.add((value["sentiment"], value["recommend"]))
    assert len(seen) > 2


def test_a_responses_text_format_schema_from_the_recipe_gets_fitting_json() -> None:
    fields = (
        OutputField("sentiment", "one of", ("good", "bad")),
        OutputField("stars", "integer"),
        OutputField("score", "number"),
        OutputField("urgent", "yes/no"),
        OutputField("summary", "text"),
    )
    recipe = Recipe(
        endpoint="/v1/responses", model="gpt-4.1-mini", template="{r}", output_fields=fields
    )
    plan = plan_batch(pd.DataFrame({"r": ["fine", "awful"]}), recipe)
    body = plan.request_body(1)
    schema = body["text"]["format"]["schema"]
    status, reply = answer("/v1/responses", body, attempt=1)
    assert status == 200
    validate("Response", reply)
    value = json.loads(reply["output"][0]["content"][0]["text"])
    jsonschema.Draft202012Validator(schema).validate(value)
    assert reply["text"]["format"]["type"] == "json_schema"


def test_json_object_mode_answers_json_and_needs_the_word_json() -> None:
    fmt = {"type": "json_object"}
    status, reply = answer(
        "/v1/chat/completions",
        body_for("/v1/chat/completions", "Answer in JSON", response_format=fmt),
        attempt=1,
    )
    assert status == 200
    assert json.loads(reply["choices"][0]["message"]["content"])["answer"].startswith("[sandbox]")
    status, refused = answer(
        "/v1/chat/completions",
        body_for("/v1/chat/completions", "Answer", response_format=fmt),
        attempt=1,
    )
    assert status == 400
    validate("ErrorResponse", refused)


@pytest.mark.parametrize("limit_name", ["max_completion_tokens", "max_tokens"])
def test_a_small_chat_token_limit_cuts_the_answer_with_finish_reason_length(
    limit_name: str,
) -> None:
    _, full = answer("/v1/chat/completions", body_for("/v1/chat/completions"), attempt=1)
    _, cut = answer(
        "/v1/chat/completions", body_for("/v1/chat/completions", **{limit_name: 5}), attempt=1
    )
    validate("CreateChatCompletionResponse", cut)
    choice = cut["choices"][0]
    assert choice["finish_reason"] == "length"
    assert full["choices"][0]["finish_reason"] == "stop"
    assert cut["usage"]["completion_tokens"] == 5
    assert full["choices"][0]["message"]["content"].startswith(choice["message"]["content"])
    assert len(choice["message"]["content"]) < len(full["choices"][0]["message"]["content"])


def test_a_small_max_output_tokens_leaves_the_response_incomplete() -> None:
    status, reply = answer(
        "/v1/responses", body_for("/v1/responses", max_output_tokens=16), attempt=1
    )
    assert status == 200
    validate("Response", reply)
    assert reply["status"] == "incomplete"
    assert reply["incomplete_details"] == {"reason": "max_output_tokens"}
    assert reply["usage"]["output_tokens"] == 16
    status, refused = answer(
        "/v1/responses", body_for("/v1/responses", max_output_tokens=5), attempt=1
    )
    assert status == 400
    assert refused["error"]["param"] == "max_output_tokens"


def test_legacy_completions_stop_after_16_tokens_by_default() -> None:
    body = body_for("/v1/completions")
    del body["max_tokens"]
    _, reply = answer("/v1/completions", body, attempt=1)
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 16


@pytest.mark.parametrize("endpoint", list(RESPONSE_SCHEMAS))
def test_the_error_marker_fails_every_time_and_the_flaky_marker_only_first(endpoint: str) -> None:
    for attempt in (1, 2, 5):
        status, reply = answer(
            endpoint, body_for(endpoint, "x [[sandbox:error]] y"), attempt=attempt
        )
        assert status == 400
        validate("ErrorResponse", reply)
        assert "[[sandbox:error]]" in reply["error"]["message"]
    status, reply = answer(endpoint, body_for(endpoint, "x [[sandbox:flaky]] y"), attempt=1)
    assert status == 500
    validate("ErrorResponse", reply)
    assert reply["error"]["type"] == "server_error"
    status, reply = answer(endpoint, body_for(endpoint, "x [[sandbox:flaky]] y"), attempt=2)
    assert status == 200
    validate(RESPONSE_SCHEMAS[endpoint], reply)


def test_markers_in_a_system_message_do_not_count() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "never [[sandbox:error]]"},
            {"role": "user", "content": "hello"},
        ],
    }
    assert answer("/v1/chat/completions", body, attempt=1)[0] == 200


@pytest.mark.parametrize(
    ("endpoint", "body", "param"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ("/v1/chat/completions", {"model": "gpt-4o-mini"}, "messages"),
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": []}, "messages"),
        (
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "x"}],
                "temperature": 7,
            },
            "temperature",
        ),
        ("/v1/responses", {"model": "gpt-4.1-mini"}, "input"),
        ("/v1/embeddings", {"model": "text-embedding-3-small"}, "input"),
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ""}, "input"),
        (
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": "x", "dimensions": 5000},
            "dimensions",
        ),
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct"}, "prompt"),
        ("/v1/completions", {"model": 12, "prompt": "x"}, "model"),
    ],
)
def test_missing_or_invalid_fields_get_openais_400(
    endpoint: str, body: dict[str, Any], param: str
) -> None:
    status, reply = answer(endpoint, body, attempt=1)
    assert status == 400
    validate("ErrorResponse", reply)
    assert reply["error"]["type"] == "invalid_request_error"
    assert reply["error"]["param"] == param
    if param in ("model", "messages", "input", "prompt"):
        assert input_tokens(endpoint, body) == 0


def test_an_unknown_endpoint_is_a_404() -> None:
    status, reply = answer("/v1/images/edits", {"model": "x", "input": "y"}, attempt=1)
    assert status == 404
    validate("ErrorResponse", reply)


@pytest.mark.parametrize(
    ("model", "size"), [("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072)]
)
def test_embeddings_are_unit_vectors_of_the_models_size(model: str, size: int) -> None:
    status, reply = answer(
        "/v1/embeddings", {"model": model, "input": ["one", "two", "one"]}, attempt=1
    )
    assert status == 200
    vectors = [np.asarray(item["embedding"]) for item in reply["data"]]
    assert [item["index"] for item in reply["data"]] == [0, 1, 2]
    assert all(v.shape == (size,) for v in vectors)
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors)
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])
    assert reply["usage"]["prompt_tokens"] == 3


def test_embeddings_honour_dimensions_and_base64() -> None:
    body = {"model": "text-embedding-3-large", "input": "hello world", "dimensions": 256}
    _, floats = answer("/v1/embeddings", body, attempt=1)
    vector = np.asarray(floats["data"][0]["embedding"])
    assert vector.shape == (256,)
    _, packed = answer("/v1/embeddings", {**body, "encoding_format": "base64"}, attempt=1)
    decoded = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, vector, atol=1e-7)
    # Token-id input embeds the same text the same way.
    tokens = encoding_for_model("text-embedding-3-large").encode("hello world")
    _, by_tokens = answer("/v1/embeddings", {**body, "input": tokens}, attempt=1)
    assert by_tokens["data"][0]["embedding"] == floats["data"][0]["embedding"]


def test_n_choices_and_several_completion_prompts() -> None:
    _, chat = answer("/v1/chat/completions", body_for("/v1/chat/completions", n=3), attempt=1)
    validate("CreateChatCompletionResponse", chat)
    texts = [c["message"]["content"] for c in chat["choices"]]
    assert [c["index"] for c in chat["choices"]] == [0, 1, 2]
    assert len(set(texts)) == 3
    _, legacy = answer(
        "/v1/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": ["a", "b"], "max_tokens": 50},
        attempt=1,
    )
    validate("CreateCompletionResponse", legacy)
    assert ['"a"' in c["text"] for c in legacy["choices"]] == [True, False]


def sync_client(app: Starlette, test_client: TestClient, max_retries: int) -> OpenAI:
    return OpenAI(
        api_key="sk-test",
        base_url="http://testserver/v1",
        http_client=test_client,
        max_retries=max_retries,
    )


def test_sync_routes_count_attempts_per_body_and_per_app() -> None:
    flaky = body_for("/v1/chat/completions", "try [[sandbox:flaky]]")
    first_app, second_app = Starlette(routes=sync_routes), Starlette(routes=sync_routes)
    with TestClient(first_app) as first, TestClient(second_app) as second:
        assert first.post("/v1/chat/completions", json=flaky).status_code == 500
        assert first.post("/v1/chat/completions", json=flaky).status_code == 200
        assert second.post("/v1/chat/completions", json=flaky).status_code == 500
        other = {**flaky, "temperature": 0.5}
        assert first.post("/v1/chat/completions", json=other).status_code == 500


def test_sync_routes_through_the_sdk_retry_a_flaky_request_to_success() -> None:
    app = Starlette(routes=sync_routes)
    with TestClient(app) as test_client:
        client = sync_client(app, test_client, max_retries=1)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi [[sandbox:flaky]]"}]
        )
        assert reply.choices[0].message.content is not None
        assert reply.choices[0].message.content.startswith("[sandbox]")
        assert list(app.state.sync_attempts.values()) == [2]
        embedded = client.embeddings.create(
            model="text-embedding-3-small", input="hi", dimensions=64
        )
        assert len(embedded.data[0].embedding) == 64


def test_sync_routes_refuse_a_body_that_is_not_json() -> None:
    with TestClient(Starlette(routes=sync_routes)) as test_client:
        reply = test_client.post("/v1/responses", content=b"{not json")
        assert reply.status_code == 400
        validate("ErrorResponse", reply.json())
        assert test_client.get("/v1/responses").status_code == 405
