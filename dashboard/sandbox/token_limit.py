"""One enqueued-token limit for every model, as the sandbox command's --enqueued-token-limit
and BATCHDASH_SANDBOX_ENQUEUED_TOKEN_LIMIT ask: the `token_limits` mapping validation reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class SameForEveryModel(Mapping[str, int]):
    """`tokens` for whatever model is asked for (each model's queue counted on its own)."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens

    def __getitem__(self, model: str) -> int:
        return self.tokens

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True  # a limit is set, though no model is listed


def every_model(tokens: int | None) -> Mapping[str, int]:
    """The `token_limits` of a sandbox whose limit is `tokens` per model (None: no limit)."""
    return {} if tokens is None else SameForEveryModel(tokens)
