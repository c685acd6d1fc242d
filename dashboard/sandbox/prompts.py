"""What a request to the sandbox asks: its model, its prompt as the model would read it, its
limits and inputs, each read the way OpenAI reads it (and refused in OpenAI's words)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.api_errors import ApiErrorResponse
from sandbox.tokens import Encoding

# OpenAI's limits on one embeddings request.
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_INPUT_TOKENS = 8192

ERROR_MARKER = "[[sandbox:error]]"
FLAKY_MARKER = "[[sandbox:flaky]]"

_CHAT_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def refused(
    message: str,
    *,
    status: int = 400,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> ApiErrorResponse:
    """The error OpenAI answers when it cannot serve a request."""
    return ApiErrorResponse(status, message, type=kind, param=param, code=code)


@dataclass(frozen=True)
class Prompt:
    """The text of a request as the model would read it."""

    #: (role, text) of every message, instructions first.
    messages: tuple[tuple[str, str], ...]
    #: The texts a user wrote (where the sandbox markers are looked for).
    user_texts: tuple[str, ...]

    @property
    def digest(self) -> str:
        data = json.dumps(self.messages, ensure_ascii=False).encode()
        return hashlib.sha256(data).hexdigest()


def model_of(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise refused("You must provide a model parameter.", param="model")
    if not isinstance(model, str) or not model.strip():
        raise refused(
            "Invalid type for 'model': expected a non-empty string.",
            param="model",
            code="invalid_type",
        )
    return model


def missing(param: str) -> ApiErrorResponse:
    return refused(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid(param: str, expected: str) -> ApiErrorResponse:
    return refused(
        f"Invalid value for '{param}': expected {expected}.", param=param, code="invalid_value"
    )


def content_text(content: Any, param: str, text_types: tuple[str, ...]) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if not isinstance(content, list):
        raise invalid(param, "a string or an array of content parts")
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, Mapping) or "type" not in part:
            raise invalid(f"{param}[{index}]", "a content part object with a type")
        if part["type"] in text_types:
            texts.append(str(part.get("text", "")))
    return "\n".join(texts)


def chat_prompt(body: Mapping[str, Any]) -> Prompt:
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "a non-empty array of messages")
    read: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise invalid(param, "a message object")
        role = message.get("role")
        if role is None:
            raise missing(f"{param}.role")
        if role not in _CHAT_ROLES:
            raise invalid(f"{param}.role", "one of " + ", ".join(sorted(_CHAT_ROLES)))
        read.append(
            (str(role), content_text(message.get("content"), f"{param}.content", ("text",)))
        )
    return Prompt(tuple(read), tuple(text for role, text in read if role == "user"))


def responses_prompt(body: Mapping[str, Any]) -> Prompt:
    if "input" not in body:
        raise missing("input")
    read: list[tuple[str, str]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        read.append(("system", instructions))
    given = body["input"]
    if isinstance(given, str):
        read.append(("user", given))
    elif isinstance(given, list) and given:
        for index, item in enumerate(given):
            param = f"input[{index}]"
            if not isinstance(item, Mapping):
                raise invalid(param, "an input item object")
            if item.get("type", "message") != "message":
                continue
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise invalid(f"{param}.role", "one of user, assistant, system, developer")
            text_types = ("input_text", "output_text", "text")
            content = content_text(item.get("content"), f"{param}.content", text_types)
            read.append((str(role), content))
    else:
        raise invalid("input", "a string or a non-empty array of input items")
    return Prompt(tuple(read), tuple(text for role, text in read if role == "user"))


def embedding_inputs(body: Mapping[str, Any], encoding: Encoding) -> list[list[int]]:
    """The token ids of every input (a string, strings, token ids, or lists of token ids)."""
    if "input" not in body:
        raise missing("input")
    given = body["input"]
    if not isinstance(given, str | list) or not given:
        raise invalid("input", "a non-empty string or array")
    given = as_list(given)
    if len(given) > MAX_EMBEDDING_INPUTS:
        raise invalid("input", f"at most {MAX_EMBEDDING_INPUTS} inputs")
    inputs: list[list[int]] = []
    for index, item in enumerate(given):
        if isinstance(item, str) and item:
            tokens = encoding.encode_ordinary(item)
        elif isinstance(item, list) and item and all(isinstance(t, int) for t in item):
            tokens = list(item)
        else:
            raise invalid(f"input[{index}]", "a non-empty string or array of token ids")
        if len(tokens) > MAX_EMBEDDING_INPUT_TOKENS:
            raise refused(
                f"This model's maximum context length is {MAX_EMBEDDING_INPUT_TOKENS} tokens, "
                f"however you requested {len(tokens)} tokens in input[{index}]; shorten the input.",
                param="input",
                code="context_length_exceeded",
            )
        inputs.append(tokens)
    return inputs


def completion_prompts(body: Mapping[str, Any]) -> list[str]:
    if "prompt" not in body:
        raise missing("prompt")
    given = body["prompt"]
    prompts = [given] if isinstance(given, str) else given
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise invalid("prompt", "a string or an array of strings")
    return list(prompts)


def token_limit(body: Mapping[str, Any], names: tuple[str, ...], minimum: int) -> int | None:
    """The first output-token limit given under `names`, checked against `minimum`."""
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise refused(
                f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type"
            )
        if value < minimum:
            raise refused(
                f"Invalid '{name}': integer below minimum value. "
                f"Expected a value >= {minimum}, but got {value} instead.",
                param=name,
                code="integer_below_min_value",
            )
        return value
    return None


def check_sampling(body: Mapping[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise invalid("temperature", "a number from 0 to 2")


def as_list(given: Any) -> list[Any]:
    """The inputs of an embeddings request as a list, one entry per input."""
    if isinstance(given, str) or (isinstance(given, list) and given and isinstance(given[0], int)):
        return [given]
    return list(given)


def check_markers(prompt_texts: tuple[str, ...], attempt: int) -> None:
    """Refuse a request whose user text asks for a fault: every time, or on its first attempt."""
    if any(ERROR_MARKER in text for text in prompt_texts):
        raise refused(
            f"[sandbox] This request contains {ERROR_MARKER}, so the sandbox refuses it.",
            code="sandbox_error",
        )
    if attempt <= 1 and any(FLAKY_MARKER in text for text in prompt_texts):
        raise refused(
            "The server had an error while processing your request. Sorry about that! "
            f"([sandbox] {FLAKY_MARKER} fails on its first attempt.)",
            status=500,
            kind="server_error",
        )
