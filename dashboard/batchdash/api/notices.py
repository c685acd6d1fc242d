"""Plain-words notices while the API misbehaves, for whoever is waiting on a call.

A call that meets a busy or failing server is retried (by the SDK, or by the job service), and
the analyst waiting on it is told why it takes longer: "OpenAI is busy (rate limit), retrying
in 20 s." The gateway and the job service `notify`; a page or the CLI wraps its calls in
`listening_to_notices(...)` to show the notices. Listeners are kept per thread (a context variable), so one
gateway shared by every session of a Streamlit app tells each session only about its own calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from batchdash.i18n import Message

#: listener(sentence)
NoticeListener = Callable[[str], None]

log = logging.getLogger(__name__)

_listeners: ContextVar[tuple[NoticeListener, ...]] = ContextVar(
    "batchdash_notice_listeners", default=()
)


@contextmanager
def listening_to_notices(listener: NoticeListener) -> Iterator[None]:
    """Send every notice of this block (this thread) to `listener`, besides any outer listener."""
    token = _listeners.set((*_listeners.get(), listener))
    try:
        yield
    finally:
        _listeners.reset(token)


def notify(message: str | Message) -> None:
    """Tell the listeners of the current thread (and the log) one plain sentence, in the
    language of the thread's work (the page's or the command's)."""
    text = str(message)
    log.info("%s", text)
    for listener in _listeners.get():
        listener(text)
