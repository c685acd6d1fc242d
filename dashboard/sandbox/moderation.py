"""The sandbox's `/v1/moderations`: deterministic scores in the shape of the newest spec.

No model judges anything here. Each category scores low (below 0.05, derived from the text), and
high (0.9) when the text holds one of the category's plain trigger words below, so an analyst can
rehearse a moderation job with rows that are and are not flagged. A category is flagged at 0.5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sandbox.prompts import check_markers, invalid, missing, refused

#: OpenAI's moderation categories (spec `CreateModerationResponse`), in its order. The client's
#: recipe lists them too; the sandbox keeps its own copy, as it imports none of the client.
CATEGORIES = (
    "hate",
    "hate/threatening",
    "harassment",
    "harassment/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Words that make the sandbox score a category high; lower-case, matched at the start of a word
# (so "idiots" and "hateful" count too).
TRIGGERS: dict[str, tuple[str, ...]] = {
    "hate": ("hate",),
    "harassment": ("idiot", "stupid", "loser"),
    "harassment/threatening": ("threaten", "threat"),
    "illicit": ("shoplift", "steal", "smuggle"),
    "illicit/violent": ("weapon", "gun"),
    "self-harm": ("self-harm",),
    "violence": ("kill", "attack", "hurt"),
    "violence/graphic": ("gore", "blood"),
}
FLAG_THRESHOLD = 0.5
DEFAULT_MODEL = "omni-moderation-latest"
_HIGH = 0.9


def _words(text: str) -> set[str]:
    cleaned = "".join(c if c.isalnum() or c == "-" else " " for c in text.lower())
    return set(cleaned.split())


def category_scores(text: str) -> dict[str, float]:
    """The score of every category for one text (deterministic)."""
    words = _words(text)
    scores = {}
    for category in CATEGORIES:
        digest = hashlib.sha256(f"{category}\0{text}".encode()).digest()
        low = round(int.from_bytes(digest[:4], "big") / 2**32 * 0.05, 6)
        hit = any(w.startswith(TRIGGERS.get(category, ())) for w in words)
        scores[category] = _HIGH if hit else low
    return scores


def _texts(body: Mapping[str, Any]) -> list[str]:
    if "input" not in body:
        raise missing("input")
    given = body["input"]
    if isinstance(given, str):
        return [given]
    if not isinstance(given, list) or not given:
        raise invalid("input", "a string or a non-empty array")
    texts = []
    for index, item in enumerate(given):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, Mapping) and item.get("type") == "text":
            texts.append(str(item.get("text", "")))
        elif isinstance(item, Mapping) and item.get("type") == "image_url":
            # An image gets scored by its URL text: the sandbox sees no pictures.
            url = item.get("image_url")
            texts.append(str(url.get("url", "")) if isinstance(url, Mapping) else "")
        else:
            raise invalid(f"input[{index}]", "a string or an input object of type text")
    return texts


def moderate(body: Mapping[str, Any], attempt: int, created: int) -> tuple[int, dict[str, Any]]:
    """The answer of `/v1/moderations` for `body`."""
    model = body.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model:
        raise refused("Invalid type for 'model': expected a string.", param="model")
    texts = _texts(body)
    check_markers(tuple(texts), attempt)
    results = []
    for text in texts:
        scores = category_scores(text)
        flags = {name: score >= FLAG_THRESHOLD for name, score in scores.items()}
        results.append(
            {
                "flagged": any(flags.values()),
                "categories": flags,
                "category_scores": scores,
                "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
            }
        )
    digest = hashlib.sha256(repr((model, texts)).encode()).hexdigest()[:24]
    return 200, {"id": f"modr-sandbox{digest}", "model": model, "results": results}
