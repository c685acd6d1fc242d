"""The one way every face of Batchdash (the pages, the submit dialog, the CLI) opens the job
service: its downloads report their progress to whoever listens (api.fetch_progress), and its
retries tell their notices (api.notices)."""

from __future__ import annotations

from collections.abc import Mapping

from batchdash.api.fetch_progress import reporting
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.preflight.pricing import ModelPrice
from batchdash.registry.store import Registry


def open_job_service(
    registry: Registry,
    gateway: Gateway,
    scope: str,
    *,
    price_overrides: Mapping[str, ModelPrice] | None = None,
) -> JobService:
    """The job service of `scope` over `gateway`, on `registry`."""
    return JobService(registry, reporting(gateway), scope, price_overrides=price_overrides)
