"""Trying an API call again after a busy or failing server, and saying so in plain words.

The SDK retries the calls that are safe to repeat (reading a batch, a list, a file) a few times
by itself. What it must not repeat blindly, creating a batch, is tried again here, by the job
service, after it has looked whether the call went through after all; and the service uses the
same patience when a refresh meets a server that stays busy longer than the SDK's retries last.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from batchdash.api.notices import notify
from batchdash.errors import ApiError, ApiTimeout
from batchdash.i18n import Message, _l

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is tried again after a retryable ApiError."""

    #: Tries in all, the first included.
    attempts: int = 6
    #: Seconds before the second try; doubled before each next one.
    first_wait: float = 2.0
    #: The longest wait of the doubling.
    max_wait: float = 60.0
    #: The longest `retry-after` honoured; a server asking for more is waited for this long.
    max_retry_after: float = 600.0

    def wait(self, failures: int, error: ApiError, *, timeout: float = 0.0) -> float:
        """Seconds to wait after the `failures`-th failure in a row.

        The server's `retry-after` when it gave one, else exponential backoff. After a timeout,
        at least `timeout` again: a call the server was still working on when the client gave
        up gets that long to land before anyone looks for what it did.
        """
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > 0:
            return min(float(retry_after), self.max_retry_after)
        backoff = min(self.first_wait * 2 ** (failures - 1), self.max_wait)
        if isinstance(error, ApiTimeout):
            return max(backoff, timeout)
        return backoff


def seconds_text(wait: float) -> Message:
    """A wait as the notices say it: whole seconds, at least 1 ("20 s", "20 秒")."""
    return _l("{seconds} s", seconds=max(math.ceil(wait), 1))


def retrying(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    describe: Callable[[ApiError, float], str | Message],
    timeout: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, tried again after each retryable ApiError while the policy allows.

    Before each wait the listeners are told `describe(error, wait)`; the last error is raised
    when the tries run out, and an error not worth retrying is raised at once.
    """
    failures = 0
    while True:
        try:
            return call()
        except ApiError as error:
            failures += 1
            if not error.retryable or failures >= policy.attempts:
                raise
            wait = policy.wait(failures, error, timeout=timeout)
            notify(describe(error, wait))
            sleep(wait)
