"""The Batch API's statuses that every stage shares."""

from __future__ import annotations

#: OpenAI's final statuses: the batch will not change any more. A provider may name more
#: (the gateway's `terminal_statuses`), which the job service passes on where it matters.
OPENAI_TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"completed", "failed", "expired", "cancelled"}
)
