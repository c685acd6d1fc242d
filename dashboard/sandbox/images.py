"""The sandbox's `/v1/images/generations`: a small deterministic PNG per image.

The picture is an 8x8 square of one colour derived from the prompt, so the same prompt always
gets the same bytes and no two prompts look alike by chance. GPT image models answer with
`b64_json` (their only form); DALL-E models with a `data:` URL unless `response_format` says
`b64_json`, since the sandbox hosts no images to link to.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Mapping
from typing import Any

from sandbox.prompts import check_markers, invalid, missing
from sandbox.tokens import count_text, encoding_for_model

DEFAULT_MODEL = "gpt-image-1"
MAX_IMAGES = 10
# Output tokens billed per image: a stand-in figure; OpenAI's depends on size and quality.
OUTPUT_TOKENS_PER_IMAGE = 272
_SIDE = 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def square_png(seed: str) -> bytes:
    """An 8x8 RGB PNG of one colour taken from `seed`."""
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * _SIDE
    header = struct.pack(">IIBBBBB", _SIDE, _SIDE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * _SIDE))
        + _chunk(b"IEND", b"")
    )


def generate(body: Mapping[str, Any], attempt: int, created: int) -> tuple[int, dict[str, Any]]:
    """The answer of `/v1/images/generations` for `body`."""
    prompt = body.get("prompt")
    if prompt is None:
        raise missing("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise invalid("prompt", "a non-empty string")
    model = str(body.get("model") or DEFAULT_MODEL)
    count = body.get("n", 1)
    if count is None:
        count = 1
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_IMAGES:
        raise invalid("n", f"an integer from 1 to {MAX_IMAGES}")
    check_markers((prompt,), attempt)
    gpt_image = model.startswith("gpt-image")
    as_url = not gpt_image and body.get("response_format", "url") == "url"
    data = []
    for index in range(count):
        encoded = base64.b64encode(square_png(f"{model}\0{prompt}\0{index}")).decode()
        image: dict[str, Any] = (
            {"url": f"data:image/png;base64,{encoded}"} if as_url else {"b64_json": encoded}
        )
        if model.startswith("dall-e-3"):
            image["revised_prompt"] = f"[sandbox] {prompt}"
        data.append(image)
    answer: dict[str, Any] = {"created": created, "data": data}
    if gpt_image:
        text_tokens = count_text(prompt, encoding_for_model(model))
        output_tokens = OUTPUT_TOKENS_PER_IMAGE * count
        answer["usage"] = {
            "input_tokens": text_tokens,
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
        }
        answer["output_format"] = "png"
    return 200, answer
