"""Answers real clients ask for beyond plain text: moderations, images, forced tool calls,
streamed events and log probabilities, through the openai SDK."""

from __future__ import annotations

import base64
import json
from typing import Any

import jsonschema
import pytest
from openai import OpenAI

from sandbox.answers import answer
from sandbox.moderation import CATEGORIES
from tests.openapi_schemas import validate
from tests.sandbox.kit import jsonl, result_lines, start_batch, wait_for

CHAT_MODEL = "gpt-4o-mini"
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def raw(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.http_response.content))


# --- moderations -----------------------------------------------------------------------------


def test_moderations_answer_synchronously_in_the_spec_shape(client: OpenAI) -> None:
    reply = client.moderations.with_raw_response.create(
        model="omni-moderation-latest", input=["I will kill the lights", "Lovely room, kind staff"]
    )
    body = raw(reply)
    validate("CreateModerationResponse", body)
    first, second = body["results"]
    assert first["flagged"] is True and first["categories"]["violence"] is True
    assert first["category_scores"]["violence"] >= 0.5
    assert second["flagged"] is False
    assert set(second["category_scores"]) == set(CATEGORIES)
    assert all(score < 0.05 for score in second["category_scores"].values())
    # Deterministic: the same text scores the same.
    again = raw(client.moderations.with_raw_response.create(input="Lovely room, kind staff"))
    assert again["results"][0]["category_scores"] == second["category_scores"]


def test_moderation_lines_run_in_a_batch(client: OpenAI) -> None:
    lines = [
        {
            "custom_id": f"row-{n}",
            "method": "POST",
            "url": "/v1/moderations",
            "body": {"model": "omni-moderation-latest", "input": text},
        }
        for n, text in enumerate(["You idiot", "Nice hotel", "[[sandbox:error]]"], start=1)
    ]
    batch = wait_for(client, start_batch(client, jsonl(lines), endpoint="/v1/moderations").id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 1)
    answers = {line["custom_id"]: line for line in result_lines(client, batch.output_file_id)}
    for line in answers.values():
        validate("CreateModerationResponse", line["response"]["body"])
    assert answers["row-1"]["response"]["body"]["results"][0]["categories"]["harassment"]
    assert not answers["row-2"]["response"]["body"]["results"][0]["flagged"]


# --- images ----------------------------------------------------------------------------------


def test_images_answer_synchronously_with_a_png(client: OpenAI) -> None:
    reply = client.images.with_raw_response.generate(model="gpt-image-1", prompt="A red door", n=2)
    body = raw(reply)
    validate("ImagesResponse", body)
    pictures = [base64.b64decode(item["b64_json"]) for item in body["data"]]
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pictures)
    assert pictures[0] != pictures[1]
    assert body["usage"]["input_tokens"] > 0
    dalle = raw(client.images.with_raw_response.generate(model="dall-e-3", prompt="A red door"))
    validate("ImagesResponse", dalle)
    assert dalle["data"][0]["url"].startswith("data:image/png;base64,")


def test_image_lines_run_in_a_batch(client: OpenAI) -> None:
    line = {
        "custom_id": "row-1",
        "method": "POST",
        "url": "/v1/images/generations",
        "body": {"model": "gpt-image-1", "prompt": "A lighthouse"},
    }
    endpoint = "/v1/images/generations"
    batch = wait_for(client, start_batch(client, jsonl([line]), endpoint=endpoint).id)
    assert batch.status == "completed"
    (only,) = result_lines(client, batch.output_file_id)
    validate("ImagesResponse", only["response"]["body"])
    assert batch.usage is not None and batch.usage.output_tokens > 0


# --- forced tool calls -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "finish"),
    [
        ({"type": "function", "function": {"name": "get_weather"}}, "stop"),
        ("required", "tool_calls"),
    ],
)
def test_a_forced_tool_choice_gets_arguments_that_fit_the_schema(
    client: OpenAI, choice: Any, finish: str
) -> None:
    reply = client.chat.completions.with_raw_response.create(
        model=CHAT_MODEL,
        messages=messages("Weather in Oslo?"),
        tools=CHAT_TOOLS,
        tool_choice=choice,
    )
    body = raw(reply)
    validate("CreateChatCompletionResponse", body)
    choice_body = body["choices"][0]
    assert choice_body["finish_reason"] == finish
    assert choice_body["message"]["content"] is None
    (call,) = choice_body["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER)
    assert body["usage"]["completion_tokens"] > 0


def test_auto_tool_choice_answers_in_text(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model=CHAT_MODEL, messages=messages("Hi"), tools=CHAT_TOOLS, tool_choice="auto"
    )
    assert reply.choices[0].message.tool_calls is None
    assert reply.choices[0].message.content


def test_a_forced_function_in_the_responses_api(client: OpenAI) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}
    reply = client.responses.with_raw_response.create(
        model="gpt-4.1-mini",
        input="Weather in Oslo?",
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "get_weather"},
    )
    body = raw(reply)
    validate("Response", body)
    (item,) = body["output"]
    assert (item["type"], item["name"]) == ("function_call", "get_weather")
    jsonschema.validate(json.loads(item["arguments"]), WEATHER)


def test_a_tool_choice_naming_an_unknown_function_is_refused() -> None:
    body = {
        "model": CHAT_MODEL,
        "messages": messages("Hi"),
        "tools": CHAT_TOOLS,
        "tool_choice": {"type": "function", "function": {"name": "nope"}},
    }
    status, reply = answer("/v1/chat/completions", body, attempt=1)
    assert status == 400
    assert reply["error"]["param"] == "tool_choice"


# --- streaming -------------------------------------------------------------------------------


def test_chat_streams_the_same_answer(client: OpenAI) -> None:
    whole = client.chat.completions.create(model=CHAT_MODEL, messages=messages("Stream café ☕"))
    chunks = list(
        client.chat.completions.create(
            model=CHAT_MODEL,
            messages=messages("Stream café ☕"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len(chunks) > 3
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens  # type: ignore[union-attr]


def test_a_streamed_tool_call_assembles_into_valid_arguments(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages("Weather?"),
        tools=CHAT_TOOLS,
        tool_choice="required",
        stream=True,
    )
    arguments = "".join(
        call.function.arguments or ""
        for chunk in stream
        for call in (chunk.choices[0].delta.tool_calls or [])
        if call.function is not None
    )
    jsonschema.validate(json.loads(arguments), WEATHER)


def test_completions_stream(client: OpenAI) -> None:
    whole = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=40
    )
    streamed = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=40, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed) == whole.choices[0].text


def test_responses_stream_typed_events(client: OpenAI) -> None:
    whole = client.responses.create(model="gpt-4.1-mini", input="Stream this")
    events = list(client.responses.create(model="gpt-4.1-mini", input="Stream this", stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_a_refused_stream_answers_with_a_json_error(client: OpenAI) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=CHAT_MODEL, messages=messages("[[sandbox:error]]"), stream=True
        )
    assert refused.value.code == "sandbox_error"


# --- log probabilities -----------------------------------------------------------------------


def test_chat_logprobs_cover_the_answer(client: OpenAI) -> None:
    reply = client.chat.completions.with_raw_response.create(
        model=CHAT_MODEL, messages=messages("Hello"), logprobs=True, top_logprobs=3
    )
    body = raw(reply)
    validate("CreateChatCompletionResponse", body)
    choice = body["choices"][0]
    entries = choice["logprobs"]["content"]
    joined = b"".join(bytes(entry["bytes"]) for entry in entries).decode()
    assert joined == choice["message"]["content"]
    for entry in entries:
        assert entry["logprob"] <= 0
        assert len(entry["top_logprobs"]) == 3
        assert entry["top_logprobs"][0]["token"] == entry["token"]
        listed = [alt["logprob"] for alt in entry["top_logprobs"]]
        assert listed == sorted(listed, reverse=True)
    plain = client.chat.completions.create(model=CHAT_MODEL, messages=messages("Hello"))
    assert plain.choices[0].logprobs is None


def test_top_logprobs_without_logprobs_is_refused() -> None:
    body = {"model": CHAT_MODEL, "messages": messages("Hi"), "top_logprobs": 2}
    status, reply = answer("/v1/chat/completions", body, attempt=1)
    assert (status, reply["error"]["param"]) == (400, "top_logprobs")


def test_completion_and_responses_logprobs(client: OpenAI) -> None:
    completion = raw(
        client.completions.with_raw_response.create(
            model="gpt-3.5-turbo-instruct", prompt="Hi", max_tokens=30, logprobs=2
        )
    )
    validate("CreateCompletionResponse", completion)
    logprobs = completion["choices"][0]["logprobs"]
    assert "".join(logprobs["tokens"]) == completion["choices"][0]["text"]
    assert all(len(alternatives) == 2 for alternatives in logprobs["top_logprobs"])
    response = raw(
        client.responses.with_raw_response.create(
            model="gpt-4.1-mini",
            input="Hi",
            include=["message.output_text.logprobs"],
            top_logprobs=2,
        )
    )
    validate("Response", response)
    part = response["output"][0]["content"][0]
    assert b"".join(bytes(e["bytes"]) for e in part["logprobs"]).decode() == part["text"]
