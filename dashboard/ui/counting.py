"""Exact counts of big tables, made in a background thread while New job shows an estimate.

Counting every row of 50,000 takes a second or more; a template edit should answer at once.
So the page asks for the count here and draws at once with an estimate (marked as one) until
the count is done; a small fragment polls for it and reruns the page when it is.

The thread runs only core code (`plan_batch`), never `st.*`. Counts are shared by the server's
sessions like `st.cache_data` results: keyed by the table's digest and everything the count
depends on, the last few kept. One worker counts at a time, so counting never takes more of
the machine than one count does; a count a session no longer wants is dropped while it waits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

import streamlit as st

from batchdash.i18n import _
from batchdash.preflight.plan import BatchPlan

#: Counts kept for the server's sessions (each holds two numbers per row and the row IDs).
KEPT_COUNTS = 8
#: Seconds between two looks at a count still running.
POLL_SECONDS = 0.3
# Session key of this session's count: (key, future).
_SESSION_KEY = "counting:pending"


class BackgroundCounts:
    """Plans computed one at a time in a worker thread, each under its key, the last few kept."""

    def __init__(self, kept: int = KEPT_COUNTS) -> None:
        self._kept = kept
        self._futures: OrderedDict[Hashable, Future[BatchPlan]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batchdash-count")

    def submit(self, key: Hashable, compute: Callable[[], BatchPlan]) -> Future[BatchPlan]:
        """The count under `key`: the one made or under way, else `compute` started."""
        with self._lock:
            future = self._futures.get(key)
            if future is None or future.cancelled():
                future = self._pool.submit(compute)
                self._futures[key] = future
            self._futures.move_to_end(key)
            while len(self._futures) > self._kept:
                _, oldest = self._futures.popitem(last=False)
                oldest.cancel()
            return future

    def drop_waiting(self, key: Hashable) -> None:
        """Forget the count under `key` if it has not started (nobody waits for it any more)."""
        with self._lock:
            future = self._futures.get(key)
            if future is not None and future.cancel():
                del self._futures[key]

    def close(self) -> None:
        """Drop the waiting counts and stop the worker once the running one ends."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@st.cache_resource(show_spinner=False, on_release=BackgroundCounts.close)
def _counts() -> BackgroundCounts:
    return BackgroundCounts()


def count_in_background(key: Hashable, compute: Callable[[], BatchPlan]) -> Future[BatchPlan]:
    """This session's count under `key`, started if needed; the count it asked for before is
    dropped if it still waits (a template edited again before the count began)."""
    held: tuple[Hashable, Future[BatchPlan]] | None = st.session_state.get(_SESSION_KEY)
    if held is not None and held[0] == key and not held[1].cancelled():
        return held[1]
    counts = _counts()
    if held is not None:
        counts.drop_waiting(held[0])
    future = counts.submit(key, compute)
    st.session_state[_SESSION_KEY] = (key, future)
    return future


def counted(key: Hashable) -> BatchPlan | None:
    """The plan this session's background count made under `key`, once done; else None."""
    held: tuple[Hashable, Future[BatchPlan]] | None = st.session_state.get(_SESSION_KEY)
    if held is None or held[0] != key or not held[1].done() or held[1].cancelled():
        return None
    return held[1].result()


@st.fragment(run_every=POLL_SECONDS)
def await_count(future: Future[BatchPlan]) -> None:
    """While `future` runs: say so; once it is done, rerun the page to show the exact figures."""
    if future.done():
        st.rerun()
    st.caption(
        ":material/hourglass_top: "
        + _(
            "Counting the tokens of every row… Figures marked ≈ are estimates until the count "
            "is done, in a moment."
        )
    )
