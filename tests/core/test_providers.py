"""Provider profiles (contract 10): their data, recognition and choice, and the preflight's
checks of a job against them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES, PROVIDER_STATUS_STAGES
from batchdash.display.status_words import (
    BATCH_MEANINGS,
    BATCH_WORDS,
    WAITING_HELP,
    batch_meaning,
    batch_word,
    waiting_help,
)
from batchdash.errors import InputError
from batchdash.preflight import tokens
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.providers.choice import (
    configured_provider,
    profile_labelled,
    profile_named,
    recognise,
)
from batchdash.providers.profiles import BY_NAME, PROFILES
from batchdash.recipe import ENDPOINTS, Recipe
from batchdash.settings import read_settings

NAMES = ["openai", "azure", "groq", "deepinfra", "dashscope", "siliconflow", "gemini", "litellm"]
LOCAL = ["ollama", "llamacpp", "lmstudio", "vllm"]


def test_every_named_provider_and_custom_has_a_profile() -> None:
    assert [profile.name for profile in PROFILES] == [*NAMES, "custom", *LOCAL]
    assert len({profile.label for profile in PROFILES}) == len(PROFILES)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_a_profile_is_complete_and_cites_its_source(profile) -> None:  # type: ignore[no-untyped-def]
    assert profile.endpoints and set(profile.endpoints) <= set(ENDPOINTS)
    assert profile.completion_windows and all(
        window.endswith("h") and window[:-1].isdigit() for window in profile.completion_windows
    )
    assert profile.max_requests_per_file > 0 and profile.max_file_bytes > 0
    assert profile.source.startswith("https://")
    assert (profile.base_url is None) == (profile.needs_url or profile.name == "azure")
    for status in profile.extra_statuses:
        # A provider's own status maps to a stage and has words, so it is never "unknown".
        assert PROVIDER_STATUS_STAGES[status] not in OPENAI_TERMINAL_STATUSES
        assert status in BATCH_WORDS and status in BATCH_MEANINGS


def test_the_documented_differences() -> None:
    groq, silicon = BY_NAME["groq"], BY_NAME["siliconflow"]
    assert groq.endpoints == ("/v1/chat/completions",)
    assert groq.completion_windows[0] == "24h" and groq.completion_windows[-1] == "168h"
    assert groq.max_file_bytes == 100_000_000
    assert set(BY_NAME["deepinfra"].endpoints) == {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
    }
    assert silicon.completion_windows[-1] == "336h" and silicon.extra_statuses == ("in_queue",)
    assert BY_NAME["dashscope"].rehearsal_model == "batch-test-model"
    assert BY_NAME["gemini"].expires_after_hours == 48
    assert BY_NAME["azure"].models == "typed"


@pytest.mark.parametrize(
    ("name", "port"), [("ollama", 11434), ("llamacpp", 8080), ("lmstudio", 1234), ("vllm", 8000)]
)
def test_a_local_server_has_no_batch_api_and_costs_nothing(name: str, port: int) -> None:
    profile = BY_NAME[name]
    assert profile.base_url == f"http://localhost:{port}/v1"
    assert (profile.batch_api, profile.direct_free, profile.models) == (False, True, "api")
    assert not profile.needs_url and recognise(profile.base_url) is profile
    described = profile.describe()
    assert (described["batch_api"], described["direct_free"]) == (False, True)
    # Every hosted profile keeps its Batch API and its price.
    assert all(p.batch_api and not p.direct_free for p in PROFILES if p.name not in LOCAL)


def test_in_queue_is_explained_not_unknown() -> None:
    assert batch_word("in_queue") == "Waiting in the queue"
    assert "queue" in batch_meaning("in_queue") and "does not know" not in batch_meaning("in_queue")
    assert "does not know" in batch_meaning("teleporting")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (None, "openai"),
        ("https://api.openai.com/v1", "openai"),
        ("https://my-res.openai.azure.com/openai/v1/", "azure"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepinfra.com/v1/openai", "deepinfra"),
        ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "dashscope"),
        ("https://API.SILICONFLOW.CN/v1", "siliconflow"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gemini"),
        ("http://127.0.0.1:8765/v1", "custom"),
        ("https://evil-api.groq.com.example.net/v1", "custom"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://127.0.0.1:11434/v1/", "ollama"),
        ("http://localhost:8080/v1", "llamacpp"),
        ("http://LOCALHOST:1234/v1", "lmstudio"),
        ("http://127.0.0.1:8000/v1", "vllm"),
        ("http://localhost/v1", "custom"),
        ("http://localhost:99999/v1", "custom"),
        ("http://gpu-box.example.net:8000/v1", "custom"),
    ],
)
def test_a_base_url_is_recognised(url: str | None, name: str) -> None:
    assert recognise(url).name == name


def test_batchdash_provider_overrides_the_url() -> None:
    settings = read_settings(
        {"OPENAI_BASE_URL": "http://127.0.0.1:4000/v1", "BATCHDASH_PROVIDER": " LiteLLM "}
    )
    assert configured_provider(settings).name == "litellm"
    assert (
        configured_provider(
            read_settings({"OPENAI_BASE_URL": "https://api.groq.com/openai/v1"})
        ).name
        == "groq"
    )


def test_an_unknown_provider_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        configured_provider(read_settings({"BATCHDASH_PROVIDER": "openrouter"}))
    message = str(caught.value)
    assert "BATCHDASH_PROVIDER is 'openrouter'" in message
    assert all(name in message for name in [*NAMES, "custom"])
    assert profile_named("GROQ").name == "groq"
    assert profile_labelled("SiliconFlow").name == "siliconflow"


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"Review number {n} was fine" for n in range(rows)]})


def _blocking(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [problem.message for problem in plan.problems if problem.blocking]


def test_an_endpoint_the_provider_lacks_blocks_the_job() -> None:
    recipe = Recipe(endpoint="/v1/embeddings", model="llama-3.1-8b-instant", template="{text}")
    plan = plan_batch(_frame(3), recipe, provider=BY_NAME["groq"])
    assert not plan.parts
    assert any("Groq takes no Embeddings batches" in text for text in _blocking(plan))
    assert plan_batch(_frame(3), recipe, provider=BY_NAME["deepinfra"]).ok


def test_a_batch_to_a_server_without_a_batch_api_is_one_plain_refusal() -> None:
    from batchdash.preflight.provider_checks import batch_api_problem

    assert batch_api_problem(BY_NAME["openai"]) is None and batch_api_problem(None) is None
    problem = batch_api_problem(BY_NAME["ollama"])
    assert problem is not None and problem.blocking
    assert problem.message.startswith("Ollama has no Batch API")
    assert "--direct" in problem.message and "Run directly" in problem.message
    assert "export it for vLLM" in problem.message and "\n" not in problem.message


def test_a_window_the_provider_does_not_offer_blocks_the_job() -> None:
    recipe = Recipe(model="llama-3.1-8b-instant", template="{text}", completion_window="336h")
    refused = plan_batch(_frame(3), recipe, provider=BY_NAME["groq"])
    assert any("does not offer a 336h" in text and "168h" in text for text in _blocking(refused))
    taken = plan_batch(_frame(3), recipe, provider=BY_NAME["siliconflow"])
    assert taken.ok


def test_a_job_over_the_providers_file_limit_is_split() -> None:
    recipe = Recipe(model="deepseek-ai/DeepSeek-V3", template="{text}")
    plan = plan_batch(_frame(12_001), recipe, provider=BY_NAME["siliconflow"])
    assert [part.requests for part in plan.parts] == [5_000, 5_000, 2_001]
    notes = [problem.message for problem in plan.problems if not problem.blocking]
    assert (
        "SiliconFlow takes at most 5,000 requests in one file, so the 12,001 rows go as 3 batches."
        in notes
    )
    assert len(plan_batch(_frame(12_001), recipe, provider=BY_NAME["openai"]).parts) == 1


def test_qwen_models_are_counted_with_qwens_tokenizer() -> None:
    text = "通义千问 counts Chinese text with its own vocabulary."
    recipe = Recipe(model="qwen-plus", template="{text}")
    plan = plan_batch(pd.DataFrame({"text": [text]}), recipe, provider=BY_NAME["dashscope"])
    counter, exact = tokens.counting_for("qwen-plus", "qwen")
    assert exact and plan.tokens_exact
    overhead = tokens.TOKENS_PER_MESSAGE + counter.count("user") + 3
    assert plan.input_tokens == counter.count(text) + overhead
    assert counter.name != tokens.get_encoding("o200k_base").name


def test_models_without_a_shipped_tokenizer_are_estimated() -> None:
    recipe = Recipe(model="llama-3.1-8b-instant", template="{text}")
    assert not plan_batch(_frame(2), recipe, provider=BY_NAME["groq"]).tokens_exact
    assert plan_batch(
        _frame(2), Recipe(template="{text}"), provider=BY_NAME["litellm"]
    ).tokens_exact


def test_prices_come_from_the_providers_list_or_settings() -> None:
    groq = BY_NAME["groq"]
    listed = price_for("llama-3.1-8b-instant", None, groq)
    assert listed is not None and listed.batch_factor == pytest.approx(0.75)
    assert listed.cost(1_000_000, 0) == pytest.approx(listed.input_per_million * 0.75)
    assert price_for("qwen-plus", None, BY_NAME["dashscope"]) is None
    override = {"qwen-plus": ModelPrice(0.8, 2.0)}
    assert price_for("qwen-plus", override, BY_NAME["dashscope"]) == ModelPrice(0.8, 2.0, 0.5)
    plan = plan_batch(
        _frame(2), Recipe(model="qwen-plus", template="{text}"), provider=BY_NAME["dashscope"]
    )
    notes = [problem.message for problem in plan.problems if not problem.blocking]
    assert any("not in the packaged price list" in note for note in notes)
    assert plan.estimated_cost_usd is None


def test_without_a_provider_the_plan_is_as_before() -> None:
    recipe = Recipe(template="{text}")
    plain = plan_batch(_frame(4), recipe)
    openai = plan_batch(_frame(4), recipe, provider=BY_NAME["openai"])
    assert plain.input_tokens == openai.input_tokens
    assert np.array_equal(plain.row_bytes, openai.row_bytes)
    assert plain.estimated_cost_usd == openai.estimated_cost_usd


def test_the_waiting_help_names_the_providers_windows() -> None:
    assert waiting_help(BY_NAME["openai"]) == waiting_help(BY_NAME["custom"]) == WAITING_HELP
    text = waiting_help(BY_NAME["groq"])
    assert "Groq runs it" in text and "(24h to 168h)" in text and "OpenAI" not in text
