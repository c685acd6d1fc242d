"""The one way every face of Batchdash (the pages, the submit dialog, the CLI) opens the job
service: its downloads report their progress to whoever listens (api.fetch_progress), and its
retries tell their notices (api.notices); its gateway and rules follow the provider's profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchdash.api.fetch_progress import reporting
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.jobs.tidying import output_expiry_seconds
from batchdash.preflight.pricing import ModelPrice
from batchdash.providers.profiles import ProviderProfile
from batchdash.registry.store import Registry


def provider_gateway(
    api_key: str, base_url: str | None, provider: ProviderProfile, **options: Any
) -> Gateway:
    """A gateway to `base_url` that uploads and creates batches as `provider` expects."""
    return Gateway(
        api_key,
        base_url,
        completion_window=provider.completion_windows[0],
        upload_purpose=provider.upload_purpose,
        can_list=provider.list,
        output_expires_seconds=output_expiry_seconds(provider),
        **options,
    )


def open_job_service(
    registry: Registry,
    gateway: Gateway,
    scope: str,
    *,
    price_overrides: Mapping[str, ModelPrice] | None = None,
    provider: ProviderProfile | None = None,
) -> JobService:
    """The job service of `scope` over `gateway`, on `registry`, by `provider`'s rules (None:
    OpenAI's)."""
    return JobService(
        registry,
        reporting(gateway),
        scope,
        price_overrides=price_overrides,
        provider=provider,
    )
