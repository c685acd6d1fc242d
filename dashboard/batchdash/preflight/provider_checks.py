"""The preflight's checks of a job against the provider that will run it: its endpoints, its
completion windows and its per-file limits, all before anything is sent."""

from __future__ import annotations

from batchdash.i18n import _l
from batchdash.preflight import limits
from batchdash.preflight.problems import Problem
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import ENDPOINT_LABELS, Recipe

# Parts are planned this far below a provider's byte limit, as OpenAI's 200 MB is planned at
# 190 MB: "MB" may be read as 10^6 or 2^20 bytes, and a server may count the upload's framing.
_BYTE_MARGIN = 0.95


def provider_problems(recipe: Recipe, provider: ProviderProfile) -> list[Problem]:
    """What `provider` cannot run of `recipe`: an endpoint it lacks, a window it does not offer."""
    problems: list[Problem] = []
    if recipe.endpoint not in provider.endpoints:
        offered = ", ".join(ENDPOINT_LABELS[endpoint] for endpoint in provider.endpoints)
        wanted = ENDPOINT_LABELS.get(recipe.endpoint, recipe.endpoint)
        problems.append(
            Problem(
                _l(
                    "{provider} takes no {wanted} batches; it takes {offered}. Pick one of those "
                    "endpoints, or another API in Settings.",
                    provider=provider.titled(),
                    wanted=wanted,
                    offered=offered,
                )
            )
        )
    window = recipe.completion_window
    if window is not None and window not in provider.completion_windows:
        problems.append(
            Problem(
                _l(
                    "{provider} does not offer a {window} completion window; it offers {windows}. Pick "
                    "one of those.",
                    provider=provider.titled(),
                    window=window,
                    windows=", ".join(provider.completion_windows),
                )
            )
        )
    return problems


def batch_api_problem(provider: ProviderProfile | None) -> Problem | None:
    """Why a job cannot go to `provider` as batches: it has no Batch API (a local server).
    The job itself is fine there: it runs directly, or goes to vLLM's run-batch as a file."""
    if provider is None or provider.batch_api:
        return None
    return Problem(
        _l(
            "{provider} has no Batch API, so the job cannot be sent to it as batches: run it "
            'directly ("Run directly" in New job, or submit --direct), or export it for vLLM '
            '("Export for vLLM", or submit --export DIR).',
            provider=provider.titled(),
        )
    )


def part_limits(provider: ProviderProfile | None, model: str = "") -> tuple[int, int]:
    """Requests and bytes one part of `model` may hold with `provider` (OpenAI's without one);
    a provider's free rehearsal model takes smaller files."""
    if provider is None:
        return limits.MAX_REQUESTS_PER_PART, limits.MAX_PART_BYTES
    requests, size = provider.max_requests_per_file, provider.max_file_bytes
    if provider.rehearsal_model and model.strip() == provider.rehearsal_model:
        requests, size = min(requests, provider.rehearsal_limits[0]), provider.rehearsal_limits[1]
    return (
        min(limits.MAX_REQUESTS_PER_PART, requests),
        min(limits.MAX_PART_BYTES, int(size * _BYTE_MARGIN)),
    )


def split_notes(
    provider: ProviderProfile, model: str, rows: int, parts: int, max_requests: int
) -> list[Problem]:
    """A note when the provider's smaller files are what splits the job, so the analyst knows
    why it goes as several batches (a split by OpenAI's limits needs no word)."""
    if parts < 2 or rows <= max_requests or max_requests >= limits.MAX_REQUESTS_PER_PART:
        return []
    if model.strip() == provider.rehearsal_model:
        note = _l(
            "{provider} takes at most {max_requests:,} requests in one file for its free test "
            "model, so the {rows:,} rows go as {parts:,} batches.",
            provider=provider.titled(),
            max_requests=max_requests,
            rows=rows,
            parts=parts,
        )
    else:
        note = _l(
            "{provider} takes at most {max_requests:,} requests in one file, so the {rows:,} "
            "rows go as {parts:,} batches.",
            provider=provider.titled(),
            max_requests=max_requests,
            rows=rows,
            parts=parts,
        )
    return [Problem(note, blocking=False)]


def completion_window(recipe: Recipe, provider: ProviderProfile | None) -> str:
    """The window a job's batches ask for: the recipe's, else the provider's default."""
    if recipe.completion_window:
        return recipe.completion_window
    return provider.completion_windows[0] if provider else "24h"
