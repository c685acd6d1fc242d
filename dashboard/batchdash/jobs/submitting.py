"""The job service's ground floor and its first job: creating jobs and sending their parts.

A part moves planned -> uploaded (file id) -> created (batch id), each step recorded before
the next API call, and a batch is looked for by its tags before one is created: a rerun, a
double click, a crash or a second replica never creates a second batch for a part."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd

from batchdash.api.batch_info import BatchInfo
from batchdash.api.batch_tags import part_tag
from batchdash.api.gateway import Gateway
from batchdash.api.notices import listening_to_notices
from batchdash.api.retry_policy import RetryPolicy, retrying, seconds_text
from batchdash.errors import (
    ApiError,
    BadRequest,
    InputError,
    NotFound,
    RateLimited,
)
from batchdash.i18n import Message, _, _l
from batchdash.jobs import token_queue
from batchdash.jobs.sending import HEARTBEAT_EVERY, RESUME_AFTER, Heartbeat
from batchdash.jobs.status import JobStatus, RowTally
from batchdash.jobs.tidying import batch_input
from batchdash.preflight.budget import check_spending
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.part_requests import plan_jsonl, plan_rows, select_lines
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, price_for
from batchdash.preflight.provider_checks import batch_api_problem, completion_window
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe
from batchdash.registry.blobs import text_frame
from batchdash.registry.holders import this_run
from batchdash.registry.records import DEFAULT_LEASE, Claim, Job, Part, PartConflict, PartSpec
from batchdash.registry.store import Registry

#: Seconds of clock difference allowed between this machine and the API server when looking
#: for a batch created since a part was planned.
CLOCK_SLACK_SECONDS = 600

R = TypeVar("R")

#: How patiently the service rides out a busy or failing API (about two minutes of waits).
DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass
class _Sending:
    """What one `submit` learnt about a part across its attempts."""

    #: The part's JSONL, built once.
    data: bytes | None = None
    #: Set when an upload failed in a way that may have hidden its success (a timeout, a lost
    #: connection, a 5xx): unix seconds from which to look for the file before uploading again.
    upload_doubt: int | None = None


class JobSubmitting:
    """Jobs of one owner scope: created, and their parts sent."""

    def __init__(
        self,
        registry: Registry,
        gateway: Gateway,
        scope: str,
        *,
        price_overrides: Mapping[str, ModelPrice] | None = None,
        clock: Callable[[], float] = time.time,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        claim_lease: timedelta = DEFAULT_LEASE,
        provider: ProviderProfile | None = None,
    ) -> None:
        self.registry = registry
        #: The provider the gateway talks to (None: OpenAI's rules, as before profiles): its
        #: limits split new jobs, its windows and prices apply.
        self.provider = provider
        self.gateway = gateway
        #: Owner of the jobs this service sees (`settings.owner_scope`).
        self.scope = scope
        #: Tries and waits after a retryable API error.
        self.retry_policy = retry_policy
        #: How long a submitter's hold on a job and a part lasts unrenewed: after a crash on
        #: another machine, the part waits this long (on this machine, not at all).
        self.claim_lease = claim_lease
        #: How long after a create lost its answer a refresh leaves the part alone.
        self.resume_after = RESUME_AFTER
        self._price_overrides = dict(price_overrides or {})
        self._clock = clock
        self._sleep = sleep
        # JSONL makers of parts planned by this object, so a submit right after create_job or
        # repair does not plan the rows again; each is dropped once its part is uploaded.
        self._part_files: dict[tuple[str, int], Callable[[], bytes]] = {}
        # Per job: the registry state a tally was made from, and the tally.
        self._tallies: dict[str, tuple[Hashable, RowTally]] = {}
        # When this service last listed the batches to look for late creates (its clock).
        self._watch_listed_at: float | None = None

    @property
    def price_overrides(self) -> dict[str, ModelPrice]:
        """The analyst's prices per model, which go before the library's."""
        return self._price_overrides

    # -- creating and submitting ----------------------------------------------------------

    def create_job(
        self,
        name: str,
        frame: pd.DataFrame,
        recipe: Recipe,
        *,
        source_name: str = "",
        enqueued_token_limit: int | None = None,
        output_tokens_per_row: float | None = None,
    ) -> str:
        """Save a job and its planned parts; its id. InputError if the preflight blocks it.

        `output_tokens_per_row` is the answers' length projected from tried rows (None: no try);
        the Jobs and Results pages show the expected cost from it beside the actual one.
        """
        rows = text_frame(frame)
        if enqueued_token_limit is None:  # the one saved in Settings: every part must fit it
            limits = token_queue.token_limits(self.registry, self.scope)
            enqueued_token_limit = limits.get(recipe.model)
        plan = plan_batch(
            rows,
            recipe,
            enqueued_token_limit=enqueued_token_limit,
            price_overrides=self._price_overrides,
            provider=self.provider,
        )
        _raise_blocking(plan)
        price = price_for(recipe.model, self._price_overrides, self.provider)
        check_spending(self, recipe, plan.rows, plan.input_tokens, price)
        specs = [
            PartSpec(
                requests=part.requests,
                first_row=part.first_row,
                stop_row=part.stop_row,
                estimated_input_tokens=part.input_tokens,
                estimated_cost_usd=price.cost(part.input_tokens, 0) if price else None,
                estimated_output_tokens=(
                    None if output_tokens_per_row is None else output_tokens_per_row * part.requests
                ),
            )
            for part in plan.parts
        ]
        title = name.strip() or source_name or f"Job of {datetime.now(UTC):%Y-%m-%d %H:%M}"
        job = self.registry.create_job(
            self.scope, title, recipe, rows, source_name=source_name, parts=specs
        )
        for part in plan.parts:
            self._remember_part(job.id, part.number, plan, part.number)
        return job.id

    def statuses_of(self, jobs: list[Job]) -> list[JobStatus]:
        """The statuses of these jobs of the scope (worked out by the following layer)."""
        raise NotImplementedError

    def submit(
        self, job_id: str, *, on_progress: Callable[[int, int, str], None] | None = None
    ) -> list[str]:
        """Send every part that has no batch yet; the job's batch ids, by part number.

        `on_progress(done_parts, total_parts, message)` follows along, retry notices included
        ("Part 2: OpenAI is busy (rate limit); trying again in 20 s."). A part the server
        rejects (HTTP 400) is marked failed and the others go on; any other API error, once the
        retries run out, stops the submission and is raised, and submitting again later (or a
        refresh, once this process is gone or has stopped renewing its hold) resumes where it
        stopped.
        """
        job = self._job(job_id)
        refusal = batch_api_problem(self.provider)
        if refusal is not None:
            raise InputError(refusal.message)
        token_queue.refuse_oversized(self.registry, self.scope, job, self.registry.parts(job.id))
        holder = this_run().text()
        lease = self.claim_lease
        # Recorded before anything is sent: a refresh elsewhere sees a live process sending
        # the job and leaves it alone; once that process is gone, the refresh sends the rest.
        self.registry.start_sending(job_id, holder, lease=lease)
        if job.state == "new":
            self.registry.set_job_state(job_id, "active")
        parts = self.registry.parts(job_id)
        total = sum(part.state != "failed" for part in parts)
        done = sum(part.batch_id is not None for part in parts)
        report = on_progress or (lambda _done, _total, _message: None)
        report(done, total, _("{done} of {total} parts submitted.", done=done, total=total))

        def beat() -> None:
            self.registry.keep_sending(job_id, holder, lease=lease)

        try:
            with (
                # A few beats fit in one lease, however short a test makes it.
                Heartbeat(beat, min(HEARTBEAT_EVERY, lease.total_seconds() / 4)),
                listening_to_notices(lambda message: report(done, total, message)),
            ):
                while (
                    claim := self.registry.claim_next_part(job_id, lease=lease, holder=holder)
                ) is not None:
                    part = claim.part
                    if token_queue.holds_back(self, part):
                        self.registry.release_part(part.id, claim.token)
                        break  # it and the later parts wait for room under the limit
                    try:
                        self._note_takeover(claim)
                        batch_id = self._submit_part(job, part, claim.token)
                    except PartConflict:
                        continue  # another submitter took the part over; it records its batch
                    except BadRequest as error:
                        self.registry.mark_part_failed(part.id, str(error), claim=claim.token)
                        total -= 1
                        report(
                            done,
                            total,
                            _(
                                "Part {number} was rejected: {error}",
                                number=part.number,
                                error=error,
                            ),
                        )
                        continue
                    except BaseException:
                        self.registry.release_part(part.id, claim.token)
                        raise
                    done += 1
                    report(
                        done,
                        total,
                        _(
                            "Part {number} is batch {batch_id}.",
                            number=part.number,
                            batch_id=batch_id,
                        ),
                    )
        finally:
            self.registry.stop_sending(job_id, holder)
        parts = self.registry.parts(job_id)
        return [part.batch_id for part in parts if part.batch_id is not None]

    def _note_takeover(self, claim: Claim) -> None:
        """A part taken over from a submitter that stopped after recording its upload may have
        had its create in flight: noted as a create whose answer was lost, so the refreshes
        that follow look for a late twin and cancel it (see `extra_batches`)."""
        if claim.taken_over is not None and claim.part.state == "uploaded":
            self.registry.note_create_doubt(claim.part.id, claim.taken_over)

    def _submit_part(self, job: Job, part: Part, claim: str) -> str:
        if part.kind == "attached":
            raise BadRequest(_l("The attached batch was not recorded; attach it again by its id."))
        tag = part_tag(job.id, part.number)
        sending = _Sending()

        def attempt() -> BatchInfo:
            return self._find_or_create(job, self.registry.part(part.id), claim, tag, sending)

        batch = self._retrying(attempt, f"Part {part.number}")
        try:
            self.registry.mark_part_created(part.id, batch.id, claim=claim)
        except PartConflict:
            if self.registry.part(part.id).batch_id != batch.id and not batch.terminal:
                # The part went to another submitter (or was cancelled): ours must not run too.
                self._cancel_batch(batch.id)
            raise
        self.registry.save_snapshot(
            batch.id, batch.to_dict(), terminal=self.gateway.terminal_statuses
        )
        return batch.id

    def _find_or_create(
        self, job: Job, part: Part, claim: str, tag: dict[str, str], sending: _Sending
    ) -> BatchInfo:
        """One attempt at a part: the batch tagged with it if there is one, else a new one.

        Looking first is what makes trying again safe: a create that timed out (or a
        submitter that died) may have made the batch after all.
        """
        since = int(part.created_at.timestamp()) - CLOCK_SLACK_SECONDS
        batch = self.gateway.find_batch(tag, created_after=since)
        if batch is not None and batch.id not in dict(part.extra_batches):
            return batch  # (a noted batch, refused for the enqueued-token limit say, is not it)
        file_id = part.input_file_id
        if part.state == "planned" or file_id is None:
            file_id = self._upload(job, part, claim, sending)
        if not self.registry.keep_claim(part.id, claim, lease=self.claim_lease):
            # Held too long without a word (a machine asleep): another submitter has the part.
            raise PartConflict(
                _l(
                    "Part {number} of job {job_id} went to another submitter.",
                    number=part.number,
                    job_id=job.id,
                )
            )
        sent_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            window = completion_window(job.recipe, self.provider)
            return self.gateway.create_batch(file_id, job.recipe.endpoint, tag, window)
        except ApiError as error:
            if _may_have_landed(error):
                # Kept in the registry: whoever refreshes the job looks for a late twin.
                self.registry.note_create_doubt(part.id, sent_at)
            raise

    def _upload(self, job: Job, part: Part, claim: str, sending: _Sending) -> str:
        """Upload the part's file once (an earlier attempt's file is reused if it landed)."""
        name = f"{job.id}-part-{part.number:04d}.jsonl"
        if sending.data is None:
            sending.data = self._part_file(job, part)
        file_id = None
        if sending.upload_doubt is not None:
            # A server that cannot list files so gets the upload again (never billed).
            with contextlib.suppress(BadRequest, NotFound):
                file_id = self.gateway.find_file(name, len(sending.data), sending.upload_doubt)
        if file_id is None:
            started = int(self._clock()) - CLOCK_SLACK_SECONDS
            try:
                file_id = self.gateway.upload_part(name, sending.data, retry=False)
            except ApiError as error:
                if _may_have_landed(error):
                    sending.upload_doubt = min(started, sending.upload_doubt or started)
                raise
        self.registry.mark_part_uploaded(part.id, file_id, claim=claim)
        self._part_files.pop((job.id, part.number), None)
        return file_id

    def _part_file(self, job: Job, part: Part) -> bytes:
        """The JSONL of a part, built again from the job's rows (or its attached batch's file)."""
        remembered = self._part_files.get((job.id, part.number))
        if remembered is not None:
            return remembered()
        attached = [p for p in self.registry.parts(job.id) if p.kind == "attached"]
        if attached and attached[0].input_file_id:
            batch = attached[0].batch_id or ""
            original = batch_input(self.gateway, attached[0].input_file_id, batch)
            return select_lines(original, part.custom_ids)
        rows = self.registry.job_rows(job.id)
        positions: np.ndarray | slice = slice(part.first_row, part.stop_row)
        if part.custom_ids:
            ids = custom_ids(rows, job.recipe.id_column)
            positions = np.flatnonzero(ids.isin(set(part.custom_ids)).to_numpy(dtype=bool))
        plan = plan_rows(
            rows,
            job.recipe,
            positions,
            price_overrides=self._price_overrides,
            provider=self.provider,
        )
        return plan_jsonl(plan)

    def _remember_part(self, job_id: str, number: int, plan: BatchPlan, index: int) -> None:
        """Part `number` of the job is part `index` of `plan`."""
        self._part_files[(job_id, number)] = lambda: plan.part_bytes(index)

    def _retrying(self, call: Callable[[], R], doing: str | Message) -> R:
        """`call()` with the service's retries, each told as "<doing>: <reason>; trying again"."""

        def describe(error: ApiError, wait: float) -> Message:
            reason = self.gateway.retry_reason(error)
            return _l(
                "{doing}: {reason}; trying again in {wait}.",
                doing=doing,
                reason=reason,
                wait=seconds_text(wait),
            )

        return retrying(
            call,
            policy=self.retry_policy,
            describe=describe,
            timeout=self.gateway.timeout,
            sleep=self._sleep,
        )

    def _cancel_batch(self, batch_id: str) -> BatchInfo:
        try:
            return self.gateway.cancel_batch(batch_id)
        except BadRequest:
            # Refused when the batch finished since the last refresh: then there is no error.
            info = self.gateway.retrieve_batch(batch_id)
            if info.terminal or info.status == "cancelling":
                return info
            raise

    def _job(self, job_id: str) -> Job:
        return self.registry.get_job(job_id.strip(), self.scope)

    def _own_job_of(self, batch_id: str, job_id: str) -> str:
        """`job_id` when it is this scope's; a batch followed under another key or user is
        refused without naming that job."""
        try:
            return self._job(job_id).id
        except InputError:
            raise InputError(
                _l(
                    "Batch {batch_id} is already followed in Batchdash under another API key or user, so "
                    "it cannot be attached here. Ask whoever submitted it for its results.",
                    batch_id=batch_id,
                )
            ) from None


def _may_have_landed(error: ApiError) -> bool:
    """Whether a call that failed so may have been carried out unseen: a 429 was refused
    outright, but after a timeout, a lost connection or a 5xx the server may have acted."""
    return error.retryable and not isinstance(error, RateLimited)


def _raise_blocking(plan: BatchPlan) -> None:
    for problem in plan.problems:
        if problem.blocking:
            raise InputError(problem.message)
