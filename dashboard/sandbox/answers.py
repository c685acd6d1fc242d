"""What the sandbox answers on the model endpoints, synchronously or inside a batch.

Answers are deterministic (the same body always gets the same answer), say plainly that they
come from the sandbox, and count usage with the real tokenizer. They follow the shapes of the
newest OpenAPI spec: `chat.completion`, `response`, a list of `embedding`s, `text_completion`,
and (sandbox.moderation, sandbox.images) moderation results and generated images. A forced
`tool_choice` gets a call whose arguments fit the function's schema (sandbox.tool_calls); asked
for, log probabilities come with the text (sandbox.logprobs).

Two markers in a user's text make a request misbehave on purpose: `[[sandbox:error]]` gets a
400 error every time, `[[sandbox:flaky]]` a 500 error on its first attempt and an answer after.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sandbox.api_errors import ApiErrorResponse
from sandbox.images import generate
from sandbox.logprobs import (
    MAX_TOP_LOGPROBS,
    chat_top_logprobs,
    completion_logprobs,
    completion_top_logprobs,
    token_logprobs,
)
from sandbox.moderation import moderate
from sandbox.prompts import (
    Prompt,
    as_list,
    chat_prompt,
    check_markers,
    check_sampling,
    completion_prompts,
    embedding_inputs,
    invalid,
    missing,
    model_of,
    refused,
    responses_prompt,
    token_limit,
)
from sandbox.schema_instance import instance_for
from sandbox.tokens import (
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REPLY,
    Encoding,
    count_format,
    count_text,
    encoding_for_model,
)
from sandbox.tool_calls import ForcedCall, forced_call

# Vector sizes of OpenAI's embedding models; any other model gets the first.
DEFAULT_EMBEDDING_DIMENSIONS = 1536
EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
# The legacy completions endpoint stops after 16 tokens unless max_tokens says otherwise.
DEFAULT_COMPLETION_MAX_TOKENS = 16
# The Responses API refuses a smaller max_output_tokens.
MIN_RESPONSE_OUTPUT_TOKENS = 16


Reply = tuple[int, dict[str, Any]]


def answer(
    endpoint: str, body: Mapping[str, Any], *, attempt: int, created: int | None = None
) -> Reply:
    """The HTTP status and JSON body the synchronous `endpoint` returns for `body`.

    `attempt` is 1 the first time this request runs; `created` (unix seconds, default now) is
    the only part of the answer that is not derived from the body.
    """
    handler = _HANDLERS.get(endpoint)
    if handler is None:
        return 404, ApiErrorResponse(404, f"Invalid URL (POST {endpoint})").body()
    stamp = int(time.time()) if created is None else created
    try:
        if not isinstance(body, Mapping):
            raise refused("The request body must be a JSON object.")
        return handler(body, attempt, stamp)
    except ApiErrorResponse as refusal:
        return refusal.status_code, refusal.body()


def input_tokens(endpoint: str, body: Mapping[str, Any]) -> int:
    """Input tokens the request costs, counted as in `answer` (0 when the body is invalid)."""
    try:
        model = model_of(body)
        encoding = encoding_for_model(model)
        if endpoint in ("/v1/chat/completions", "/v1/responses"):
            prompt = (
                chat_prompt(body) if endpoint == "/v1/chat/completions" else responses_prompt(body)
            )
            return _count_messages(prompt, encoding) + _schema_tokens(endpoint, body, encoding)
        if endpoint == "/v1/embeddings":
            return sum(len(tokens) for tokens in embedding_inputs(body, encoding))
        if endpoint == "/v1/completions":
            return sum(count_text(text, encoding) for text in completion_prompts(body))
    except ApiErrorResponse:
        return 0
    return 0


# --- writing answers -----------------------------------------------------------------------


def _count_messages(prompt: Prompt, encoding: Encoding) -> int:
    """Prompt tokens of a conversation, with the chat overhead the core's estimate uses."""
    per_message = (
        TOKENS_PER_MESSAGE + count_text(role, encoding) + count_text(text, encoding)
        for role, text in prompt.messages
    )
    return sum(per_message) + TOKENS_PER_REPLY


def _schema_tokens(endpoint: str, body: Mapping[str, Any], encoding: Encoding) -> int:
    """Input tokens of a JSON schema the answer must fit: OpenAI bills it with the prompt."""
    if endpoint == "/v1/chat/completions":
        fmt = body.get("response_format")
    else:
        options = body.get("text")
        fmt = options.get("format") if isinstance(options, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
        return 0
    return count_format(fmt, encoding)


def _answer_text(prompt: Prompt, choice: int = 0) -> str:
    """The sandbox's reply: a label, a digest of the prompt and its first words."""
    last = next((text for role, text in reversed(prompt.messages) if role == "user"), "")
    words = last.split()
    excerpt = " ".join(words[:8]) + (" …" if len(words) > 8 else "")
    suffix = f" (choice {choice + 1})" if choice else ""
    return (
        f'[sandbox] Reply {prompt.digest[:8]} to "{excerpt}"{suffix}: '
        "this text comes from the local Batchdash sandbox, not from a model."
    )


def _structured(text: str, fmt: Mapping[str, Any] | None, prompt: Prompt, param: str) -> str:
    """The answer in the requested format (`param` names it): text, JSON, or JSON for a schema."""
    kind = fmt.get("type", "text") if fmt else "text"
    if kind == "text":
        return text
    if kind == "json_object":
        return json.dumps({"answer": text}, ensure_ascii=False)
    if kind != "json_schema" or fmt is None:
        raise invalid(f"{param}.type", "one of text, json_object, json_schema")
    schema = fmt.get("schema")
    if not isinstance(schema, Mapping):
        raise missing(f"{param}.schema")
    try:
        value = instance_for(schema, prompt.digest)
    except (ValueError, KeyError, TypeError) as problem:
        raise refused(f"Invalid schema for {param}: {problem}", param=param) from None
    return json.dumps(value, ensure_ascii=False)


def _cut(text: str, limit: int | None, encoding: Encoding) -> tuple[str, int, bool]:
    """`text` within `limit` tokens: (text, tokens, whether it was cut)."""
    tokens = encoding.encode_ordinary(text)
    if limit is None or len(tokens) <= limit:
        return text, len(tokens), False
    return encoding.decode(tokens[:limit]), limit, True


def _object_id(prefix: str, endpoint: str, body: Mapping[str, Any]) -> str:
    data = json.dumps([endpoint, body], sort_keys=True, ensure_ascii=False, default=str)
    return prefix + hashlib.sha256(data.encode()).hexdigest()[:24]


def _chat(body: Mapping[str, Any], attempt: int, created: int) -> Reply:
    model = model_of(body)
    prompt = chat_prompt(body)
    check_sampling(body)
    limit = token_limit(body, ("max_completion_tokens", "max_tokens"), 1)
    choices_wanted = token_limit(body, ("n",), 1) or 1
    fmt = _chat_format(body, prompt)
    top = chat_top_logprobs(body)
    forced = forced_call(body, prompt.digest, nested=True)
    check_markers(prompt.user_texts, attempt)
    encoding = encoding_for_model(model)
    choices, completion_tokens = [], 0
    for index in range(choices_wanted):
        if forced is not None:
            completion_tokens += count_text(forced.arguments, encoding)
            choices.append(_tool_call_choice(forced, index, prompt.digest))
            continue
        content = _structured(_answer_text(prompt, index), fmt, prompt, "response_format")
        content, used, cut = _cut(content, limit, encoding)
        completion_tokens += used
        choices.append(
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None
                if top is None
                else {"content": token_logprobs(content, encoding, top), "refusal": None},
                "finish_reason": "length" if cut else "stop",
            }
        )
    prompt_tokens = _count_messages(prompt, encoding) + _schema_tokens(
        "/v1/chat/completions", body, encoding
    )
    return 200, {
        "id": _object_id("chatcmpl-sandbox", "/v1/chat/completions", body),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": _completion_usage(prompt_tokens, completion_tokens),
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }


def _tool_call_choice(forced: ForcedCall, index: int, seed: str) -> dict[str, Any]:
    """A chat choice that calls the forced function (OpenAI says `stop` for a named one)."""
    call = {
        "id": forced.call_id(f"{seed}\0{index}"),
        "type": "function",
        "function": {"name": forced.name, "arguments": forced.arguments},
    }
    return {
        "index": index,
        "message": {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "annotations": [],
            "tool_calls": [call],
        },
        "logprobs": None,
        "finish_reason": "stop" if forced.named else "tool_calls",
    }


def _chat_format(body: Mapping[str, Any], prompt: Prompt) -> dict[str, Any] | None:
    """`response_format` flattened to {type, schema?}; json_object needs "json" in the prompt."""
    given = body.get("response_format")
    if given is None:
        return None
    if not isinstance(given, Mapping) or "type" not in given:
        raise invalid("response_format", "an object with a type")
    if given["type"] == "json_object" and not any(
        "json" in text.lower() for _, text in prompt.messages
    ):
        raise refused(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of "
            "type 'json_object'.",
            param="messages",
        )
    if given["type"] == "json_schema":
        inner = given.get("json_schema")
        if not isinstance(inner, Mapping):
            raise missing("response_format.json_schema")
        if not inner.get("name"):
            raise missing("response_format.json_schema.name")
        return {"type": "json_schema", "schema": inner.get("schema")}
    return {"type": given["type"]}


def _completion_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _responses(body: Mapping[str, Any], attempt: int, created: int) -> Reply:
    model = model_of(body)
    prompt = responses_prompt(body)
    check_sampling(body)
    limit = token_limit(body, ("max_output_tokens",), MIN_RESPONSE_OUTPUT_TOKENS)
    text_options = body.get("text")
    fmt = text_options.get("format") if isinstance(text_options, Mapping) else None
    if fmt is not None and (not isinstance(fmt, Mapping) or "type" not in fmt):
        raise invalid("text.format", "an object with a type")
    if fmt is not None and fmt["type"] == "json_schema" and not fmt.get("name"):
        raise missing("text.format.name")
    forced = forced_call(body, prompt.digest, nested=False)
    check_markers(prompt.user_texts, attempt)
    encoding = encoding_for_model(model)
    structured = _structured(_answer_text(prompt), fmt, prompt, "text.format")
    content, output_tokens, cut = _cut(structured, limit, encoding)
    if forced is not None:
        output_tokens, cut = count_text(forced.arguments, encoding), False
    status = "incomplete" if cut else "completed"
    input_count = _count_messages(prompt, encoding) + _schema_tokens(
        "/v1/responses", body, encoding
    )
    response_id = _object_id("resp_sandbox", "/v1/responses", body)
    return 200, {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "completed_at": None if cut else created,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": limit,
        "model": model,
        "output": [
            _response_item(forced, response_id, status, content, _response_logprobs(body, content))
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": bool(body.get("store", True)),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": dict(fmt) if fmt else {"type": "text"}},
        # The request's own tools and choice, echoed as OpenAI does.
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": list(body.get("tools") or []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_count,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_count + output_tokens,
        },
        "metadata": dict(body.get("metadata") or {}),
    }


def _response_logprobs(body: Mapping[str, Any], content: str) -> list[dict[str, Any]]:
    """Token log probabilities when `include` asks for them (`top_logprobs` alternatives)."""
    include = body.get("include")
    if not isinstance(include, list) or "message.output_text.logprobs" not in include:
        return []
    top = body.get("top_logprobs") or 0
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise invalid("top_logprobs", f"an integer from 0 to {MAX_TOP_LOGPROBS}")
    return token_logprobs(content, encoding_for_model(model_of(body)), top)


def _response_item(
    forced: ForcedCall | None,
    response_id: str,
    status: str,
    content: str,
    logprobs: list[dict[str, Any]],
) -> dict[str, Any]:
    """The one output item of a response: the forced function call, or the text message."""
    suffix = response_id.removeprefix("resp_")
    if forced is not None:
        return {
            "type": "function_call",
            "id": "fc_" + suffix,
            "call_id": forced.call_id(suffix),
            "name": forced.name,
            "arguments": forced.arguments,
            "status": "completed",
        }
    return {
        "type": "message",
        "id": "msg_" + suffix,
        "status": status,
        "role": "assistant",
        "content": [
            {"type": "output_text", "text": content, "annotations": [], "logprobs": logprobs}
        ],
    }


def embedding_vector(model: str, tokens: list[int], dimensions: int) -> np.ndarray:
    """A unit vector of `dimensions` float32 values, seeded by the model and the input tokens."""
    seed = hashlib.sha256(json.dumps([model, tokens]).encode()).digest()
    generator = np.random.default_rng(int.from_bytes(seed[:8], "big"))
    vector = generator.standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _embeddings(body: Mapping[str, Any], attempt: int, created: int) -> Reply:
    model = model_of(body)
    encoding = encoding_for_model(model)
    inputs = embedding_inputs(body, encoding)
    dimensions = _embedding_dimensions(body, model)
    encoding_format = body.get("encoding_format", "float")
    if encoding_format not in ("float", "base64"):
        raise invalid("encoding_format", "'float' or 'base64'")
    texts = tuple(
        item if isinstance(item, str) else encoding.decode(tokens)
        for item, tokens in zip(as_list(body["input"]), inputs, strict=False)
    )
    check_markers(texts, attempt)
    data = []
    for index, tokens in enumerate(inputs):
        vector = embedding_vector(model, tokens, dimensions)
        values: Any = (
            base64.b64encode(vector.astype("<f4").tobytes()).decode()
            if encoding_format == "base64"
            else [round(float(v), 8) for v in vector]
        )
        data.append({"object": "embedding", "index": index, "embedding": values})
    used = sum(len(tokens) for tokens in inputs)
    return 200, {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }


def _embedding_dimensions(body: Mapping[str, Any], model: str) -> int:
    native = EMBEDDING_DIMENSIONS.get(model, DEFAULT_EMBEDDING_DIMENSIONS)
    wanted = body.get("dimensions")
    if wanted is None:
        return native
    if model == "text-embedding-ada-002":
        raise refused("This model does not support specifying dimensions.", param="dimensions")
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 1 <= wanted <= native:
        raise invalid("dimensions", f"an integer from 1 to {native}")
    return wanted


def _completions(body: Mapping[str, Any], attempt: int, created: int) -> Reply:
    model = model_of(body)
    prompts = completion_prompts(body)
    check_sampling(body)
    limit = token_limit(body, ("max_tokens",), 0)
    limit = DEFAULT_COMPLETION_MAX_TOKENS if limit is None else limit
    choices_wanted = token_limit(body, ("n",), 1) or 1
    top = completion_top_logprobs(body)
    check_markers(tuple(prompts), attempt)
    encoding = encoding_for_model(model)
    choices, completion_tokens, prompt_tokens = [], 0, 0
    for prompt_index, text in enumerate(prompts):
        prompt = Prompt((("user", text),), (text,))
        prompt_tokens += count_text(text, encoding)
        for choice in range(choices_wanted):
            content, used, cut = _cut(_answer_text(prompt, choice), limit, encoding)
            completion_tokens += used
            choices.append(
                {
                    "text": content,
                    "index": prompt_index * choices_wanted + choice,
                    "logprobs": None
                    if top is None
                    else completion_logprobs(content, encoding, top),
                    "finish_reason": "length" if cut else "stop",
                }
            )
    usage = _completion_usage(prompt_tokens, completion_tokens)
    return 200, {
        "id": _object_id("cmpl-sandbox", "/v1/completions", body),
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage,
        "system_fingerprint": "fp_sandbox",
    }


_HANDLERS: dict[str, Callable[[Mapping[str, Any], int, int], Reply]] = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/embeddings": _embeddings,
    "/v1/completions": _completions,
    "/v1/moderations": moderate,
    "/v1/images/generations": generate,
}
#: The endpoints the sandbox answers, in batches and synchronously.
ANSWERED_ENDPOINTS = tuple(_HANDLERS)
