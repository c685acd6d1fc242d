"""How many calls a direct run has under way at once: AIMD, as TCP rides out congestion.

The limit starts at the concurrency asked for. A call the server pushes back (HTTP 429) halves
it, once per round: calls sent before the cut that come back 429 too do not cut it again. Each
run of `limit` answers in a row without a push-back raises it by one, up to the ceiling. A
`Retry-After` pauses every new call until it has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Calls at once a direct run asks for unless the analyst says otherwise (page, CLI, resume):
#: here, where the CLI's parser may import it without the runner.
DEFAULT_CONCURRENCY = 8
#: Longest wait between two looks at the stop flag while a caller waits for a slot.
_LOOK_EVERY = 0.5


class AdaptiveLimit:
    """Slots for calls; thread-safe."""

    def __init__(self, ceiling: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ceiling < 1:
            raise ValueError(f"the concurrency must be at least 1, not {ceiling}")
        #: The most calls at once (the concurrency asked for).
        self.ceiling = ceiling
        #: The calls allowed at once now.
        self.limit = ceiling
        #: The lowest the limit went.
        self.lowest = ceiling
        #: How many times a push-back cut the limit.
        self.cuts = 0
        self._clock = clock
        self._in_flight = 0
        self._tickets = 0
        self._cut_after = 0  # tickets up to this one were sent before the last cut
        self._calm = 0  # answers since the last change of the limit
        self._paused_until = 0.0
        self._changed = threading.Condition()

    @property
    def in_flight(self) -> int:
        """Calls under way."""
        return self._in_flight

    def acquire(self, stopped: threading.Event) -> int | None:
        """Wait for a free slot and the end of any pause; the call's ticket, or None once
        `stopped` is set."""
        with self._changed:
            while not stopped.is_set():
                pause = self._paused_until - self._clock()
                if pause <= 0 and self._in_flight < self.limit:
                    self._in_flight += 1
                    self._tickets += 1
                    return self._tickets
                self._changed.wait(min(pause, _LOOK_EVERY) if pause > 0 else _LOOK_EVERY)
        return None

    def release(self, *, answered: bool) -> None:
        """A call came back, answered (a refusal of the request included) or
        failed otherwise (a server error, a timeout: that changes nothing); a 429 goes to
        `push_back` instead."""
        with self._changed:
            self._in_flight -= 1
            if answered:
                self._calm += 1
                if self._calm >= self.limit and self.limit < self.ceiling:
                    self.limit += 1
                    self._calm = 0
            self._changed.notify_all()

    def push_back(self, ticket: int, retry_after: float | None) -> None:
        """The call of `ticket` came back 429."""
        with self._changed:
            self._in_flight -= 1
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, self._clock() + retry_after)
            if ticket > self._cut_after:
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self.cuts += 1
                self._cut_after = self._tickets
                self._calm = 0
            self._changed.notify_all()

    def wake(self) -> None:
        """Let every waiting caller look at its stop flag now."""
        with self._changed:
            self._changed.notify_all()
