"""Files deleted on the provider: which Batchdash deleted, which it still tries to delete.

A file confirmed gone is never tried again; a try that failed is kept with its error and
retried by a later refresh (of this replica or another: the record is in the database).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from batchdash.registry.database import RegistryDatabase
from batchdash.registry.models import FileDeletionModel, JobModel


@dataclass(frozen=True)
class FileDeletion:
    """What the registry knows of one file's deletion."""

    file_id: str
    job_id: str | None
    #: When the provider confirmed the file gone; None while deleting it fails.
    deleted_at: datetime | None
    attempts: int
    tried_at: datetime
    error: str | None

    @property
    def done(self) -> bool:
        """Whether the file is gone for good."""
        return self.deleted_at is not None


def _record(model: FileDeletionModel) -> FileDeletion:
    return FileDeletion(
        model.file_id, model.job_id, model.deleted_at, model.attempts, model.tried_at, model.error
    )


class FileDeletions(RegistryDatabase):
    """The registry's record of deleted files."""

    def file_deletions(self, file_ids: Iterable[str]) -> dict[str, FileDeletion]:
        """The records of those of `file_ids` that were deleted or tried, by file id."""
        wanted = sorted(set(file_ids))
        found: dict[str, FileDeletion] = {}
        with self._read() as session:
            for start in range(0, len(wanted), 500):  # bound the IN list
                statement = select(FileDeletionModel).where(
                    FileDeletionModel.file_id.in_(wanted[start : start + 500])
                )
                found.update({m.file_id: _record(m) for m in session.scalars(statement)})
        return found

    def failed_file_deletions(self, scope: str) -> list[FileDeletion]:
        """The scope's files whose deletion failed and is still to be done, oldest try first."""
        statement = (
            select(FileDeletionModel)
            .join(JobModel, JobModel.id == FileDeletionModel.job_id)
            .where(JobModel.scope == scope, FileDeletionModel.deleted_at.is_(None))
            .order_by(FileDeletionModel.tried_at)
        )
        with self._read() as session:
            return [_record(model) for model in session.scalars(statement)]

    def note_file_deleted(self, file_id: str, job_id: str | None) -> None:
        """The file is gone from the provider (deleted now, or found gone)."""
        self._note_try(file_id, job_id, None)

    def note_file_delete_failed(self, file_id: str, job_id: str | None, error: str) -> None:
        """A try to delete the file failed with `error`; a later refresh tries again."""
        self._note_try(file_id, job_id, error)

    def _note_try(self, file_id: str, job_id: str | None, error: str | None) -> None:
        for last_chance in (False, True):
            try:
                with self._write() as session:
                    now = self._clock()
                    model = session.get(FileDeletionModel, file_id)
                    if model is None:
                        model = FileDeletionModel(file_id=file_id, job_id=job_id, attempts=0)
                        session.add(model)
                    if model.deleted_at is not None:
                        return  # gone already: a failure told later changes nothing
                    model.attempts += 1
                    model.tried_at = now
                    model.error = error
                    model.deleted_at = now if error is None else None
                return
            except IntegrityError:
                if last_chance:
                    raise  # a second replica's insert won twice: cannot happen
