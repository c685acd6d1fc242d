"""Acting on a job: resuming or discarding what a stopped submission left, finding the job a
table was already submitted as, cancelling it or one batch, repairing rows, attaching a batch
made elsewhere, archiving."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from batchdash.direct.cancelling import cancel_direct
from batchdash.errors import (
    InputError,
)
from batchdash.i18n import _l
from batchdash.jobs.attached import attached_rows
from batchdash.jobs.following import JobFollowing
from batchdash.jobs.repair import (
    REPAIRABLE,
    RepairPlan,
    checked_statuses,
    refused_again,
    repair_parts,
    rows_to_repair,
)
from batchdash.jobs.sending import DISCARDED, unsent_parts
from batchdash.jobs.status import (
    JobStatus,
    pending_rows,
    projected_output_per_row,
)
from batchdash.jobs.tidying import batch_input
from batchdash.preflight import limits
from batchdash.preflight.budget import check_spending
from batchdash.preflight.part_requests import plan_rows
from batchdash.preflight.plan import BatchPlan
from batchdash.preflight.pricing import price_for
from batchdash.registry.direct_lines import DIRECT_KIND
from batchdash.registry.records import Job, PartConflict, PartSpec
from batchdash.wording import alternatives


class JobActing(JobFollowing):
    """Jobs of one owner scope, acted on."""

    # -- acting on a job -------------------------------------------------------------------

    def cancel(self, job_id: str, batch_id: str | None = None) -> int:
        """Cancel one running batch of the job, or all of them, any part not yet sent and any
        direct run (its runner stops sending wherever it runs; see `batchdash.direct`).

        Returns how many batches and unsent parts it stopped: 0 when everything had already
        finished (a batch that ends while the analyst confirms is not cancelled, and is no error).
        """
        view = self._view(self._job(job_id))
        stopped = 0
        if batch_id is not None and batch_id not in {p.batch_id for p in view.parts}:
            raise InputError(
                _l(
                    "Batch {batch_id} is not part of job {job_id}; pick one of its batches.",
                    batch_id=batch_id,
                    job_id=job_id,
                )
            )
        changed: dict[str, dict[str, Any]] = {}
        if batch_id is None:
            now = datetime.fromtimestamp(self._clock(), UTC)
            stopped += cancel_direct(self.registry, view.job, view.parts, now)
        for part in view.parts:
            if part.kind == DIRECT_KIND:
                continue  # cancelled above, through the registry
            if batch_id is None and part.batch_id is None and part.state != "failed":
                self.registry.mark_part_failed(
                    part.id, "The job was cancelled before this part was sent."
                )
                stopped += 1
            if part.batch_id is None or batch_id not in (None, part.batch_id):
                continue
            info = view.infos.get(part.batch_id)
            if info is None or not (info.terminal or info.status == "cancelling"):
                after = self._cancel_batch(part.batch_id)
                changed[part.batch_id] = after.to_dict()
                stopped += after.status in ("cancelling", "cancelled")
        self.registry.save_snapshots(changed, terminal=self.gateway.terminal_statuses)
        return stopped

    def unfinished_twin(self, fingerprint: str) -> JobStatus | None:
        """The newest unfinished job of the scope with this fingerprint of rows and recipe
        (`fingerprints.table_fingerprint`), if any: a table submitted again is that job, to
        resume rather than pay for twice."""
        for job in self.registry.unfinished_jobs_like(self.scope, fingerprint):
            status = self.status(job.id)
            if status.state == "active":
                return status
        return None

    def resume(
        self, job_id: str, *, on_progress: Callable[[int, int, str], None] | None = None
    ) -> list[str]:
        """Send the parts a stopped (or never started) submission left; as `submit`.

        InputError when every part has its batch, or was refused or discarded."""
        job = self._job(job_id)
        if not unsent_parts(self.registry.parts(job.id)):
            raise InputError(
                _l(
                    "Job {job_id} has no part waiting to be sent: each has its batch, or was refused or "
                    "discarded. See it with `cli.py status {job_id}`.",
                    job_id=job.id,
                )
            )
        return self.submit(job.id, on_progress=on_progress)

    def discard(self, job_id: str) -> int:
        """Drop the job's parts not sent yet, so that nothing sends them; how many.

        A job of which nothing was sent is archived too: nothing of it was billed, and it
        leaves the list (Show archived still finds it, rows and all). InputError when no part
        waits to be sent."""
        job = self._job(job_id)
        parts = self.registry.parts(job.id)
        unsent = unsent_parts(parts)
        if not unsent:
            raise InputError(
                _l(
                    "Job {job_id} has no part waiting to be sent, so there is nothing to discard. To "
                    "stop its running batches, use `cli.py cancel {job_id}`.",
                    job_id=job.id,
                )
            )
        for part in unsent:
            self.registry.mark_part_failed(part.id, DISCARDED)
        if not any(part.batch_id for part in parts):
            self.registry.archive_job(job.id, self.scope)
        self.status(job.id)  # records the job's new state
        return len(unsent)

    def rows_to_repair(self, job_id: str, statuses: Iterable[str] = REPAIRABLE) -> tuple[str, ...]:
        """The custom_ids of the rows with these statuses that no open part covers, in input
        order (what a repair runs again)."""
        _picked, ids, positions = self._repair_rows(self._job(job_id), statuses)
        return tuple(str(i) for i in ids.to_numpy(dtype=object)[positions])

    def plan_repair(self, job_id: str, statuses: Iterable[str] = REPAIRABLE) -> RepairPlan:
        """What `repair` would send for rows with these statuses (no API call)."""
        job = self._job(job_id)
        picked, ids, positions = self._repair_rows(job, statuses)
        chosen = tuple(str(i) for i in ids.to_numpy(dtype=object)[positions])
        refused = refused_again(self._merged(job)["error"], positions)
        price = price_for(job.recipe.model, self._price_overrides, self.provider)
        if not len(positions) or self._is_attached(job):
            free = None if price is None else 0.0
            return RepairPlan(picked, len(chosen), chosen, 0, free, refused)
        plan = self._repair_plan(job, positions)
        return RepairPlan(
            picked, len(chosen), chosen, plan.input_tokens, plan.estimated_cost_usd, refused
        )

    def repair(self, job_id: str, statuses: Iterable[str] = REPAIRABLE) -> list[str]:
        """Run the rows with these statuses again in new repair parts; their batch ids.

        Rows already in a running part are left out, so a second click adds nothing.
        """
        job = self._job(job_id)
        parts = self.registry.parts(job_id)
        if parts and parts[0].kind == DIRECT_KIND:
            raise InputError(
                _l(
                    "Job {job_id} runs directly, without batches: repair it directly, with "
                    "{command} (batchdash.direct.jobs.DirectJobs.repair).",
                    job_id=job.id,
                    command=f"`cli.py repair {job.id}`",
                )
            )
        picked, ids, positions = self._repair_rows(job, statuses)
        if not len(positions):
            waiting = [
                p.id for p in parts if p.kind == "repair" and p.state in ("planned", "uploaded")
            ]
            if not waiting:
                raise InputError(
                    _l(
                        "No row of job {job_id} is {statuses} outside a running batch; there is "
                        "nothing to repair.",
                        job_id=job_id,
                        statuses=alternatives(picked),
                    )
                )
            self.submit(job_id)  # an earlier repair of these rows stopped before its batch
            latest = {part.id: part.batch_id for part in self.registry.parts(job_id)}
            return [batch for part_id in waiting if (batch := latest[part_id]) is not None]
        plan: BatchPlan | None = None
        if self._is_attached(job):
            specs = _attached_repair_parts(ids.to_numpy(dtype=object)[positions])
        else:
            plan = self._repair_plan(job, positions)
            price = price_for(job.recipe.model, self._price_overrides, self.provider)
            check_spending(self, job.recipe, plan.rows, plan.input_tokens, price)
            specs = repair_parts(plan, positions, ids, projected_output_per_row(parts))
        # Numbered after the job's last part: a concurrent repair of the same rows picks the
        # same numbers, and `add_part` hands it the parts already there instead of new ones.
        first = 1 + max(part.number for part in parts)
        added = [
            self.registry.add_part(job_id, spec, number=first + i) for i, spec in enumerate(specs)
        ]
        if plan is not None:
            for index, (part, spec) in enumerate(zip(added, specs, strict=True), start=1):
                if part.custom_ids == spec.custom_ids:
                    self._remember_part(job_id, part.number, plan, index)
        self.submit(job_id)
        if job.state == "finished":
            self.registry.set_job_state(job_id, "active")
        latest = {part.id: part.batch_id for part in self.registry.parts(job_id)}
        return [batch for part in added if (batch := latest[part.id]) is not None]

    def _repair_rows(
        self, job: Job, statuses: Iterable[str]
    ) -> tuple[tuple[str, ...], pd.Series, np.ndarray]:
        picked = checked_statuses(statuses)
        view = self._view(job)
        merged = self._merged(job)
        ids = merged["custom_id"]
        positions = rows_to_repair(merged, pending_rows(view, ids), picked)
        return picked, ids, positions

    def _repair_plan(self, job: Job, positions: np.ndarray) -> BatchPlan:
        # The job's enqueued-token limit is not kept, but its largest part was accepted: repair
        # parts no larger than that fit under whatever limit the analyst gave.
        accepted = [
            part.estimated_input_tokens
            for part in self.registry.parts(job.id)
            if part.kind == "initial" and part.estimated_input_tokens
        ]
        return plan_rows(
            self.registry.job_rows(job.id),
            job.recipe,
            positions,
            enqueued_token_limit=max(accepted) if len(accepted) > 1 else None,
            price_overrides=self._price_overrides,
            provider=self.provider,
        )

    def _is_attached(self, job: Job) -> bool:
        return any(part.kind == "attached" for part in self.registry.parts(job.id))

    def attach(
        self, batch_id: str, *, name: str | None = None, frame: pd.DataFrame | None = None
    ) -> str:
        """Follow a batch created elsewhere as a job of its own; the job id.

        Its rows are the requests of its input file (custom_id and prompt), or `frame` when the
        analyst gives the table behind them. Attaching a batch twice gives the same job.
        """
        known = self.registry.part_for_batch(batch_id)
        if known is not None:
            return self._own_job_of(batch_id, known.job_id)
        info = self.gateway.retrieve_batch(batch_id)
        if not info.input_file_id:
            raise InputError(
                _l(
                    "Batch {batch_id} names no input file, so its requests are unknown.",
                    batch_id=batch_id,
                )
            )
        found = attached_rows(info, batch_input(self.gateway, info.input_file_id, batch_id), frame)
        spec = PartSpec(
            requests=len(found.custom_ids), kind="attached", first_row=0, stop_row=len(found.frame)
        )
        job = self.registry.create_job(
            self.scope,
            name or f"Batch {batch_id}",
            found.recipe,
            found.frame,
            parts=[spec],
            state="active",
        )
        part = self.registry.parts(job.id)[0]
        self.registry.mark_part_uploaded(part.id, info.input_file_id)
        try:
            self.registry.mark_part_created(part.id, batch_id)
        except PartConflict:
            # Attached by another replica at the same moment: keep that job, hide this one.
            self.registry.mark_part_failed(part.id, f"Batch {batch_id} belongs to another job.")
            self.registry.archive_job(job.id, self.scope)
            other = self.registry.part_for_batch(batch_id)
            assert other is not None
            return self._own_job_of(batch_id, other.job_id)
        self.registry.save_snapshot(batch_id, info.to_dict())
        return job.id

    def archive(self, job_id: str, archived: bool = True) -> None:
        """Hide the job from the list (or show it again); nothing is deleted."""
        self.registry.archive_job(job_id, self.scope, archived)


def _attached_repair_parts(chosen: np.ndarray) -> list[PartSpec]:
    """Repair parts of a batch attached without its recipe: its own lines, re-sent as they were."""
    step = limits.MAX_REQUESTS_PER_PART
    return [
        PartSpec(
            requests=len(chosen[i : i + step]),
            kind="repair",
            custom_ids=tuple(str(c) for c in chosen[i : i + step]),
        )
        for i in range(0, len(chosen), step)
    ]
