"""Batches the API made for a part besides the part's own: how the job service finds them.

How one appears: a create whose answer was lost (a timeout, a dropped connection, a 5xx) is
carried out by a very slow server only after the service waited, looked for the tagged batch,
found none and created the part's batch again. The part's recorded batch stays the one used; the
other would run, be billed, and its answers would never be read. The service cancels it (never
fetches or merges it), notes it on the part (`Registry.note_extra_batch`: the job's problems and
manifest show it) and tells the analyst once through `api_notices`.

Finding one costs no API call in the normal case, and little after a lost answer:

- Whenever a refresh lists the key's batches anyway (`batch_polling` does from `LIST_FROM`
  running batches on), every listed batch tagged with a part of the jobs being refreshed that is
  not that part's recorded batch is an extra. A late create nearly always lands after the
  part's batch was made, so it sits above it in the newest-first list the poll reads.
- Below `LIST_FROM` the poll retrieves batch by batch and sees nothing else. So the submitter
  records on the part when a create lost its answer (`Part.create_doubt_since`), and for `WATCH`
  after the part's batch was recorded the refreshes list the batches created since that create
  was sent: one list call for all such parts at once, at most every `WATCH_EVERY` seconds per
  service (a page refreshing every 3 s would otherwise double its calls, and each call can meet
  a fault of its own; an extra runs that much longer at worst). The doubt is kept in the registry,
  not in the service, because the submitter and the refresher are often different processes
  (`cli.py submit` then `status`, two app replicas, a restart). A create the server has not
  carried out `WATCH` after the part's batch was made is taken as never to be carried out.
  A job that finishes during a watch stays watched: `JobService.refresh_all` reads the jobs
  finished within `WATCH` too, for this alone.

Never taken for an extra: a batch recorded for any part of the registry (one the analyst
attached, a repair part's batch, another scope's), anything tagged with an attached part or with
a part whose batch is not recorded yet (its submitter is still looking), and batches tagged with
jobs not being refreshed (another scope's, or finished before their watch). A repair part is
tagged with its own number, so its batch is its own part's, never another part's extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from batchdash.api.batch_info import BatchInfo
from batchdash.api.batch_tags import tagged_part
from batchdash.i18n import Message, _l
from batchdash.registry.records import Part

#: How long after a doubtful part's batch was recorded the refreshes look for a late create.
WATCH = timedelta(minutes=15)
#: Seconds between two list calls of one service looking for late creates.
WATCH_EVERY = 30.0


def is_watched(part: Part, now: datetime) -> bool:
    """Whether refreshes still list the batches to look for a late create of this part."""
    return (
        part.create_doubt_since is not None
        and part.batch_id is not None
        and part.submitted_at is not None
        and part.kind != "attached"
        and now < part.submitted_at + WATCH
    )


def extras(listed: Iterable[BatchInfo], parts: Iterable[Part]) -> list[tuple[Part, BatchInfo]]:
    """The listed batches tagged with one of `parts` that are neither its recorded batch nor an
    extra noted already, each once (with the latest state listed), paired with the part."""
    known = list(parts)
    recorded = {part.batch_id for part in known}
    by_tag = {
        (part.job_id, part.number): part
        for part in known
        if part.batch_id is not None and part.kind != "attached"
    }
    found: dict[str, tuple[Part, BatchInfo]] = {}
    for info in listed:
        tag = tagged_part(info.metadata)
        part = by_tag.get(tag) if tag is not None else None
        if part is None or info.id in recorded or info.id in dict(part.extra_batches):
            continue
        found[info.id] = (part, info)
    return list(found.values())


def extra_note(
    provider: str | Message, extra: BatchInfo, kept: str, *, cancelled_here: bool
) -> Message:
    """What became of an extra batch, for the analyst (after "Part 2: ")."""
    said = {"provider": provider, "extra": extra.id, "kept": kept}
    if extra.status in ("cancelling", "cancelled") and cancelled_here:
        return _l(
            "{provider} made a second batch, {extra}, for it after a slow or lost answer; "
            "Batchdash cancelled it, and the part's answers come from {kept}.",
            **said,
        )
    if extra.status in ("cancelling", "cancelled"):
        return _l(
            "{provider} made a second batch, {extra}, for it after a slow or lost answer; it was "
            "cancelled, and the part's answers come from {kept}.",
            **said,
        )
    return _l(
        "{provider} made a second batch, {extra}, for it after a slow or lost answer; it had "
        "already ended ({status}) when Batchdash found it, so its answers are not used (the "
        "part's come from {kept}), but it may have been billed.",
        status=extra.status,
        **said,
    )
