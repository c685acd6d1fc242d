"""The job service: every job of one owner scope, created, sent, followed, acted on (see
submitting, following and acting) and read back: the merged table, raw results, the manifest,
the key's batch list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from batchdash.api.batch_info import BatchInfo
from batchdash.jobs.offline import JobOffline
from batchdash.registry.records import Part
from batchdash.results.export import MergedColumns


class JobService(JobOffline):
    """Jobs of one owner scope: create, submit, refresh, cancel, repair, attach, export and
    import, and read them."""

    # -- reading results -------------------------------------------------------------------

    def merged_table(self, job_id: str) -> pd.DataFrame:
        """The merged table (contract 6) of what was fetched so far.

        While batches run, their rows are `not_run` with an empty error (the job's status
        counts them as pending).
        """
        return self._merged(self._job(job_id))

    def merged_columns(self, job_id: str) -> MergedColumns:
        """The merged table to stream to a download (`results.export.write_csv`,
        `write_xlsx_table`): the kept one, read a column or a row group at a time."""
        return self._merged_columns(self._job(job_id))

    def raw_results(self, job_id: str) -> tuple[bytes, bytes]:
        """Every fetched output line and every error line of the job, as two JSONL files."""
        fetched = self.registry.results(self._job(job_id).id)
        return (
            b"".join(_with_final_newline(batch.output) for batch in fetched),
            b"".join(_with_final_newline(batch.errors) for batch in fetched),
        )

    def manifest(self, job_id: str) -> dict[str, Any]:
        """Recipe, parts, batch ids, timestamps and costs of the job, ready for JSON."""
        job = self._job(job_id)
        view = self._view(job)
        status = self._summary(view)
        return {
            "job_id": job.id,
            "name": job.name,
            "source_name": job.source_name,
            "created_at": job.created_at.isoformat(),
            "rows": job.rows,
            "columns": list(job.columns),
            "recipe": job.recipe.to_dict(),
            "state": status.state,
            "counts": status.counts,
            "estimated_cost_usd": status.estimated_cost_usd,
            "expected_cost_usd": status.expected_cost_usd,
            "actual_cost_usd": status.actual_cost_usd,
            "parts": [
                _part_manifest(part, view.infos.get(part.batch_id or "")) for part in view.parts
            ],
        }

    def remote_batches(self) -> list[tuple[BatchInfo, str | None]]:
        """Every batch the key can see, newest first, with the job here it belongs to, if any.

        Batches another key or signed-in user follows in Batchdash are left out: colleagues
        sharing one key (or one OpenAI project) see their own jobs' batches only.
        """
        owners = {
            part.batch_id: job.id
            for job in self.registry.list_jobs(self.scope, include_archived=True)
            for part in self.registry.parts(job.id)
            if part.batch_id is not None
        }
        listed = list(self.gateway.list_batches())
        others = self.registry.batches_of_other_scopes((info.id for info in listed), self.scope)
        return [(info, owners.get(info.id)) for info in listed if info.id not in others]


def _with_final_newline(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def _part_manifest(part: Part, info: BatchInfo | None) -> dict[str, Any]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "number": part.number,
        "kind": part.kind,
        "first_row": part.first_row,
        "stop_row": part.stop_row,
        "requests": part.requests,
        "state": part.state,
        "input_file_id": part.input_file_id,
        "batch_id": part.batch_id,
        "status": info.status if info else None,
        "output_file_id": info.output_file_id if info else None,
        "error_file_id": info.error_file_id if info else None,
        "input_tokens": info.input_tokens if info else None,
        "output_tokens": info.output_tokens if info else None,
        "estimated_input_tokens": part.estimated_input_tokens,
        "estimated_cost_usd": part.estimated_cost_usd,
        "estimated_output_tokens": part.estimated_output_tokens,
        "error": part.error,
        "extra_batches": dict(part.extra_batches),
        "planned_at": stamp(part.created_at),
        "uploaded_at": stamp(part.uploaded_at),
        "submitted_at": stamp(part.submitted_at),
        "batch_created_at": info.created_at if info else None,
        "completed_at": info.completed_at if info else None,
    }
