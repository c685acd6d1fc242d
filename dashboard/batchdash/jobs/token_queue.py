"""The queue for the organisation's enqueued-token limit: which unsent parts may be sent now.

OpenAI limits, per model, the input tokens of an organisation's batches that are not finished
yet; a batch over the limit fails validation with `token_limit_exceeded`. No API reports the
limit, so the analyst enters it in Settings (`queue.limits`, saved per scope so a watcher with
no page open reads it too). Parts that do not fit wait in their job, still planned, with the
reason recorded on them (`Part.queue_wait`); every refresh (the Jobs page, `status`, the
watcher) sends, in order, those that fit once earlier batches finish. A batch refused for the
limit anyway (the limit set too high, other keys' batches) puts its part back in the queue.

The batches counted are this scope's: a key's other users and other keys of the organisation
are invisible here, which is what `token_limit_exceeded` requeueing is for. The queue is first
in, first out per model: a part that waits holds back the later ones, so a big part is never
starved by small ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from batchdash.api.batch_info import BatchInfo
from batchdash.api.notices import notify
from batchdash.errors import BatchdashError, InputError
from batchdash.i18n import Message, _l, english, n_l
from batchdash.i18n.formatting import babel_locale
from batchdash.jobs.sending import is_sending, unsent_parts
from batchdash.registry.claims import OPEN_STATES
from batchdash.registry.records import Job, Part

if TYPE_CHECKING:
    from batchdash.jobs.following import JobFollowing
    from batchdash.jobs.status import JobView
    from batchdash.jobs.submitting import JobSubmitting
    from batchdash.registry.store import Registry

#: The preference holding the limits: {model: tokens}.
QUEUE_LIMITS = "queue.limits"
#: The validation error code of a batch over the limit.
REFUSED_CODE = "token_limit_exceeded"
#: Seconds before a part refused for the limit is tried again when none of this scope's
#: batches of its model were running then: other keys' batches filled the limit, and nothing
#: seen from here says when they finish.
REFUSED_RETRY_SECONDS = 300.0


class Tokens(int):
    """A number of tokens written short, as the language in use writes it ("1.2M", "120万"),
    when the message holding it is shown."""

    def __format__(self, spec: str) -> str:
        from babel.numbers import format_compact_decimal

        return format_compact_decimal(int(self), locale=babel_locale(), fraction_digits=1)

    def __str__(self) -> str:
        return format(self, "")


@dataclass(frozen=True)
class QueueWait:
    """Why an unsent part waits, with the figures of the moment it was last looked at."""

    #: The part's model.
    model: str
    #: Its input tokens.
    tokens: int
    #: Input tokens of this scope's unfinished batches of the model (and parts being sent).
    queued: int
    #: The limit set in Settings (None: none is set, and the API refused the part's batch).
    limit: int | None
    #: Whether the API refused a batch of the part for the limit.
    refused: bool = False
    #: When it was refused (unix seconds).
    refused_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueWait:
        return cls(
            model=str(data["model"]),
            tokens=int(data["tokens"]),
            queued=int(data["queued"]),
            limit=None if data.get("limit") is None else int(data["limit"]),
            refused=bool(data.get("refused")),
            refused_at=None if data.get("refused_at") is None else float(data["refused_at"]),
        )

    def to_free(self) -> int:
        """Tokens that must finish before the part fits (0 when it is held back by an earlier
        part only, or the API alone knows)."""
        return 0 if self.limit is None else max(0, self.queued + self.tokens - self.limit)

    def too_big(self) -> bool:
        """Whether the part alone is over the limit: it can never be sent."""
        return self.limit is not None and self.tokens > self.limit

    def says(self, number: int) -> Message:
        """The wait in one sentence, for the analyst."""
        if self.too_big():
            return too_big_message(number, self.tokens, self.model, self.limit or 0)
        if self.limit is None:
            return _l(
                "Part {number} waits: the API refused its batch because {model}'s enqueued-token "
                "limit was full; it is sent again once earlier batches of {model} finish.",
                number=number,
                model=self.model,
            )
        if self.to_free() == 0:
            return _l(
                "Part {number} waits for the parts before it under {model}'s limit of {limit} "
                "enqueued tokens.",
                number=number,
                model=self.model,
                limit=Tokens(self.limit),
            )
        return _l(
            "Part {number} waits for {needed} enqueued tokens to free up under {model}'s limit "
            "of {limit}.",
            number=number,
            needed=Tokens(self.to_free()),
            model=self.model,
            limit=Tokens(self.limit),
        )


def waiting_parts(parts: Sequence[Part]) -> list[Part]:
    """The unsent parts that wait for room under the limit."""
    return [part for part in unsent_parts(parts) if part.queue_wait is not None]


def queue_note(parts: Sequence[Part]) -> Message | None:
    """What waits for room under the limit and why, in a sentence or two (None: nothing)."""
    waiting = waiting_parts(parts)
    if not waiting:
        return None
    first = waiting[0]
    said = QueueWait.from_dict(dict(first.queue_wait or ())).says(first.number)
    later = len(waiting) - 1
    if not later:
        return said
    return n_l(
        "{first} {n} later part waits behind it.",
        "{first} {n} later parts wait behind it.",
        later,
        first=said,
    )


def wait_of(part: Part) -> QueueWait | None:
    return None if part.queue_wait is None else QueueWait.from_dict(dict(part.queue_wait))


# -- the limits, as Settings saves them --------------------------------------------------------


def token_limits(registry: Registry, scope: str) -> dict[str, int]:
    """The scope's limit per model (tokens), as saved in Settings."""
    saved = registry.preference(scope, QUEUE_LIMITS, {}) or {}
    return {str(model): int(tokens) for model, tokens in saved.items()}


def save_token_limits(registry: Registry, scope: str, limits: Mapping[str, int]) -> None:
    """Save the scope's limits (an empty mapping removes them all)."""
    clean = {model.strip(): int(tokens) for model, tokens in limits.items() if model.strip()}
    registry.set_preference(scope, QUEUE_LIMITS, clean or None)


# -- deciding ----------------------------------------------------------------------------------


@dataclass
class _Flight:
    """Input tokens in flight per model, and the models whose queue a waiting part holds."""

    tokens: dict[str, int]
    blocked: set[str]


def _in_flight(
    registry: Registry, jobs: Sequence[Job], terminal: frozenset[str], now: datetime, deciding: int
) -> tuple[_Flight, list[tuple[Job, Part]]]:
    """Tokens of the jobs' unfinished batches and of parts being sent, per model, and the
    unsent parts still to decide (oldest job first, by number), `deciding` among them."""
    records = registry.job_records([job.id for job in jobs])
    flight = _Flight({}, set())
    undecided: list[tuple[Job, Part]] = []
    for job in sorted(jobs, key=lambda job: job.created_at):
        model = job.recipe.model
        record = records[job.id]
        statuses = {snapshot.batch_id: snapshot.status for snapshot in record.snapshots}
        unsent = {part.id for part in unsent_parts(record.parts) if part.kind != "attached"}
        for part in record.parts:
            tokens = part.estimated_input_tokens or 0
            if part.batch_id is not None:
                if statuses.get(part.batch_id) not in terminal:
                    flight.tokens[model] = flight.tokens.get(model, 0) + tokens
            elif part.id != deciding and _being_sent(part, now):
                flight.tokens[model] = flight.tokens.get(model, 0) + tokens
            elif part.id in unsent and (job.state == "active" or part.id == deciding):
                undecided.append((job, part))
    return flight, undecided


def _being_sent(part: Part, now: datetime) -> bool:
    return (
        part.state in OPEN_STATES
        and part.claim_expires_at is not None
        and part.claim_expires_at > now
    )


def _decide(
    flight: _Flight, job: Job, part: Part, limits: Mapping[str, int], clock: float
) -> QueueWait | None:
    """Whether the part may go now (None) or waits (why), counting it in flight if it goes."""
    model = job.recipe.model
    tokens = part.estimated_input_tokens or 0
    queued = flight.tokens.get(model, 0)
    limit = limits.get(model)
    earlier = wait_of(part)
    refused = earlier is not None and earlier.refused
    refused_at = earlier.refused_at if earlier is not None else None
    if limit is not None and tokens > limit:
        # Never fits (`refuse_oversized` says so at submit): shown, but holds nobody back.
        return QueueWait(model, tokens, queued, limit)
    fits = limit is None or queued + tokens <= limit
    if refused and earlier is not None:
        # The API said the queue was full: wait until something of the model has finished.
        retry = (earlier.refused_at or 0.0) + REFUSED_RETRY_SECONDS
        fits = fits and (queued < earlier.queued or clock >= retry)
    if fits and model not in flight.blocked:
        flight.tokens[model] = queued + tokens
        return None
    flight.blocked.add(model)
    return QueueWait(model, tokens, queued, limit, refused=refused, refused_at=refused_at)


def plan_waits(
    registry: Registry,
    scope: str,
    terminal: frozenset[str],
    now: datetime,
    *,
    limits: Mapping[str, int],
    deciding: int = -1,
) -> list[tuple[Part, QueueWait | None]]:
    """Every unsent part of the scope's active jobs (and part `deciding`), as recorded, with
    None when it may be sent now, else why it waits."""
    flight, undecided = _scope_flight(registry, scope, terminal, now, deciding)
    clock = now.timestamp()
    return [(part, _decide(flight, job, part, limits, clock)) for job, part in undecided]


def _scope_flight(
    registry: Registry, scope: str, terminal: frozenset[str], now: datetime, deciding: int = -1
) -> tuple[_Flight, list[tuple[Job, Part]]]:
    jobs = [
        job for job in registry.list_jobs(scope, include_archived=True) if job.state != "finished"
    ]
    return _in_flight(registry, jobs, terminal, now, deciding)


def _recorded(wait: QueueWait | None) -> tuple[tuple[str, Any], ...] | None:
    """A wait as `Part.queue_wait` holds it."""
    return None if wait is None else tuple(sorted(wait.to_dict().items()))


def _record(registry: Registry, decided: Iterable[tuple[Part, QueueWait | None]]) -> None:
    """Record the waits that changed (most refreshes change none, and write nothing)."""
    changes = {
        part.id: None if wait is None else wait.to_dict()
        for part, wait in decided
        if _recorded(wait) != part.queue_wait
    }
    if changes:
        registry.note_queue_waits(changes)


# -- what the job service calls ----------------------------------------------------------------


def refuse_oversized(registry: Registry, scope: str, job: Job, parts: Iterable[Part]) -> None:
    """InputError, with the figures and what to do, when an unsent part of the job alone holds
    more input tokens than its model's limit: no batch of it could ever be accepted."""
    limit = token_limits(registry, scope).get(job.recipe.model)
    if limit is None:
        return
    for part in unsent_parts(list(parts)):
        tokens = part.estimated_input_tokens or 0
        if tokens > limit:
            raise InputError(too_big_message(part.number, tokens, job.recipe.model, limit))


def too_big_message(number: int, tokens: int, model: str, limit: int) -> Message:
    return _l(
        "Part {number} holds {tokens:,} input tokens, more than {model}'s enqueued-token limit "
        "of {limit:,}, so no batch of it can be accepted. Submit the table again as a new job "
        "(Batchdash splits it into parts that fit the limit), or raise the limit in Settings "
        "if your organisation's is higher.",
        number=number,
        tokens=tokens,
        model=model,
        limit=limit,
    )


def holds_back(service: JobSubmitting, part: Part) -> bool:
    """Whether the part, just claimed by a submitter, must wait for room (its wait and the
    later parts' are recorded) instead of being sent now."""
    limits = token_limits(service.registry, service.scope)
    if not limits and part.queue_wait is None:
        return False  # no limit set, and the API refused nothing of it: nothing holds it back
    now = datetime.fromtimestamp(service._clock(), UTC)
    terminal = frozenset(service.gateway.terminal_statuses)
    decided = plan_waits(
        service.registry, service.scope, terminal, now, limits=limits, deciding=part.id
    )
    _record(service.registry, decided)
    return any(wait is not None for held, wait in decided if held.id == part.id)


def requeue_refused(service: JobFollowing, views: Sequence[JobView]) -> set[str]:
    """Put back in the queue every part whose batch failed for the enqueued-token limit; the
    ids of the jobs changed."""
    changed: set[str] = set()
    refused = [
        (view, part, info)
        for view in views
        for part in view.parts
        if (info := view.infos.get(part.batch_id or "")) is not None and _refused(info)
    ]
    if not refused:
        return changed
    clock = service._clock()
    now = datetime.fromtimestamp(clock, UTC)
    terminal = frozenset(service.gateway.terminal_statuses)
    flight, _undecided = _scope_flight(service.registry, service.scope, terminal, now)
    limits = token_limits(service.registry, service.scope)
    for view, part, info in refused:
        model = view.job.recipe.model
        wait = QueueWait(
            model,
            part.estimated_input_tokens or 0,
            flight.tokens.get(model, 0),
            limits.get(model),
            refused=True,
            refused_at=clock,
        )
        note = _l(
            "Batch {batch_id} was refused because {model}'s enqueued-token limit was full "
            "(token_limit_exceeded); the part went back in the queue and is sent again as "
            "room frees up.",
            batch_id=info.id,
            model=view.job.recipe.model,
        )
        if service.registry.requeue_refused_part(part.id, info.id, wait.to_dict(), english(note)):
            notify(
                _l(
                    "Job {job}, part {number}: {note}",
                    job=view.job.name,
                    number=part.number,
                    note=note,
                )
            )
            changed.add(view.job.id)
    return changed


def _refused(info: BatchInfo) -> bool:
    return info.status == "failed" and any(error.code == REFUSED_CODE for error in info.errors)


def move_queue(service: JobFollowing, views: Sequence[JobView]) -> set[str]:
    """What a refresh does for the queue: parts refused for the limit go back in it, waits are
    recorded, and the jobs with parts that fit now are sent; the ids of the jobs changed."""
    changed = requeue_refused(service, views)
    limits = token_limits(service.registry, service.scope)
    queued = any(part.queue_wait is not None for view in views for part in view.parts)
    if not (limits or changed or queued):
        return changed  # no limit set and nothing refused: a refresh costs no more than before
    now = datetime.fromtimestamp(service._clock(), UTC)
    terminal = frozenset(service.gateway.terminal_statuses)
    decided = plan_waits(service.registry, service.scope, terminal, now, limits=limits)
    _record(service.registry, decided)
    # Only parts that waited are sent here; a submission that stopped is resumed by the
    # refresh's own rules (`JobFollowing._interrupted`).
    fit = {part.job_id for part, wait in decided if part.queue_wait is not None and wait is None}
    moved = {part.job_id for part, wait in decided if _recorded(wait) != part.queue_wait}
    for view in views:
        if view.job.id in moved:
            changed.add(view.job.id)
        if view.job.id not in fit or view.job.state != "active":
            continue
        if is_sending(view.job, service.registry.parts(view.job.id), now):
            continue
        notify(
            _l(
                "Job {job}: sending the parts that fit under the enqueued-token limit now.",
                job=view.job.name,
            )
        )
        try:
            service.submit(view.job.id)
        except BatchdashError as error:
            notify(
                _l(
                    "Job {job}: the waiting parts could not be sent yet: {error}",
                    job=view.job.name,
                    error=error,
                )
            )
    return changed
