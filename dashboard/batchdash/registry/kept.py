"""What the registry keeps of batches: status snapshots, fetched result files, merged tables."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from batchdash.batch_statuses import OPENAI_TERMINAL_STATUSES
from batchdash.registry.blobs import (
    CHUNK_CODEC,
    TABLE_CODEC,
    BlobColumns,
    Chunk,
    blob_to_frame,
    compress_lines,
    decompress_chunk,
    frame_to_blob,
    table_to_blob,
)
from batchdash.registry.database import RegistryDatabase
from batchdash.registry.models import (
    MergedModel,
    PartModel,
    ResultChunkModel,
    ResultModel,
    SnapshotModel,
)
from batchdash.registry.records import (
    FetchedResults,
    ResultFile,
    Snapshot,
    snapshot_record,
)


class KeptResults(RegistryDatabase):
    """Snapshots and results of a job's batches, on the registry's database."""

    # -- batch snapshots ----------------------------------------------------------------------

    def save_snapshot(
        self,
        batch_id: str,
        info: Mapping[str, Any],
        *,
        terminal: Collection[str] = OPENAI_TERMINAL_STATUSES,
    ) -> None:
        """Save the latest Batch description (JSON-ready, with a "status") of a part's batch."""
        self.save_snapshots({batch_id: info}, terminal=terminal)

    def save_snapshots(
        self,
        infos: Mapping[str, Mapping[str, Any]],
        *,
        terminal: Collection[str] = OPENAI_TERMINAL_STATUSES,
    ) -> None:
        """Save several batches' descriptions in one transaction; a saved description in one of
        the `terminal` statuses is never replaced by a later one that is not (a slower replica's
        older view)."""
        final = sorted(terminal)
        if not infos:
            return
        now = self._clock()
        with self._write() as session:
            owners = select(PartModel.batch_id, PartModel.id).where(PartModel.batch_id.in_(infos))
            part_ids = {batch_id: part_id for batch_id, part_id in session.execute(owners)}
            rows = []
            for batch_id, info in infos.items():
                if batch_id not in part_ids:
                    raise ValueError(f"batch {batch_id} belongs to no part of the registry")
                status = info.get("status")
                if not isinstance(status, str):
                    raise ValueError(f"the description of batch {batch_id} has no status")
                rows.append(
                    {
                        "batch_id": batch_id,
                        "part_id": part_ids[batch_id],
                        "status": status,
                        "info": json.loads(json.dumps(dict(info))),
                        "updated_at": now,
                    }
                )
            # One statement for all rows (a refresh of 20 batches writes in one round trip);
            # executemany takes no expanding IN, hence the terminal statuses spelled out.
            statement = dialect_insert(session, SnapshotModel)
            new = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[SnapshotModel.batch_id],
                    set_={"status": new.status, "info": new.info, "updated_at": new.updated_at},
                    where=or_(
                        and_(*(SnapshotModel.status != status for status in final)),
                        or_(*(new.status == status for status in final)),
                    ),
                ),
                rows,
            )

    def snapshot(self, batch_id: str) -> Snapshot | None:
        """The latest saved description of one batch."""
        found = self._snapshots(SnapshotModel.batch_id == batch_id)
        return found[0] if found else None

    def snapshots(self, job_id: str) -> list[Snapshot]:
        """The latest saved description of each of the job's batches, by part number."""
        return self._snapshots(PartModel.job_id == job_id)

    def _snapshots(self, condition: ColumnElement[bool]) -> list[Snapshot]:
        with self._read() as session:
            return [
                snapshot_record(model, number)
                for model, number in session.execute(snapshot_query(condition))
            ]

    # -- fetched results ----------------------------------------------------------------------

    def save_results(
        self, batch_id: str, output: bytes | Path | None, errors: bytes | Path | None
    ) -> bool:
        """Keep a batch's output and error files (bytes, or files on disk); False if already kept."""
        if self.has_results(batch_id):
            return False
        # Compress before the transaction: SQLite holds its write lock for the whole of it.
        pieces: dict[ResultFile, list[Chunk]] = {
            "output": compress_lines(output),
            "errors": compress_lines(errors),
        }
        with self._write() as session:
            part_id = session.scalar(select(PartModel.id).where(PartModel.batch_id == batch_id))
            if part_id is None:
                raise ValueError(f"batch {batch_id} belongs to no part of the registry")
            return self._store_results(session, batch_id, part_id, pieces)

    def _store_results(
        self,
        session: Session,
        batch_id: str,
        part_id: int,
        pieces: Mapping[ResultFile, list[Chunk]],
    ) -> bool:
        """Insert a batch's compressed files in the caller's transaction; False if kept already."""
        header = dialect_insert(session, ResultModel).values(
            batch_id=batch_id,
            part_id=part_id,
            output_size=sum(chunk.raw_size for chunk in pieces.get("output", [])),
            errors_size=sum(chunk.raw_size for chunk in pieces.get("errors", [])),
            fetched_at=self._clock(),
        )
        # RETURNING says whether the row went in: PostgreSQL's driver gives no rowcount
        # (-1) for an INSERT ... ON CONFLICT DO NOTHING.
        stored = session.execute(
            header.on_conflict_do_nothing().returning(ResultModel.batch_id)
        ).first()
        if stored is None:
            return False  # another replica stored them first
        chunks = [
            {
                "batch_id": batch_id,
                "which": which,
                "seq": seq,
                "codec": CHUNK_CODEC,
                "raw_size": chunk.raw_size,
                "data": chunk.data,
            }
            for which, chunks in pieces.items()
            for seq, chunk in enumerate(chunks)
        ]
        if chunks:
            session.execute(insert(ResultChunkModel), chunks)
        return True

    def has_results(self, batch_id: str) -> bool:
        """Whether the batch's files were fetched already."""
        with self._read() as session:
            return session.get(ResultModel, batch_id) is not None

    def results(self, job_id: str) -> list[FetchedResults]:
        """Every fetched batch of the job with its files' bytes, by part number."""
        headers = (
            select(ResultModel, PartModel.number, PartModel.kind)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .order_by(PartModel.number)
        )
        chunks = (
            select(
                ResultChunkModel.batch_id,
                ResultChunkModel.which,
                ResultChunkModel.raw_size,
                ResultChunkModel.data,
            )
            .join(ResultModel, ResultChunkModel.batch_id == ResultModel.batch_id)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .order_by(ResultChunkModel.batch_id, ResultChunkModel.which, ResultChunkModel.seq)
        )
        with self._read() as session:
            found = [
                (model.batch_id, model.part_id, number, kind, model.fetched_at)
                for model, number, kind in session.execute(headers)
            ]
            stored = session.execute(chunks).all()
        pieces: dict[tuple[str, str], list[bytes]] = {}
        for batch_id, which, raw_size, data in stored:
            pieces.setdefault((batch_id, which), []).append(decompress_chunk(raw_size, data))
        return [
            FetchedResults(
                batch_id=batch_id,
                part_id=part_id,
                part_number=number,
                part_kind=kind,
                output=b"".join(pieces.get((batch_id, "output"), [])),
                errors=b"".join(pieces.get((batch_id, "errors"), [])),
                fetched_at=fetched_at,
            )
            for batch_id, part_id, number, kind, fetched_at in found
        ]

    def fetched_files(self, job_id: str) -> list[tuple[str, ResultFile]]:
        """The job's fetched batches by part number, each's output then errors, as
        (batch id, which); read each with `result_chunks`."""
        headers = (
            select(ResultModel.batch_id)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
            .order_by(PartModel.number)
        )
        with self._read() as session:
            batch_ids = list(session.scalars(headers))
        files: list[ResultFile] = ["output", "errors"]
        return [(batch_id, which) for batch_id in batch_ids for which in files]

    def result_chunks(self, batch_id: str, which: ResultFile) -> Iterator[bytes]:
        """One kept file as runs of whole lines, read one stored chunk at a time."""
        key = (ResultChunkModel.batch_id == batch_id, ResultChunkModel.which == which)
        with self._read() as session:
            seqs = list(
                session.scalars(
                    select(ResultChunkModel.seq).where(*key).order_by(ResultChunkModel.seq)
                )
            )
        for seq in seqs:
            with self._read() as session:
                raw_size, data = session.execute(
                    select(ResultChunkModel.raw_size, ResultChunkModel.data).where(
                        *key, ResultChunkModel.seq == seq
                    )
                ).one()
            yield decompress_chunk(raw_size, data)

    # -- merged-table cache -------------------------------------------------------------------

    def save_merged(
        self, job_id: str, table: pd.DataFrame | pa.Table, batch_ids: Iterable[str]
    ) -> bool:
        """Cache the job's merged table made from these fetched batches (or `result_keys`);
        False if it cannot be stored."""
        try:
            blob = table_to_blob(table) if isinstance(table, pa.Table) else frame_to_blob(table)
        except (pa.ArrowException, TypeError, ValueError):
            return False  # cells Parquet cannot type: merging again is always possible
        with self._write() as session:
            statement = dialect_insert(session, MergedModel).values(
                job_id=job_id,
                batch_ids=sorted(batch_ids),
                codec=TABLE_CODEC,
                data=blob,
                saved_at=self._clock(),
            )
            new = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[MergedModel.job_id],
                    set_={"batch_ids": new.batch_ids, "data": new.data, "saved_at": new.saved_at},
                )
            )
        return True

    def merged(self, job_id: str) -> pd.DataFrame | None:
        """The cached merged table, or None when there is none or batches were fetched since."""
        blob = self._merged_blob(job_id)
        return None if blob is None else blob_to_frame(blob)

    def merged_columns(self, job_id: str) -> BlobColumns | None:
        """The cached merged table, to read a column or a row group at a time; None as `merged`."""
        blob = self._merged_blob(job_id)
        return None if blob is None else BlobColumns(blob)

    def result_keys(self, job_id: str) -> list[str]:
        """What the job's merged table is made from, as `save_merged` takes it: read before the
        results are, so a table merged while more arrive is never taken for a newer one."""
        with self._read() as session:
            return self._result_keys(session, job_id)

    def _result_keys(self, session: Session, job_id: str) -> list[str]:
        fetched = (
            select(ResultModel.batch_id)
            .join(PartModel, ResultModel.part_id == PartModel.id)
            .where(PartModel.job_id == job_id)
        )
        return sorted(session.scalars(fetched))

    def _merged_blob(self, job_id: str) -> bytes | None:
        with self._read() as session:
            cached = session.get(MergedModel, job_id)
            if cached is None or cached.batch_ids != self._result_keys(session, job_id):
                return None
            blob: bytes = cached.data
        return blob


def snapshot_query(condition: ColumnElement[bool]) -> Select[SnapshotModel, int]:
    return (
        select(SnapshotModel, PartModel.number)
        .join(PartModel, SnapshotModel.part_id == PartModel.id)
        .where(condition)
        .order_by(PartModel.number)
    )


def dialect_insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
