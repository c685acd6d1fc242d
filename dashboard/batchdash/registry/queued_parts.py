"""Parts held back by the enqueued-token limit: why each waits, and a part whose batch the API
refused for that limit put back to be sent again (`jobs.token_queue` decides which)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, update

from batchdash.registry.claims import NO_CLAIM, OPEN_STATES, rowcount
from batchdash.registry.database import RegistryDatabase
from batchdash.registry.models import (
    JobModel,
    PartModel,
    ResultChunkModel,
    ResultModel,
    SnapshotModel,
)


class QueuedParts(RegistryDatabase):
    """The queue marks of parts, on the registry's database."""

    def note_queue_waits(self, waits: Mapping[int, Mapping[str, Any] | None]) -> None:
        """Record why each unsent part waits (None: it no longer does); a part that got a batch
        meanwhile is left alone."""
        now = self._clock()
        with self._write() as session:
            for part_id, wait in waits.items():
                session.execute(
                    update(PartModel)
                    .where(PartModel.id == part_id, PartModel.batch_id.is_(None))
                    .where(PartModel.state.in_(OPEN_STATES))
                    .values(queue_wait=None if wait is None else dict(wait), updated_at=now),
                    execution_options={"synchronize_session": False},
                )

    def requeue_refused_part(
        self, part_id: int, batch_id: str, wait: Mapping[str, Any], note: str
    ) -> bool:
        """Put a part whose batch failed validation for the enqueued-token limit back in the
        queue: no batch and no file (uploaded again when it is sent: the refused batch's input
        file may be tidied away as that batch is over), the refused batch noted
        beside it so it is never taken for its batch or an extra one; False when the part no
        longer has that batch (another refresh requeued it first)."""
        now = self._clock()
        with self._write() as session:
            model = session.get(PartModel, part_id, with_for_update=True)
            if model is None or model.batch_id != batch_id:
                return False
            moved = rowcount(
                session,
                update(PartModel)
                .where(PartModel.id == part_id, PartModel.batch_id == batch_id)
                .values(
                    state="planned",
                    input_file_id=None,
                    uploaded_at=None,
                    batch_id=None,
                    submitted_at=None,
                    create_doubt_since=None,
                    queue_wait=dict(wait),
                    extra_batches={**(model.extra_batches or {}), batch_id: note},
                    updated_at=now,
                    **NO_CLAIM,
                ),
            )
            # The refused batch ran nothing: it leaves the job's batches and kept results.
            for kept in (ResultChunkModel, ResultModel, SnapshotModel):
                session.execute(delete(kept).where(kept.batch_id == batch_id))
            session.execute(
                update(JobModel).where(JobModel.id == model.job_id).values(updated_at=now)
            )
        return bool(moved)
