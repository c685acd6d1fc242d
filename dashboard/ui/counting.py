"""Exact counts of big tables, made in a background thread while New job shows an estimate.

Counting every row of 50,000 takes a second or more; a template edit should answer at once.
So the page asks for the count here and draws at once with an estimate (marked as one) until
the count is done; a small fragment polls for it and reruns the page when it is.

The thread runs only core code (`plan_batch`), never `st.*`. Counts are shared by the server's
sessions like `st.cache_data` results: keyed by the table's digest and everything the count
depends on, the finished ones kept for a while. One worker counts at a time, so counting never
takes more of the machine than one count does. Each session holds the one count it waits for;
a count no session holds any more (the template was edited again, the analyst went to another
page, the session ended) stops at its next chunk of rows and frees the worker.

This module imports no pandas and no token tables: the entry script uses it on every page.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from batchdash.i18n import _

if TYPE_CHECKING:
    from batchdash.preflight.plan import BatchPlan

#: Finished counts kept for the server's sessions (each holds two numbers per row and the row
#: IDs); counts a session still holds are kept besides.
KEPT_COUNTS = 8
#: Seconds between two looks at a count still running.
POLL_SECONDS = 0.3
# Session key of this session's hold on its count (a _Hold).
_SESSION_KEY = "counting:pending"

#: A count's work: given a check that says when to stop, the plan of every row (it raises
#: batchdash.preflight.plan.PlanStopped when told to stop).
Counting = Callable[[Callable[[], bool]], "BatchPlan"]


@dataclass
class _Count:
    future: Future[BatchPlan]
    stop: threading.Event = field(default_factory=threading.Event)
    #: Sessions waiting for it.
    holders: int = 0


def stopped(future: Future[BatchPlan]) -> bool:
    """Whether `future` was given up before it finished (cancelled while waiting, or stopped
    between two chunks)."""
    if future.cancelled():
        return True
    if not future.done():
        return False
    from batchdash.preflight.plan import PlanStopped

    return isinstance(future.exception(), PlanStopped)


class BackgroundCounts:
    """Plans computed one at a time in a worker thread, each under its key; a count nobody
    holds stops, a finished one is kept (the last few) for whoever asks again."""

    def __init__(self, kept: int = KEPT_COUNTS) -> None:
        self._kept = kept
        self._counts: OrderedDict[Hashable, _Count] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batchdash-count")

    def hold(self, key: Hashable, compute: Counting) -> Future[BatchPlan]:
        """The count under `key`, held until `release(key)`: the one made or under way, else
        `compute` started."""
        with self._lock:
            count = self._counts.get(key)
            if count is None or stopped(count.future):
                stop = threading.Event()
                count = _Count(self._pool.submit(compute, stop.is_set), stop)
                self._counts[key] = count
            count.holders += 1
            self._counts.move_to_end(key)
            self._forget_unheld()
            return count.future

    def release(self, key: Hashable) -> None:
        """One holder of the count under `key` no longer waits for it: unfinished and held by
        nobody else, it is dropped if it waits and stopped at its next chunk if it runs."""
        with self._lock:
            count = self._counts.get(key)
            if count is None:
                return
            count.holders -= 1
            if count.holders <= 0 and not count.future.done():
                count.stop.set()
                count.future.cancel()
                del self._counts[key]

    def _forget_unheld(self) -> None:
        """Beyond `kept`, forget the oldest finished counts nobody holds."""
        extra = len(self._counts) - self._kept
        for key in [key for key, count in self._counts.items() if count.holders <= 0][:extra]:
            del self._counts[key]

    def close(self) -> None:
        """Stop every count and the worker."""
        with self._lock:
            for count in self._counts.values():
                count.stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


@st.cache_resource(show_spinner=False, on_release=BackgroundCounts.close)
def _counts() -> BackgroundCounts:
    return BackgroundCounts()


class _Hold:
    """A session's hold on one count; released when replaced, when the session leaves New
    job, or when the session's state is dropped (the analyst closed the tab)."""

    def __init__(self, key: Hashable, future: Future[BatchPlan], counts: BackgroundCounts):
        self.key = key
        self.future = future
        self.release = weakref.finalize(self, counts.release, key)


def count_in_background(key: Hashable, compute: Counting) -> Future[BatchPlan]:
    """This session's count under `key`, started if needed; the count it held before is
    released (a template edited again: that count stops unless another session waits for it)."""
    held: _Hold | None = st.session_state.get(_SESSION_KEY)
    if held is not None and held.key == key and not stopped(held.future):
        return held.future
    counts = _counts()
    future = counts.hold(key, compute)
    if held is not None:
        held.release()
    st.session_state[_SESSION_KEY] = _Hold(key, future, counts)
    return future


def release_count() -> None:
    """Stop waiting for this session's count (it stops unless another session waits for it)."""
    held: _Hold | None = st.session_state.pop(_SESSION_KEY, None)
    if held is not None:
        held.release()


def counted(key: Hashable) -> BatchPlan | None:
    """The plan this session's background count made under `key`, once done; else None."""
    held: _Hold | None = st.session_state.get(_SESSION_KEY)
    if held is None or held.key != key or not held.future.done() or stopped(held.future):
        return None
    return held.future.result()


@st.fragment(run_every=POLL_SECONDS)
def await_count(future: Future[BatchPlan]) -> None:
    """While `future` runs: say that the rows are still being checked and counted; once it is
    done, rerun the page to show the problems of single rows and the exact figures."""
    if future.done():
        st.rerun()
    st.info(
        "**"
        + _("Still checking every row.")
        + "** "
        + _(
            "Counting the tokens of every row… Problems of single rows (a row too long for the "
            "model, an empty prompt) show here once every row is checked; until then figures "
            "marked ≈ are estimates, and the job cannot be downloaded or submitted."
        ),
        icon=":material/hourglass_top:",
    )
