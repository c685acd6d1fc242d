"""`stream: true`: a finished sandbox answer replayed as OpenAI's server-sent events.

The answer is computed whole (it is deterministic), then cut into pieces of whole characters,
one or more tokens each, and sent as the events the endpoint streams: `chat.completion.chunk`s
and `[DONE]` for chat, `text_completion` chunks and `[DONE]` for completions, and the typed
`response.*` events for the Responses API. Log probabilities, asked for, ride with their pieces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from sandbox.tokens import Encoding, encoding_for_model

#: The endpoints that stream.
STREAMED_ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/responses")
DONE = b"data: [DONE]\n\n"


def _sse(data: Mapping[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(data, ensure_ascii=False) + "\n\n").encode()


def pieces(text: str, encoding: Encoding) -> list[tuple[str, range]]:
    """`text` cut into pieces of whole characters, with the token positions each covers."""
    found: list[tuple[str, range]] = []
    pending, start = b"", 0
    for position, token in enumerate(encoding.encode_ordinary(text)):
        pending += encoding.decode_bytes([token])
        try:
            piece = pending.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a character split across tokens: wait for the rest of it
        found.append((piece, range(start, position + 1)))
        pending, start = b"", position + 1
    return found


def stream_events(
    endpoint: str, body: Mapping[str, Any], answer: dict[str, Any]
) -> Iterator[bytes]:
    """The server-sent events of `answer` (a finished 200 answer of `endpoint`)."""
    encoding = encoding_for_model(str(answer.get("model") or body.get("model") or ""))
    if endpoint == "/v1/chat/completions":
        yield from _chat_events(body, answer, encoding)
    elif endpoint == "/v1/completions":
        yield from _completion_events(body, answer, encoding)
    else:
        yield from _response_events(answer, encoding)


def _wants_usage(body: Mapping[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, Mapping) and bool(options.get("include_usage"))


def _chat_events(
    body: Mapping[str, Any], answer: dict[str, Any], encoding: Encoding
) -> Iterator[bytes]:
    usage_wanted = _wants_usage(body)
    head = {key: answer[key] for key in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    head["service_tier"] = answer.get("service_tier")

    def chunk(index: int, delta: dict[str, Any], finish: str | None, logprobs: Any = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        extra = {"usage": None} if usage_wanted else {}
        return _sse({**head, "choices": [choice], **extra})

    for choice in answer["choices"]:
        index, message = choice["index"], choice["message"]
        yield chunk(index, {"role": "assistant", "content": "", "refusal": None}, None)
        for number, call in enumerate(message.get("tool_calls") or []):
            function = call["function"]
            opening = {"index": number, "id": call["id"], "type": "function"}
            opening["function"] = {"name": function["name"], "arguments": ""}
            yield chunk(index, {"tool_calls": [opening]}, None)
            for piece, _ in pieces(function["arguments"], encoding):
                part = {"index": number, "function": {"arguments": piece}}
                yield chunk(index, {"tool_calls": [part]}, None)
        entries = (choice.get("logprobs") or {}).get("content")
        for piece, positions in pieces(message.get("content") or "", encoding):
            logprobs = None
            if entries is not None:
                logprobs = {"content": [entries[p] for p in positions], "refusal": None}
            yield chunk(index, {"content": piece}, None, logprobs)
        yield chunk(index, {}, choice["finish_reason"])
    if usage_wanted:
        yield _sse({**head, "choices": [], "usage": answer["usage"]})
    yield DONE


def _completion_events(
    body: Mapping[str, Any], answer: dict[str, Any], encoding: Encoding
) -> Iterator[bytes]:
    usage_wanted = _wants_usage(body)
    head = {key: answer[key] for key in ("id", "object", "created", "model", "system_fingerprint")}
    for choice in answer["choices"]:
        for piece, _ in pieces(choice["text"], encoding):
            part = {"text": piece, "index": choice["index"], "logprobs": None}
            yield _sse({**head, "choices": [{**part, "finish_reason": None}]})
        end = {"text": "", "index": choice["index"], "logprobs": choice["logprobs"]}
        yield _sse({**head, "choices": [{**end, "finish_reason": choice["finish_reason"]}]})
    if usage_wanted:
        yield _sse({**head, "choices": [], "usage": answer["usage"]})
    yield DONE


def _response_events(answer: dict[str, Any], encoding: Encoding) -> Iterator[bytes]:
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> bytes:
        return _sse({"type": kind, **fields, "sequence_number": next(sequence)}, kind)

    opening = {**answer, "status": "in_progress", "output": [], "usage": None}
    opening["completed_at"] = None
    yield event("response.created", response=opening)
    yield event("response.in_progress", response=opening)
    for output_index, item in enumerate(answer["output"]):
        where = {"item_id": item["id"], "output_index": output_index}
        if item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=output_index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            for piece, _ in pieces(item["arguments"], encoding):
                yield event("response.function_call_arguments.delta", **where, delta=piece)
            yield event(
                "response.function_call_arguments.done",
                **where,
                name=item["name"],
                arguments=item["arguments"],
            )
        else:
            yield event(
                "response.output_item.added",
                output_index=output_index,
                item={**item, "content": [], "status": "in_progress"},
            )
            for content_index, part in enumerate(item["content"]):
                at = {**where, "content_index": content_index}
                empty = {**part, "text": "", "logprobs": []}
                yield event("response.content_part.added", **at, part=empty)
                entries = part.get("logprobs") or []
                for piece, positions in pieces(part["text"], encoding):
                    chosen = [entries[p] for p in positions] if entries else []
                    yield event("response.output_text.delta", **at, delta=piece, logprobs=chosen)
                yield event("response.output_text.done", **at, text=part["text"], logprobs=entries)
                yield event("response.content_part.done", **at, part=part)
        yield event("response.output_item.done", output_index=output_index, item=item)
    yield event(f"response.{answer['status']}", response=answer)
