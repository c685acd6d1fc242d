"""What a notification says, in the server's language (`BATCHDASH_LANG`, English by default):
nobody's page is open when the watcher sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from batchdash.i18n import Message, _l, n_l, server_default_language, use_language
from batchdash.jobs.announcing import UNANSWERED, unanswered
from batchdash.money import usd


def title(payload: dict[str, Any]) -> Message:
    """One line: an e-mail's subject, a card's heading."""
    name = payload.get("name") or ""
    event = payload.get("event")
    if event == "finished":
        return _l("Batchdash: job {name} finished", name=name)
    if event == "failed":
        return _l("Batchdash: job {name} ended with rows unanswered", name=name)
    if event == "expiring":
        return _l("Batchdash: job {name} nears its batches' expiry", name=name)
    return _l("Batchdash: a test notification")


def body(payload: dict[str, Any]) -> Message:
    """What happened and what to do, in a sentence or two (its figures written in the language
    in use when it is made: `text` makes it in the server's)."""
    counts: dict[str, int] = payload.get("counts") or {}
    rows = sum(counts.values())
    event = payload.get("event")
    if event == "finished":
        return n_l(
            "Job {name} ({job_id}) finished: its {n:,} row is answered. Cost: {cost}.",
            "Job {name} ({job_id}) finished: all {n:,} rows are answered. Cost: {cost}.",
            rows,
            name=payload["name"],
            job_id=payload["job_id"],
            cost=usd(payload.get("cost_usd")),
        )
    if event == "failed":
        # Status values stay as the merged table writes them (contract 6).
        detail = ", ".join(
            f"{status} {counts[status]:,}" for status in UNANSWERED if counts.get(status)
        )
        return _l(
            "Job {name} ({job_id}) ended with {unanswered:,} of {rows:,} rows unanswered "
            "({detail}). Cost: {cost}. Repair them on the Jobs page or with "
            "`python dashboard/cli.py repair {job_id}`.",
            name=payload["name"],
            job_id=payload["job_id"],
            unanswered=unanswered(counts),
            rows=rows,
            detail=detail,
            cost=usd(payload.get("cost_usd")),
        )
    if event == "expiring":
        when = datetime.fromtimestamp(int(payload.get("expires_at") or 0), UTC)
        return n_l(
            "Job {name} ({job_id}) still has {n:,} row running, and a batch of it expires at "
            "{when} UTC: a row not answered by then comes back as expired.",
            "Job {name} ({job_id}) still has {n:,} rows running, and a batch of it expires at "
            "{when} UTC: rows not answered by then come back as expired.",
            counts.get("pending", 0),
            name=payload["name"],
            job_id=payload["job_id"],
            when=when.strftime("%Y-%m-%d %H:%M"),
        )
    return _l("This address will be told when a job finishes, fails or nears its batches' expiry.")


def in_server_language(message: object) -> str:
    """A message (or an error carrying one) as the server's language writes it."""
    with use_language(server_default_language()):
        return str(message)


def text(payload: dict[str, Any]) -> str:
    """Title and body as one text, in the server's language (chat services show it whole)."""
    with use_language(server_default_language()):
        return f"{title(payload)}\n{body(payload)}"
