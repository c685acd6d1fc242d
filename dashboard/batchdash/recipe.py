"""The recipe: how every row of the spreadsheet becomes one request.

A recipe is frozen and hashable, so the pages can use it as a cache key, and it round-trips
through plain dicts, so the registry and the CLI can store and read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

Endpoint = Literal[
    "/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions", "/v1/moderations"
]
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)

#: The merged table's lineage columns, after the input columns, `response` and the fields
#: (contract 6): other tools read them by these names.
LINEAGE_COLUMNS = (
    "custom_id",
    "status",
    "error",
    "finish_reason",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "batch_id",
    "model",
)

#: The `batch_id` lineage of a row answered by a direct run (one call to the synchronous route,
#: no batch): no batch id of OpenAI's or another provider's looks like it.
DIRECT_BATCH_ID = "direct"

ENDPOINT_LABELS: dict[Endpoint, str] = {
    "/v1/chat/completions": "Chat Completions",
    "/v1/responses": "Responses",
    "/v1/embeddings": "Embeddings",
    "/v1/completions": "Completions (legacy)",
    "/v1/moderations": "Moderation",
}

#: The categories a moderation answer scores (the newest spec's `CreateModerationResponse`).
MODERATION_CATEGORIES = (
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
#: The merged table's column saying whether a moderated row was flagged in any category.
FLAGGED_COLUMN = "flagged"


def score_column(category: str) -> str:
    """The merged table's column of one moderation category's score, e.g. `score_self_harm`."""
    return "score_" + category.replace("/", "_").replace("-", "_")


FieldType = Literal["text", "number", "integer", "yes/no", "one of"]
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)

# The newest spec's ReasoningEffort enum, least effort first; not every model takes every value.
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = get_args(ReasoningEffort)


@dataclass(frozen=True)
class OutputField:
    """One named column of a structured answer."""

    #: Column name in the merged table and property name in the JSON schema.
    name: str
    #: What the model must answer in this field.
    type: FieldType = "text"
    #: The allowed answers when `type` is "one of".
    choices: tuple[str, ...] = ()
    #: A hint for the model, written into the schema's `description`.
    description: str = ""


#: Recipe fields that change neither the tokens a row costs nor whether a row is valid: the
#: preflight of every row is made without them, so changing one re-plans a few rows only. A
#: new parameter that does neither belongs here.
UNCOUNTED_PARAMETERS = (
    "temperature",
    "max_output_tokens",
    "reasoning_effort",
    "dimensions",
    "completion_window",
    "moderation_categories",
)


@dataclass(frozen=True)
class Recipe:
    """Endpoint, model, prompts and parameters shared by every request of a job."""

    #: Batch endpoint every request line goes to.
    endpoint: Endpoint = "/v1/chat/completions"
    #: Model name (or Azure deployment name); one model per batch file.
    model: str = "gpt-4o-mini"
    #: Prompt with `{column}` placeholders; `{{` and `}}` are literal braces.
    template: str = "{prompt}"
    #: System (chat) or instructions (responses) text; may hold placeholders too.
    system_prompt: str = ""
    #: Sampling temperature; None leaves the model's default.
    temperature: float | None = None
    #: Cap on output tokens; None leaves the model's default.
    max_output_tokens: int | None = None
    #: Reasoning effort for reasoning models (o-series, gpt-5); None leaves the default.
    reasoning_effort: ReasoningEffort | None = None
    #: Column whose values become custom_ids; None means `row-<N>`.
    id_column: str | None = None
    #: Structured output fields; empty means free text.
    output_fields: tuple[OutputField, ...] = ()
    #: Embedding vector size (embeddings endpoint only); None leaves the model's default.
    dimensions: int | None = None
    #: How long the provider may take ("24h", "72h", ...); None: the provider's default.
    completion_window: str | None = None
    #: Moderation categories whose scores get a column (moderations endpoint only).
    moderation_categories: tuple[str, ...] = ()

    @property
    def structured(self) -> bool:
        """Whether answers are JSON objects split into named columns."""
        return bool(self.output_fields) and self.endpoint in (
            "/v1/chat/completions",
            "/v1/responses",
        )

    @property
    def result_fields(self) -> tuple[OutputField, ...]:
        """The merged table's columns between `response` and the lineage (contract 6): the
        structured fields, or for moderation `flagged` and one score per chosen category."""
        if self.endpoint == "/v1/moderations":
            scores = tuple(
                OutputField(score_column(c), "number", description=f"score of {c}")
                for c in self.moderation_categories
            )
            return (OutputField(FLAGGED_COLUMN, "yes/no"), *scores)
        return self.output_fields if self.structured else ()

    def for_counting(self) -> Recipe:
        """This recipe without UNCOUNTED_PARAMETERS: what the preflight of every row needs."""
        defaults = Recipe()
        uncounted = {name: getattr(defaults, name) for name in UNCOUNTED_PARAMETERS}
        return replace(self, **uncounted)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples)."""
        data = asdict(self)
        data["output_fields"] = [
            {**f, "choices": list(f["choices"])} for f in data["output_fields"]
        ]
        data["moderation_categories"] = list(self.moderation_categories)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """The inverse of `to_dict`; unknown keys are ignored so older records still load."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["output_fields"] = tuple(
            OutputField(
                name=f["name"],
                type=f.get("type", "text"),
                choices=tuple(f.get("choices", ())),
                description=f.get("description", ""),
            )
            for f in data.get("output_fields", ())
        )
        values["moderation_categories"] = tuple(data.get("moderation_categories", ()))
        return cls(**values)
