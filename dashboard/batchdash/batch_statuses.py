"""The Batch API's statuses that every stage shares."""

from __future__ import annotations

#: OpenAI's final statuses: the batch will not change any more. A provider may name more
#: (the gateway's `terminal_statuses`), which the job service passes on where it matters.
OPENAI_TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"completed", "failed", "expired", "cancelled"}
)

#: Statuses some providers report beyond OpenAI's, each with the OpenAI status it stands for,
#: so a job's stage reads the same whichever provider runs it. SiliconFlow's `in_queue`: the
#: batch is accepted and waits for capacity before it runs (docs.siliconflow.cn, create batch).
PROVIDER_STATUS_STAGES: dict[str, str] = {
    "in_queue": "validating",
}


def openai_stage(status: str) -> str:
    """The OpenAI status a provider's `status` stands for (an OpenAI status stands for itself)."""
    return PROVIDER_STATUS_STAGES.get(status, status)
