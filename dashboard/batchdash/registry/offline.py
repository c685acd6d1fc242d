"""Parts run outside the Batch API: exported as JSONL for vLLM's run-batch, and the output file
imported back as the part's batch (DESIGN.md contract 11).

An exported part is never claimed or sent (only planned and uploaded parts are). Importing a
file records, in one transaction, the part that holds it (the exported part it answers, else a
new "imported" part listing its custom_ids), a finished snapshot and the file itself as the
part's kept results: from then on the job reads it as any fetched batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from batchdash.i18n import _l
from batchdash.registry.blobs import Chunk, compress_lines
from batchdash.registry.kept import KeptResults
from batchdash.registry.models import PartModel, SnapshotModel
from batchdash.registry.records import Part, PartConflict, ResultFile, part_record


class OfflineParts(KeptResults):
    """Exported parts and imported result files, on the registry's database."""

    def mark_part_exported(self, part_id: int) -> Part:
        """Take a planned, unclaimed part out of sending: it runs elsewhere and costs nothing
        here. Repeating the call changes nothing; a part already sent raises PartConflict."""
        statement = (
            update(PartModel)
            .where(PartModel.id == part_id, PartModel.state == "planned")
            .where(PartModel.claim_token.is_(None))
            .values(state="exported", estimated_cost_usd=0.0, updated_at=self._clock())
        )
        with self._write() as session:
            session.execute(statement, execution_options={"synchronize_session": False})
            model = session.get(PartModel, part_id)
            if model is None:
                raise KeyError(part_id)
            part = part_record(model)
        if part.state != "exported":
            raise PartConflict(
                _l(
                    "Part {number} of job {job_id} is {state}, not waiting to be sent, so it "
                    "cannot be exported.",
                    number=part.number,
                    job_id=part.job_id,
                    state=part.state,
                )
            )
        return part

    def batch_id_taken(self, batch_id: str) -> bool:
        """Whether a part of any job has this batch id."""
        with self._read() as session:
            found = session.scalar(select(PartModel.id).where(PartModel.batch_id == batch_id))
        return found is not None

    def record_import(
        self,
        job_id: str,
        batch_id: str,
        output: bytes,
        info: Mapping[str, Any],
        *,
        part_id: int | None,
        custom_ids: Sequence[str],
    ) -> Part:
        """Keep an imported output file as `batch_id`: the batch of exported part `part_id`, or
        of a new "imported" part of `custom_ids` (part_id None). `info` is its finished
        snapshot. Raises PartConflict when the part was answered meanwhile or the id is taken."""
        pieces: dict[ResultFile, list[Chunk]] = {"output": compress_lines(output)}
        now = self._clock()
        try:
            with self._write() as session:
                if part_id is None:
                    number = 1 + (
                        session.scalar(
                            select(func.max(PartModel.number)).where(PartModel.job_id == job_id)
                        )
                        or 0
                    )
                    model = PartModel(
                        job_id=job_id,
                        number=number,
                        kind="imported",
                        custom_ids=list(custom_ids),
                        requests=len(custom_ids),
                        state="created",
                        batch_id=batch_id,
                        estimated_cost_usd=0.0,
                        created_at=now,
                        submitted_at=now,
                        updated_at=now,
                    )
                    session.add(model)
                    session.flush()
                else:
                    found = session.get(PartModel, part_id, with_for_update=True)
                    if found is None or found.state != "exported":
                        raise PartConflict(
                            _l(
                                "That part of the job was answered by another import "
                                "meanwhile; refresh the job."
                            )
                        )
                    found.state, found.batch_id = "created", batch_id
                    found.submitted_at = found.updated_at = now
                    model = found
                    session.flush()
                session.add(
                    SnapshotModel(
                        batch_id=batch_id,
                        part_id=model.id,
                        status=str(info["status"]),
                        info=dict(info),
                        updated_at=now,
                    )
                )
                self._store_results(session, batch_id, model.id, pieces)
                return part_record(model)
        except IntegrityError:
            raise PartConflict(
                _l(
                    "{batch_id} was imported into a job meanwhile; import the file again.",
                    batch_id=batch_id,
                )
            ) from None
