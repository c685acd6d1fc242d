"""How a new job runs, picked in the Submit dialog: as a batch (half price, answered within the
provider's window), directly (each row a call of its own at the normal price, answered now;
at no cost on the analyst's own server), or exported for vLLM's run-batch. A server without a
Batch API offers the last two only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
import streamlit as st

from batchdash.direct.adaptive_limit import DEFAULT_CONCURRENCY
from batchdash.direct.jobs import DirectJobs
from batchdash.i18n import _
from batchdash.money import usd_all
from batchdash.preflight.cost import CostEstimate
from batchdash.preflight.pricing import ModelPrice, direct_price
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe
from ui import dialogs, direct_runs, state
from ui.connection import Connection
from ui.job_access import attempt, job_service
from ui.text import plain

RunWay = Literal["batch", "direct", "export"]


def offered(provider: ProviderProfile) -> tuple[RunWay, ...]:
    """The ways this provider can run a job, the usual one first."""
    return ("batch", "direct") if provider.batch_api else ("direct", "export")


def price_of(way: RunWay, price: ModelPrice | None) -> ModelPrice | None:
    """The price a job run this way pays: the batch price, the normal one for a direct run
    (nothing on a server whose calls are free)."""
    return direct_price(price) if way == "direct" else price


def cost_words(estimate: CostEstimate) -> str:
    """The estimate in a few words: "≈ $0.12", or "$0.05 + answers" before a try."""
    shown = usd_all([estimate.expected_usd, estimate.input_usd])
    if estimate.expected_usd is not None:
        return _("≈ {amount}", amount=shown[0])
    return _("{amount} + answers", amount=shown[1])


def _label(way: RunWay, provider: ProviderProfile) -> str:
    if way == "batch":
        return _("As a batch, at half price")
    if way == "export":
        return _("Export for vLLM's run-batch")
    if provider.direct_free:
        return _("Run directly on my own server, at no cost")
    return _("Run directly, at the normal price")


def _caption(way: RunWay, provider: ProviderProfile, cost: str) -> str:
    if way == "batch":
        return _("Estimated {cost}. Answered within the provider's window (up to 24 h).", cost=cost)
    if way == "export":
        return _(
            "Nothing is sent: the Jobs page gives the JSONL and the command to run on a GPU "
            "machine, and takes back its output file."
        )
    if provider.direct_free:
        return _(
            "No cost. Each row is a call of its own, a few at once: answers come as you watch."
        )
    return _(
        "Estimated {cost}. Each row is a call of its own, a few at once: answers come as you "
        "watch.",
        cost=cost,
    )


def choose(provider: ProviderProfile, costs: dict[RunWay, str]) -> RunWay:
    """The radio of the ways to run, each with its cost; the way picked. A direct run also
    asks how many calls to make at once."""
    ways = offered(provider)
    if st.session_state.get(state.RUN_WAY) not in ways:
        st.session_state[state.RUN_WAY] = ways[0]
    way: RunWay = st.radio(
        _("How to run it"),
        ways,
        key=state.RUN_WAY,
        persist_state="session",  # kept when the dialog closes, like the job name
        format_func=lambda option: _label(option, provider),
        captions=[_caption(option, provider, costs.get(option, "")) for option in ways],
    )
    if way == "direct":
        if state.DIRECT_CONCURRENCY not in st.session_state:
            st.session_state[state.DIRECT_CONCURRENCY] = DEFAULT_CONCURRENCY
        st.number_input(
            _("Calls at once"),
            min_value=1,
            max_value=direct_runs.MAX_CONCURRENCY,
            step=1,
            key=state.DIRECT_CONCURRENCY,
            persist_state="session",
            help=_(
                "How many rows are sent at the same time. Fewer when the server pushes back "
                "(rate limits); a small local server may want 1 or 2."
            ),
        )
    return way


def confirm_direct(
    name: str,
    frame: pd.DataFrame,
    source_name: str,
    recipe: Recipe,
    connection: Connection,
    forget: Callable[[], None],
    made: Callable[[str], None],
) -> None:
    """Say where the rows go and what it costs, then create the job, start its run in the
    background of the app server, and hand its id to `made` (which opens Jobs on it)."""
    if connection.sandbox:
        st.info(
            _(
                "Sandbox mode: the rows go to the local simulator's synchronous route, with "
                "simulated answers and no cost."
            ),
            icon=":material/science:",
        )
    elif connection.provider.direct_free:
        st.info(
            _(
                "The rows are sent to {server}, one call each, at no cost.",
                server=plain(connection.label),
            ),
            icon=":material/dns:",
        )
    else:
        st.warning(
            _(
                "The rows are sent to {server} one call each, at the normal price (twice the "
                "batch price), billed to your API key.",
                server=plain(connection.label),
            ),
            icon=":material/payments:",
        )
    if not dialogs.confirm_row(_("Run directly"), "submit_direct", forget, _("Not now")):
        return
    service = job_service(connection)
    job_id = attempt(
        lambda: DirectJobs(service).create(
            name,
            frame,
            recipe,
            source_name=source_name,
        )
    )
    if job_id is None:
        return
    calls = int(st.session_state.get(state.DIRECT_CONCURRENCY) or DEFAULT_CONCURRENCY)
    direct_runs.start(service, job_id, calls)
    made(job_id)
