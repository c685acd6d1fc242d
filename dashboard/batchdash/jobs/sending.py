"""Whether a job's parts are being sent, and what will become of those not sent yet.

A submitter records itself as the job's sender and holds each part it works on with a claim;
both name its process (`registry.holders`) and are renewed by its heartbeat. So a submission
under way is told from one that stopped at once when the sender ran on this machine, and
within a lease (`records.DEFAULT_LEASE`) when it ran on another one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType

from batchdash.i18n import Message, _l, n_l
from batchdash.registry.direct_lines import DIRECT_KIND
from batchdash.registry.holders import is_gone
from batchdash.registry.records import Job, Part

#: How long after a create lost its answer a refresh leaves the part alone: the API may still
#: carry that create out, and sending the part anew before then could make a second batch.
RESUME_AFTER = timedelta(seconds=60)

#: The error kept on a part the analyst discarded before it was sent.
DISCARDED = "Discarded before it was sent."

#: Seconds between two renewals of a submitter's hold (a few renewals fit in one lease).
HEARTBEAT_EVERY = 10.0


#: States of a part that waits to be sent (an exported one waits for an imported file).
SENDABLE = ("planned", "uploaded")


def unsent_parts(parts: Sequence[Part]) -> list[Part]:
    """Batch parts with no batch that were not refused or dropped, nor exported to run
    elsewhere (a direct part makes no batch: `batchdash.direct` sends it)."""
    return [
        part
        for part in parts
        if part.batch_id is None and part.state in SENDABLE and part.kind != DIRECT_KIND
    ]


def stopped_parts(parts: Sequence[Part]) -> list[Part]:
    """Unsent parts that do not wait for room under the enqueued-token limit
    (`jobs.token_queue`): a submission that left them stopped."""
    return [part for part in unsent_parts(parts) if part.queue_wait is None]


def is_sending(job: Job, parts: Sequence[Part], now: datetime) -> bool:
    """Whether a live submitter is sending the job: its sender, or a claim on an unsent part,
    is held by a process that still runs (as far as this machine can tell) and was renewed."""
    if job.sender_until is not None and job.sender_until > now and not is_gone(job.sender):
        return True
    return any(
        part.claim_expires_at is not None
        and part.claim_expires_at > now
        and not is_gone(part.claim_holder)
        for part in unsent_parts(parts)
    )


def resume_from(parts: Sequence[Part], now: datetime, grace: timedelta) -> datetime | None:
    """When a refresh may send the unsent parts, if not now: a create that lost its answer
    less than `grace` ago may still land, and the part's batch is looked for again first."""
    waits = [
        part.create_doubt_since + grace
        for part in unsent_parts(parts)
        if part.create_doubt_since is not None and part.create_doubt_since + grace > now
    ]
    return max(waits) if waits else None


def unsent_note(
    job: Job, parts: Sequence[Part], now: datetime, grace: timedelta
) -> tuple[str | Message, str | Message]:
    """What is not sent yet and what will happen to it, for the analyst, and how to act on it
    from the command line: ("", "") when all is sent.

    Every command named here is one `cli.py` accepts (a test checks it)."""
    unsent = unsent_parts(parts)
    if not unsent:
        return "", ""
    live = [part for part in parts if part.state != "failed"]
    count = n_l("{unsent} of {n} part", "{unsent} of {n} parts", len(live), unsent=len(unsent))
    send = f"`cli.py resume {job.id}`"
    drop = f"`cli.py discard {job.id}`"
    if job.state == "new":
        return (
            _l(
                "Nothing of this job was sent yet ({count}): its submission never started, so "
                "nothing was billed.",
                count=count,
            ),
            _l("Send it with {send}, or drop it with {drop}.", send=send, drop=drop),
        )
    if is_sending(job, parts, now):
        return _l("{count} not sent yet: sending now.", count=count), ""
    if not stopped_parts(parts):
        from batchdash.jobs.token_queue import queue_note  # it builds on this module

        return (
            queue_note(parts) or "",
            _l(
                "They are sent, in order, as earlier batches finish, at each refresh (the Jobs "
                "page, {status}).",
                status=f"`cli.py status {job.id}`",
            ),
        )
    wait = resume_from(parts, now, grace)
    if wait is not None:
        return (
            _l(
                "{count} not sent yet: a batch create got no answer and may still land, so "
                "Batchdash looks for that batch again at {wait} UTC before sending anything "
                "anew.",
                count=count,
                wait=f"{wait:%H:%M:%S}",
            ),
            _l("Send them at once with {send}.", send=send),
        )
    return (
        _l(
            "{count} not sent yet: their submission stopped, and Batchdash sends them at the "
            "next refresh.",
            count=count,
        ),
        _l("Send them at once with {send}, or drop them with {drop}.", send=send, drop=drop),
    )


class Heartbeat:
    """Calls `beat` every `every` seconds in a daemon thread while the `with` block runs.

    A beat that fails (the database busy for a moment) is tried again at the next one; the
    lease covers a few missed beats."""

    def __init__(self, beat: Callable[[], object], every: float = HEARTBEAT_EVERY) -> None:
        self._beat = beat
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batchdash-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                self._beat()
            except Exception:
                continue
