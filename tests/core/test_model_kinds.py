"""Which of the models a key lists suit an endpoint: the model picker offers only those."""

from __future__ import annotations

from batchdash.providers.model_kinds import suited_models

#: Part of what OpenAI's GET /v1/models lists for a key.
LISTED = (
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-5-nano",
    "o4-mini",
    "chatgpt-4o-latest",
    "gpt-4o-search-preview",
    "gpt-3.5-turbo-instruct",
    "davinci-002",
    "babbage-002",
    "text-embedding-3-small",
    "text-embedding-ada-002",
    "omni-moderation-latest",
    "text-moderation-latest",
    "dall-e-3",
    "gpt-image-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-realtime-preview",
    "sora-2",
    # Other providers' names.
    "Qwen/Qwen2.5-7B-Instruct",
    "deepseek-ai/DeepSeek-V3",
    "BAAI/bge-m3",
    "qwen-plus",
)


def test_chat_is_offered_chat_models_only() -> None:
    chat = suited_models(LISTED, "/v1/chat/completions")
    assert chat == [
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-5-nano",
        "o4-mini",
        "chatgpt-4o-latest",
        "gpt-4o-search-preview",
        # An instruction-tuned open model is a chat model, unlike OpenAI's -instruct ones.
        "Qwen/Qwen2.5-7B-Instruct",
        "deepseek-ai/DeepSeek-V3",
        "qwen-plus",
    ]
    assert suited_models(LISTED, "/v1/responses") == chat


def test_the_other_endpoints_get_their_own_kinds() -> None:
    assert suited_models(LISTED, "/v1/embeddings") == [
        "text-embedding-3-small",
        "text-embedding-ada-002",
        "BAAI/bge-m3",
    ]
    assert suited_models(LISTED, "/v1/completions") == [
        "gpt-3.5-turbo-instruct",
        "davinci-002",
        "babbage-002",
        "Qwen/Qwen2.5-7B-Instruct",
        "deepseek-ai/DeepSeek-V3",
        "qwen-plus",
    ]
    assert suited_models(LISTED, "/v1/moderations") == [
        "omni-moderation-latest",
        "text-moderation-latest",
    ]
