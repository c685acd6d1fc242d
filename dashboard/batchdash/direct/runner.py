"""Sending one claimed direct part: its rows, one synchronous call each, a few at a time.

Worker threads (as many as the concurrency asked for) share the part's unanswered rows; an
`AdaptiveLimit` decides how many calls are under way at once. A row's answer, or the server's
refusal of it (a 4xx), is recorded in the registry the moment it arrives; a call that fails in
passing (429, 5xx, a timeout, a lost connection) is tried again after the server's Retry-After
or a growing wait, up to the retry policy's tries, and then recorded as the row's error. So a
runner killed at any moment leaves every answer it received recorded, and the next one sends
only the rows without a line: at most the calls that were in flight are made twice.

Meanwhile the calling thread watches the registry: it renews the runner's claim (its heartbeat)
and stops the workers when a cancel is asked (from any process) or the claim is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from batchdash.api.gateway import Gateway
from batchdash.api.retry_policy import RetryPolicy
from batchdash.direct.adaptive_limit import DEFAULT_CONCURRENCY, AdaptiveLimit
from batchdash.direct.lines import answer_line, failed_line
from batchdash.direct.progress import DirectProgress
from batchdash.direct.rows import RowRequest
from batchdash.errors import ApiError, RateLimited
from batchdash.registry.direct_lines import CANCELLING, DirectLine
from batchdash.registry.records import DEFAULT_LEASE, LineCounts, Part
from batchdash.registry.store import Registry

#: How a part's run ended: every row has its line, a cancel stopped it, or it stopped with rows
#: left (asked to, or its claim went to another runner).
RunEnd = Literal["done", "cancelled", "stopped"]

#: Retries of one row: about a minute and a half of waits before its error is recorded.
DIRECT_RETRY_POLICY = RetryPolicy(attempts=8, first_wait=0.5, max_wait=30.0)


@dataclass(frozen=True)
class RunSettings:
    """How a direct run sends."""

    #: The most calls at once (the adaptive limit starts there and never goes above).
    concurrency: int = DEFAULT_CONCURRENCY
    #: Tries per row and the waits between them.
    retry_policy: RetryPolicy = DIRECT_RETRY_POLICY
    #: How long the runner's claim lasts unrenewed.
    lease: timedelta = DEFAULT_LEASE
    #: Seconds between two looks at the registry (a cancel, the claim).
    look_every: float = 0.5


@dataclass
class _Tally:
    """What this run did, guarded by the runner's lock."""

    answered: int = 0
    failed: int = 0
    calls: int = 0
    #: Calls of rows left without a line (in flight when the run stopped).
    stray_calls: int = 0
    #: Rows taken and left without a line (the run stopped while they waited).
    unanswered: int = 0
    #: The error that stopped the run (a refused key, an empty quota, the registry failing).
    fatal: BaseException | None = None


class PartRunner:
    """One run of one claimed direct part."""

    def __init__(
        self,
        registry: Registry,
        gateway: Gateway,
        part: Part,
        claim: str,
        endpoint: str,
        requests: Sequence[RowRequest],
        *,
        settings: RunSettings | None = None,
        recorded: LineCounts | None = None,
        on_progress: Callable[[DirectProgress], None] | None = None,
        stop: threading.Event | None = None,
        sleep_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._gateway = gateway
        self._part = part
        self._claim = claim
        self._endpoint = endpoint
        self._requests = list(requests)
        self._settings = settings = settings or RunSettings()
        self._recorded_before = recorded or LineCounts()  # the part's lines before this run
        self._on_progress = on_progress
        self._asked_to_stop = stop or threading.Event()
        self._stopped = threading.Event()
        self._workers_done = threading.Event()
        self._live_workers = 0
        self._clock = sleep_clock
        self._limit = AdaptiveLimit(settings.concurrency)
        self._lock = threading.Lock()
        self._next = 0
        self._tally = _Tally()

    @property
    def limit(self) -> AdaptiveLimit:
        """The run's adaptive limit (how far it went down, how often it was cut)."""
        return self._limit

    def run(self) -> RunEnd:
        """Send every row; how the run ended. On "done" and "cancelled" the claim is still
        held, for the caller to finish the part with; on "stopped" it was given back (or
        lost). Raises the error that stopped the run, the claim given back first so that a
        later run resumes."""
        workers = [
            threading.Thread(target=self._work, name=f"batchdash-direct-{i}", daemon=True)
            for i in range(min(self._settings.concurrency, max(len(self._requests), 1)))
        ]
        self._live_workers = len(workers)
        for worker in workers:
            worker.start()
        cancelled = lost = False
        try:
            cancelled, lost = self._watch()
        except BaseException:
            self._stop_workers(workers)
            self._give_back()
            raise
        self._stop_workers(workers)
        if self._on_progress is not None:
            self._on_progress(self.progress())  # the last word: every call came back
        if self._tally.fatal is not None:
            self._give_back()
            raise self._tally.fatal
        if lost:
            return "stopped"
        self._note_stray_calls()
        if cancelled:
            return "cancelled"
        if self._next < len(self._requests) or self._tally.unanswered:
            self._give_back()
            return "stopped"
        return "done"

    def progress(self) -> DirectProgress:
        """This run's progress as it stands (rows of the part only)."""
        before = self._recorded_before
        with self._lock:
            answered = before.ok + self._tally.answered
            failed = before.error + self._tally.failed
            calls = self._part.direct_calls + before.calls + self._tally.calls
        in_flight = self._limit.in_flight
        rows = self._part.requests
        return DirectProgress(
            rows=rows,
            answered=answered,
            failed=failed,
            cancelled=0,
            in_flight=in_flight,
            left=max(rows - answered - failed - in_flight, 0),
            calls=calls,
            concurrency=self._limit.limit,
            state="running",
        )

    # -- the watching thread ------------------------------------------------------------------

    def _watch(self) -> tuple[bool, bool]:
        """Look at the registry until the workers end: renew the claim (the heartbeat, which
        also notes the calls under way for readers elsewhere) and see a cancel; (cancelled,
        claim lost)."""
        cancelled = lost = False
        while not self._workers_done.wait(self._settings.look_every):
            state = self._registry.keep_direct_claim(
                self._part.id,
                self._claim,
                lease=self._settings.lease,
                in_flight=self._limit.in_flight,
                concurrency=self._limit.limit,
            )
            lost = state is None
            cancelled = cancelled or state == CANCELLING
            if cancelled or lost or self._asked_to_stop.is_set():
                self._stopped.set()
                self._limit.wake()
            if self._on_progress is not None:
                self._on_progress(self.progress())
        return cancelled, lost

    def _stop_workers(self, workers: list[threading.Thread]) -> None:
        self._stopped.set()
        self._limit.wake()
        for worker in workers:
            worker.join()

    def _give_back(self) -> None:
        self._note_stray_calls()
        self._registry.release_direct_part(self._part.id, self._claim)

    def _note_stray_calls(self) -> None:
        if self._tally.stray_calls:
            self._registry.note_direct_calls(self._part.id, self._tally.stray_calls)
            self._tally.stray_calls = 0

    # -- the workers --------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._send_rows()
        finally:
            with self._lock:
                self._live_workers -= 1
                if not self._live_workers:
                    self._workers_done.set()

    def _send_rows(self) -> None:
        while not self._stopped.is_set():
            ticket = self._limit.acquire(self._stopped)
            if ticket is None:
                return
            row = self._take_row()
            if row is None:
                self._limit.release(answered=False)
                return
            try:
                self._send(row, ticket)
            except BaseException as error:  # the registry failing: stop everything, say why
                with self._lock:
                    self._tally.fatal = self._tally.fatal or error
                self._stopped.set()
                self._limit.wake()
                return

    def _take_row(self) -> RowRequest | None:
        with self._lock:
            if self._next >= len(self._requests):
                return None
            self._next += 1
            return self._requests[self._next - 1]

    def _send(self, row: RowRequest, ticket: int) -> None:
        """Call for one row until it has its line, or the run stops."""
        custom_id, body = row
        policy = self._settings.retry_policy
        calls = 0
        while True:
            calls += 1
            with self._lock:
                self._tally.calls += 1
            try:
                answer = self._gateway.call_direct(self._endpoint, body)
            except RateLimited as error:
                if not error.retryable:  # no quota left: every row would fail alike
                    self._limit.release(answered=False)
                    self._left_unanswered(calls)
                    raise
                self._limit.push_back(ticket, error.retry_after)
                failure: ApiError = error
            except ApiError as error:
                self._limit.release(answered=False)
                if not error.retryable:  # a refused key: every row would fail alike
                    self._left_unanswered(calls)
                    raise
                failure = error
            except BaseException:
                self._limit.release(answered=False)
                self._left_unanswered(calls)
                raise
            else:
                # Recorded before its slot is freed: the rows called and not recorded are
                # never more than the slots, whenever the process is killed.
                try:
                    self._record(answer_line(custom_id, answer, calls))
                finally:
                    self._limit.release(answered=True)
                return
            if calls >= policy.attempts:
                self._record(failed_line(custom_id, failure, calls))
                return
            # A Retry-After also pauses every other call (the limit); a passing failure waits
            # a growing time before this row is tried again.
            if self._stopped.wait(policy.wait(calls, failure)):
                self._left_unanswered(calls)
                return
            next_ticket = self._limit.acquire(self._stopped)
            if next_ticket is None:
                self._left_unanswered(calls)
                return
            ticket = next_ticket

    def _record(self, line: DirectLine) -> None:
        self._registry.record_direct_line(self._part.id, line)
        with self._lock:
            if line.outcome == "ok":
                self._tally.answered += 1
            else:
                self._tally.failed += 1

    def _left_unanswered(self, calls: int) -> None:
        """A row stopped without a line: it is sent again later; its calls still count."""
        with self._lock:
            self._tally.stray_calls += calls
            self._tally.unanswered += 1
