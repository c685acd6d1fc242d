"""Fresh snapshots of the active batches, in as few API calls as possible.

A few batches are retrieved one by one. From `LIST_FROM` active batches on, the list of the
key's batches (newest first, 100 a page) is read instead: one call usually covers them all.
Listing stops at the first batch older than the oldest one wanted, and never reads more pages
than it has found batches, so it costs at most one call per batch plus one; whatever it did not
find is then retrieved on its own. Every batch a list call showed, wanted or not, can be handed
back to the caller, who looks among them for extra batches (`extra_batches`) at no extra call.
"""

from __future__ import annotations

from collections.abc import Mapping

from batchdash.api.batch_info import BatchInfo
from batchdash.api.gateway import Gateway

#: From this many active batches on, one list call replaces the retrieves.
LIST_FROM = 4
#: Batches per page of the list (the API's maximum).
PAGE_SIZE = 100


def poll_batches(
    gateway: Gateway, wanted: Mapping[str, int], *, listed: list[BatchInfo] | None = None
) -> dict[str, BatchInfo]:
    """The current state of each batch of `wanted` (batch id -> its `created_at`, 0 if unknown).

    Every batch the list calls showed is appended to `listed`, when given.
    """
    found: dict[str, BatchInfo] = {}
    if len(wanted) >= LIST_FROM:
        found = _listed(gateway, wanted, [] if listed is None else listed)
    for batch_id in wanted:
        if batch_id not in found:
            found[batch_id] = gateway.retrieve_batch(batch_id)
    return found


def _listed(
    gateway: Gateway, wanted: Mapping[str, int], listed: list[BatchInfo]
) -> dict[str, BatchInfo]:
    oldest = min(wanted.values())
    found: dict[str, BatchInfo] = {}
    for seen, info in enumerate(gateway.list_batches(limit=PAGE_SIZE), start=1):
        listed.append(info)
        if info.created_at < oldest:
            break  # newest first: none of the wanted batches is further down
        if info.id in wanted:
            found[info.id] = info
            if len(found) == len(wanted):
                break
        # At the end of a page, read the next one only while pages cost fewer calls than
        # the retrieves they save.
        if seen % PAGE_SIZE == 0 and seen // PAGE_SIZE + 1 > len(found):
            break
    return found
