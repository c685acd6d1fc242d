"""Which of the models a key lists suit an endpoint, judged by their names.

A provider's model list (GET /v1/models) mixes every kind it serves: OpenAI's holds image,
speech, transcription and realtime models beside the chat ones, and a model of the wrong kind
fails every row of a batch. The names are all there is to go by; what none of the rules below
recognises is taken for a text model, so a provider's new names are offered, not hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMBEDDING = re.compile(r"embed|(^|/)bge-", re.IGNORECASE)
_MODERATION = re.compile(r"moderation", re.IGNORECASE)
#: Models that answer with images, speech or video, or only live sessions: never text.
_NOT_TEXT = re.compile(
    r"dall-e|gpt-image|(^|[-/])image|tts|whisper|transcribe|realtime|(^|[-/])audio|sora",
    re.IGNORECASE,
)
#: OpenAI's completion-only models (legacy Completions, no chat).
_COMPLETION_ONLY = re.compile(r"^(gpt-3\.5-turbo-instruct|davinci-002|babbage-002)", re.IGNORECASE)
#: OpenAI's chat families, which the legacy Completions endpoint does not take.
_OPENAI_CHAT = re.compile(r"^(gpt-|chatgpt-|o\d)", re.IGNORECASE)


def suits(model: str, endpoint: str) -> bool:
    """Whether `model` (a listed name) answers requests on `endpoint`."""
    if _EMBEDDING.search(model):
        return endpoint == "/v1/embeddings"
    if _MODERATION.search(model):
        return endpoint == "/v1/moderations"
    if _NOT_TEXT.search(model) or endpoint in ("/v1/embeddings", "/v1/moderations"):
        return False
    if _COMPLETION_ONLY.match(model):
        return endpoint == "/v1/completions"
    if endpoint == "/v1/completions":
        return not _OPENAI_CHAT.match(model)
    return True


def suited_models(models: Iterable[str], endpoint: str) -> list[str]:
    """The models of `models` that suit `endpoint`, in their order."""
    return [model for model in models if suits(model, endpoint)]
