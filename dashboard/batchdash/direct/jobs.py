"""Direct runs of a job service's jobs: created, run (or resumed), cancelled, repaired."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import pandas as pd

from batchdash.api.gateway import Gateway
from batchdash.direct.cancelling import cancel_direct, finish_cancelled, open_direct_parts
from batchdash.direct.progress import DirectProgress, direct_progress
from batchdash.direct.rows import unanswered_requests
from batchdash.direct.runner import PartRunner, RunEnd, RunSettings
from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.preflight.budget import SpentJob, check_spending
from batchdash.preflight.ids import custom_ids
from batchdash.preflight.part_requests import plan_rows
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, direct_price, price_for
from batchdash.providers.profiles import ProviderProfile
from batchdash.recipe import Recipe
from batchdash.registry.blobs import text_frame
from batchdash.registry.direct_lines import CANCELLING, DIRECT_KIND, SENDING
from batchdash.registry.holders import parse_holder, this_run
from batchdash.registry.records import Job, LineCounts, Part, PartSpec
from batchdash.registry.store import Registry


class JobServiceFace(Protocol):
    """What a direct run needs of the job service (`jobs.service.JobService`), named here so
    that the jobs package, which shows direct parts, and this one do not import each other."""

    @property
    def registry(self) -> Registry: ...
    @property
    def gateway(self) -> Gateway: ...
    @property
    def scope(self) -> str: ...
    @property
    def provider(self) -> ProviderProfile | None: ...
    @property
    def price_overrides(self) -> dict[str, ModelPrice]: ...

    def rows_to_repair(self, job_id: str, statuses: Iterable[str]) -> tuple[str, ...]:
        """The custom_ids of the rows with these statuses outside any open part."""
        ...

    def announce(self, job: Job) -> object:
        """The job's status (recording its state), and its events (finished, failed) for the
        notifications, told against `job` as it was before the run."""
        ...

    def statuses_of(self, jobs: list[Job]) -> Sequence[SpentJob]:
        """The statuses of these jobs of the scope (for the month's spend)."""
        ...


class DirectBusy(InputError):
    """Another live runner sends the job's direct rows."""


def is_direct_job(parts: Iterable[Part]) -> bool:
    """Whether the job runs directly: its first part is a direct one."""
    first = next(iter(parts), None)
    return first is not None and first.kind == DIRECT_KIND


def asked_concurrency(parts: Iterable[Part]) -> int | None:
    """The calls at once the job's last direct run was asked for (recorded when it claimed
    a part), or None when no run recorded it: a run resumed by another process keeps to it."""
    asked = [part.direct_ceiling for part in parts if part.kind == DIRECT_KIND]
    return next((ceiling for ceiling in reversed(asked) if ceiling), None)


class DirectJobs:
    """The direct runs of one job service's jobs (its registry, gateway, scope and provider)."""

    def __init__(self, service: JobServiceFace, settings: RunSettings | None = None) -> None:
        self.service = service
        self.settings = settings or RunSettings()
        self.registry = service.registry

    # -- creating -----------------------------------------------------------------------------

    def create(
        self, name: str, frame: pd.DataFrame, recipe: Recipe, *, source_name: str = ""
    ) -> str:
        """Save a job whose rows all go to the synchronous route (one direct part); its id.
        The same preflight as a batch job's; InputError when it blocks the job."""
        rows = text_frame(frame)
        plan = plan_batch(
            rows,
            recipe,
            price_overrides=self.service.price_overrides,
            provider=self.service.provider,
        )
        for problem in plan.problems:
            if problem.blocking:
                raise InputError(problem.message)
        check_spending(self.service, recipe, plan.rows, plan.input_tokens, self._price(recipe))
        spec = self._spec(plan, recipe, first_row=0, stop_row=len(rows))
        title = name.strip() or source_name or f"Direct job of {datetime.now(UTC):%Y-%m-%d %H:%M}"
        job = self.registry.create_job(
            self.service.scope, title, recipe, rows, source_name=source_name, parts=[spec]
        )
        return job.id

    def repair(self, job_id: str, statuses: Iterable[str]) -> int:
        """Plan the job's rows with these statuses as a new direct part; how many rows (run
        them with `run`). InputError when there is none outside a part still sending."""
        job = self._job(job_id)
        chosen = self.service.rows_to_repair(job.id, statuses)
        if not chosen:
            raise InputError(
                _l(
                    "No row of job {job_id} has one of the statuses picked outside a direct "
                    "run still sending; there is nothing to repair.",
                    job_id=job.id,
                )
            )
        return self.add_rows(job.id, chosen)

    def plan_rows(self, job_id: str, chosen: tuple[str, ...]) -> PartSpec:
        """The direct part these rows (by custom_id) would make: its requests, input tokens
        and cost at the normal price; nothing is saved."""
        job = self._job(job_id)
        rows = self.registry.job_rows(job.id)
        ids = custom_ids(rows, job.recipe.id_column)
        plan = plan_rows(
            rows,
            job.recipe,
            np.flatnonzero(ids.isin(set(chosen)).to_numpy(dtype=bool)),
            price_overrides=self.service.price_overrides,
            provider=self.service.provider,
        )
        return self._spec(plan, job.recipe, custom_ids=chosen)

    def add_rows(self, job_id: str, chosen: tuple[str, ...]) -> int:
        """Add these rows (by custom_id) to the job as a new direct part; how many (run them
        with `run`). A repair does this, and so does finishing an expiring batch directly."""
        job = self._job(job_id)
        spec = self.plan_rows(job.id, chosen)
        rows, tokens = spec.requests, spec.estimated_input_tokens or 0
        check_spending(self.service, job.recipe, rows, tokens, self._price(job.recipe))
        number = 1 + max(part.number for part in self.registry.parts(job.id))
        self.registry.add_part(job.id, spec, number=number)
        if job.state == "finished":
            self.registry.set_job_state(job.id, "active")
        return len(chosen)

    # -- running ------------------------------------------------------------------------------

    def run(
        self,
        job_id: str,
        *,
        on_progress: Callable[[DirectProgress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> DirectProgress:
        """Send the rows of the job's direct parts that have no line yet, part after part, in
        this thread; their progress at the end. Resumes whatever an earlier run left (killed
        or stopped); `stop` ends the run between calls (the rows left wait for the next).

        DirectBusy when a live runner (in this or another process) sends them now; an API
        error that stops every row (a refused key, no quota) is raised after the claim is
        given back."""
        job = self._job(job_id)
        if job.state == "new":
            self.registry.set_job_state(job.id, "active")
        holder = this_run().text()
        for part in open_direct_parts(self.registry.parts(job.id)):
            if stop is not None and stop.is_set():
                break
            if part.state == CANCELLING:
                finish_cancelled(self.registry, job, part)
                continue
            claim = self.registry.claim_direct_part(
                part.id, lease=self.settings.lease, holder=holder, ceiling=self.settings.concurrency
            )
            latest = self.registry.part(part.id)
            if claim is None:
                if latest.state != SENDING:
                    continue  # finished or cancelled meanwhile
                raise _busy(job, latest)
            if self._run_part(job, latest, claim, on_progress, stop) == "stopped":
                break
        # Records the job's state: a run that finished the job tells its end (nobody refreshes
        # a direct job, so no refresh would).
        self.service.announce(job)
        return self.progress(job.id)

    def _run_part(
        self,
        job: Job,
        part: Part,
        claim: str,
        on_progress: Callable[[DirectProgress], None] | None,
        stop: threading.Event | None,
    ) -> RunEnd:
        recorded = self.registry.direct_recorded_ids(part.id)
        try:
            requests = unanswered_requests(
                self.registry.job_rows(job.id),
                job.recipe,
                part,
                recorded,
                price_overrides=self.service.price_overrides,
                provider=self.service.provider,
            )
        except BaseException:
            self.registry.release_direct_part(part.id, claim)
            raise
        counts = self.registry.direct_line_counts([part.id]).get(part.id, LineCounts())
        runner = PartRunner(
            self.registry,
            self.service.gateway,
            part,
            claim,
            job.recipe.endpoint,
            requests,
            settings=self.settings,
            recorded=counts,
            on_progress=on_progress,
            stop=stop,
        )
        end = runner.run()
        if end == "cancelled":
            finish_cancelled(self.registry, job, part, claim)
        elif end == "done":
            self.registry.finish_direct_part(part.id, claim=claim)
        return end

    # -- cancelling and reading ---------------------------------------------------------------

    def cancel(self, job_id: str) -> int:
        """Stop the job's direct run, wherever it runs: no row is sent after its runner sees
        the cancel (between calls), and the unsent rows end as `cancelled`; the answers of the
        calls under way are kept. How many parts were still sending."""
        job = self._job(job_id)
        return cancel_direct(self.registry, job, self.registry.parts(job.id), _now())

    def progress(self, job_id: str) -> DirectProgress:
        """The job's direct parts summed, from the registry alone."""
        job = self._job(job_id)
        records = self.registry.job_records([job.id])[job.id]
        return direct_progress(records.parts, records.direct_lines, _now())

    def _job(self, job_id: str) -> Job:
        return self.registry.get_job(job_id.strip(), self.service.scope)

    def _spec(
        self,
        plan: BatchPlan,
        recipe: Recipe,
        *,
        first_row: int | None = None,
        stop_row: int | None = None,
        custom_ids: tuple[str, ...] = (),
    ) -> PartSpec:
        """A direct part of the plan's rows, its cost at the normal price (none on a server
        whose calls are free)."""
        price = self._price(recipe)
        cost = None if price is None else price.cost(plan.input_tokens, 0)
        return PartSpec(
            requests=plan.rows,
            kind=DIRECT_KIND,
            first_row=first_row,
            stop_row=stop_row,
            custom_ids=custom_ids,
            estimated_input_tokens=plan.input_tokens,
            estimated_cost_usd=cost,
        )

    def _price(self, recipe: Recipe) -> ModelPrice | None:
        """The normal (not batch) price of the recipe's model; nothing on a server whose calls
        are free; None when unknown."""
        return direct_price(
            price_for(recipe.model, self.service.price_overrides, self.service.provider)
        )


def _busy(job: Job, part: Part) -> DirectBusy:
    holder = parse_holder(part.claim_holder)
    who = holder.describe() if holder else _l("another process")
    return DirectBusy(
        _l(
            "Job {job_id} is being run directly by {who}; watch it with {status}, or stop it "
            "with {cancel}.",
            job_id=job.id,
            who=who,
            status=f"`cli.py status {job.id}`",
            cancel=f"`cli.py cancel {job.id}`",
        )
    )


def _now() -> datetime:
    return datetime.now(UTC)
