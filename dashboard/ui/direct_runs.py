"""Direct runs from the app (DESIGN.md contract 11): started in a background thread of the
Streamlit server, shown and steered on the Jobs page.

A run outlives the session that started it (the analyst may close the tab), so its handle is
kept in one registry per server process (`st.cache_resource`), keyed by job id: one run per
job per server, and any session of the server can see whether this process runs it. Progress
itself is read from the job registry (`JobStatus.direct`), like any other process would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from batchdash.direct.adaptive_limit import DEFAULT_CONCURRENCY
from batchdash.direct.background import DirectRunHandle, start_direct_run
from batchdash.direct.jobs import DirectJobs, asked_concurrency
from batchdash.direct.progress import DirectProgress
from batchdash.direct.runner import RunSettings
from batchdash.i18n import _
from batchdash.jobs.service import JobService
from batchdash.preflight.pricing import price_for

#: The most calls at once the page offers.
MAX_CONCURRENCY = 64


@dataclass
class _Runs:
    """This server's direct runs by job id, with the concurrency each was started with."""

    handles: dict[str, DirectRunHandle] = field(default_factory=dict)
    concurrency: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@st.cache_resource(show_spinner=False)
def _runs() -> _Runs:
    return _Runs()


def handle(job_id: str) -> DirectRunHandle | None:
    """The last run of the job this server started, if any (running or ended)."""
    return _runs().handles.get(job_id)


def running_here(job_id: str) -> bool:
    """Whether this server process runs the job now."""
    found = handle(job_id)
    return found is not None and found.running


def start(service: JobService, job_id: str, concurrency: int | None = None) -> DirectRunHandle:
    """Start (or resume) the job's direct run in a background thread of this server, unless it
    runs here already; its handle. `concurrency` defaults to the one it last ran with."""
    runs = _runs()
    with runs.lock:
        current = runs.handles.get(job_id)
        if current is not None and current.running:
            return current
        job = service.registry.get_job(job_id, service.scope)
        if job.state == "new":  # shown as running from the page's next draw, not "Not sent"
            service.registry.set_job_state(job.id, "active")
        calls = (
            concurrency
            or runs.concurrency.get(job_id)
            or asked_concurrency(service.registry.parts(job.id))  # started before a restart
            or DEFAULT_CONCURRENCY
        )
        runs.concurrency[job_id] = calls
        started = start_direct_run(DirectJobs(service, RunSettings(concurrency=calls)), job_id)
        runs.handles[job_id] = started
        return started


def stopped_by_error(job_id: str) -> str | None:
    """Why this server's last run of the job ended early (a plain sentence), if it did."""
    found = handle(job_id)
    if found is None or found.running or found.error is None:
        return None
    return str(found.error)


def normal_price_usd(service: JobService, model: str, input_tokens: int) -> float | None:
    """USD of these input tokens sent directly: the normal (non-batch) price, nothing on a
    server whose calls are free; None when the model's price is unknown."""
    provider = service.provider
    if provider is not None and provider.direct_free:
        return 0.0
    price = price_for(model, service.price_overrides, provider)
    return None if price is None else price.cost(input_tokens, 0, batch=False)


def progress_words(progress: DirectProgress) -> str:
    """One line for the analyst: "12 of 40 requests answered, 1 failed, 8 in flight" (a row
    repaired directly is a request of its own)."""
    words = [
        _(
            "{answered:,} of {rows:,} requests answered",
            answered=progress.answered,
            rows=progress.rows,
        )
    ]
    if progress.failed:
        words.append(_("{n:,} failed", n=progress.failed))
    if progress.cancelled:
        words.append(_("{n:,} cancelled", n=progress.cancelled))
    if progress.in_flight:
        words.append(_("{n:,} in flight", n=progress.in_flight))
    return _(", ").join(words)
