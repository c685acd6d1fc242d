"""The job service behind the Jobs and Results pages, shared by every session of one scope.

One JobService (inside a JobBoard) per registry, scope, gateway and price list, kept with
`st.cache_resource`: it remembers work between reruns (row tallies, finished jobs' statuses),
which is what keeps a page with hundreds of jobs quick. Nothing per user is kept in it: the
scope is part of its key, and progress bars go to the calling session only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from batchdash.api import notices
from batchdash.api.fetch_progress import listening_to_fetches
from batchdash.api.gateway import Gateway
from batchdash.errors import BatchdashError
from batchdash.i18n import _
from batchdash.jobs.board import JobBoard
from batchdash.jobs.opening import open_job_service
from batchdash.jobs.service import JobService
from batchdash.preflight.pricing import ModelPrice
from batchdash.providers.profiles import BY_NAME
from ui import resources, state
from ui.connection import Connection
from ui.text import plain

R = TypeVar("R")


@st.cache_resource(max_entries=32, show_spinner=False)
def _board(
    db_url: str,
    scope: str,
    gateway_id: int,
    prices: tuple[tuple[str, ModelPrice], ...],
    provider: str,
    _gateway: Gateway,
) -> JobBoard:
    """The board of `scope` over the gateway `_gateway` (whose identity is `gateway_id`), by
    the rules of `provider`."""
    service = open_job_service(
        resources.registry(db_url),
        _gateway,
        scope,
        price_overrides=dict(prices),
        provider=BY_NAME[provider],
    )
    return JobBoard(service)


def job_service(connection: Connection) -> JobService:
    """A job service of this session's connection and price list (not shared with others)."""
    prices: Mapping[str, ModelPrice] = st.session_state[state.PRICE_OVERRIDES]
    return open_job_service(
        resources.app_registry(),
        connection.gateway(),
        connection.scope,
        price_overrides=prices,
        provider=connection.provider,
    )


def job_board(connection: Connection) -> JobBoard:
    """The JobBoard (and its JobService) of this session's connection and price list."""
    gateway = connection.gateway()
    prices: Mapping[str, ModelPrice] = st.session_state[state.PRICE_OVERRIDES]
    return _board(
        resources.app_settings().db_url,
        connection.scope,
        id(gateway),
        tuple(sorted(prices.items())),
        connection.provider.name,
        gateway,
    )


def _size(size: int) -> str:
    """Bytes as an analyst reads them: '840 kB', '12.5 MB'."""
    return f"{size / 1e6:,.1f} MB" if size >= 1_000_000 else f"{max(size, 1) / 1e3:,.0f} kB"


@contextmanager
def fetch_progress() -> Iterator[None]:
    """A progress bar for every result file the block downloads, and each retry notice of a
    busy or failing API ("OpenAI is busy (rate limit), retrying in 20 s."), removed when the
    block ends."""
    bar = st.empty()
    notice = st.empty()

    def tell(message: object) -> None:
        notice.warning(plain(message), icon=":material/hourglass_top:")

    def show(file_id: str, done: int, total: int | None) -> None:
        if total:
            text = _(
                "Fetching results file {file}: {done} of {total}",
                file=file_id,
                done=_size(done),
                total=_size(total),
            )
            bar.progress(min(done / total, 1.0), text=plain(text))
        else:
            text = _("Fetching results file {file}: {done}", file=file_id, done=_size(done))
            bar.progress(0.0, text=plain(text))

    try:
        with listening_to_fetches(show), notices.listening_to_notices(tell):
            yield
    finally:
        bar.empty()
        notice.empty()


def attempt(action: Callable[[], R]) -> R | None:
    """`action()`, or None after showing its error as one plain sentence."""
    try:
        return action()
    except BatchdashError as error:
        st.error(plain(error), icon=":material/error:")
        return None
