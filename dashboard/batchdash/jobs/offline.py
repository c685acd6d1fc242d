"""Jobs run on a GPU machine with vLLM's offline run-batch instead of through a Batch API
(DESIGN.md contract 11): exported as JSONL with the command that runs it, and its output file
imported back and merged by custom_id like any batch's results.

An export is parts in the "exported" state (never sent). Exporting again hands out the parts
still waiting, or, when none waits, plans the rows still without an answer (those that failed,
or that an import left out) as new exported parts. An import records the file as the batch of
the exported part it answers: the Jobs page, the merged table and repairs read it as a fetched
batch whose rows cost nothing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from batchdash.errors import InputError, ResultsError
from batchdash.i18n import Message, _l, n_l
from batchdash.jobs.acting import JobActing
from batchdash.jobs.repair import REPAIRABLE, repair_parts
from batchdash.jobs.status import projected_output_per_row
from batchdash.preflight.ids import custom_ids
from batchdash.recipe import ENDPOINT_LABELS, Endpoint, Recipe
from batchdash.registry.records import Job, Part, PartConflict
from batchdash.results.parse import parse_result_lines
from batchdash.results.vllm_lines import IMPORTED_PREFIX, VLLM_FIX, openai_lines

#: vLLM's offline batch runner (vllm/entrypoints/openai/run_batch.py).
RUN_BATCH = "python -m vllm.entrypoints.openai.run_batch"
#: Endpoints run-batch runs (it answers any other URL with an error line).
RUN_BATCH_ENDPOINTS: tuple[Endpoint, ...] = ("/v1/chat/completions", "/v1/embeddings")
# Batch ids leave room for a suffix within the registry's 200 characters.
_NAME_CHARACTERS = 150


@dataclass(frozen=True)
class ExportedPart:
    """One exported part: its JSONL and where run-batch writes its answers."""

    #: The part's number in the job.
    part_number: int
    #: Requests (rows) in the file.
    rows: int
    #: File name of the JSONL, e.g. `job_0123456789ab-part-0001.jsonl`.
    name: str
    #: File name run-batch writes its output to.
    output_name: str
    #: The JSONL itself.
    data: bytes

    def command(self, model: str, folder: str = "") -> str:
        """The command line that runs this file with vLLM (paths under `folder`)."""
        where = f"{folder.rstrip('/')}/" if folder else ""
        return (
            f"{RUN_BATCH} -i {shlex.quote(where + self.name)} "
            f"-o {shlex.quote(where + self.output_name)} --model {shlex.quote(model)}"
        )


@dataclass(frozen=True)
class Export:
    """A job's parts waiting for vLLM's answers."""

    #: The job.
    job_id: str
    #: The model every line names (vLLM must serve it under that name).
    model: str
    #: The exported parts, by number.
    parts: tuple[ExportedPart, ...]

    @property
    def rows(self) -> int:
        """Rows in all the files."""
        return sum(part.rows for part in self.parts)

    def command(self, folder: str = "") -> str:
        """One line that runs every file, one after the other."""
        return " && ".join(part.command(self.model, folder) for part in self.parts)


@dataclass(frozen=True)
class ImportReport:
    """What importing one output file did."""

    #: The job.
    job_id: str
    #: The batch id its rows carry in the merged table (`import:<file name>`).
    batch_id: str
    #: Result lines in the file.
    lines: int
    #: Lines with an answer.
    ok: int
    #: Lines with an error.
    errors: int
    #: Rows of the answered part the file left out: still unanswered, to export again.
    missing: int
    #: True when the same results were imported before: nothing changed.
    already_imported: bool = False

    def describe(self) -> Message:
        """One plain sentence for the analyst, worded when shown."""
        if self.already_imported:
            return _l(
                "These results were imported already (as {batch_id}); nothing changed.",
                batch_id=self.batch_id,
            )
        counts = {"lines": self.lines, "ok": self.ok, "errors": self.errors}
        if self.missing and self.errors:
            return n_l(
                "Imported {lines:,} results ({ok:,} answered, {errors:,} with an error); {n:,} "
                "row of the exported file got no answer: export it again to run it.",
                "Imported {lines:,} results ({ok:,} answered, {errors:,} with an error); {n:,} "
                "rows of the exported file got no answer: export them again to run them.",
                self.missing,
                **counts,
            )
        if self.missing:
            return n_l(
                "Imported {lines:,} results ({ok:,} answered); {n:,} row of the exported file "
                "got no answer: export it again to run it.",
                "Imported {lines:,} results ({ok:,} answered); {n:,} rows of the exported file "
                "got no answer: export them again to run them.",
                self.missing,
                **counts,
            )
        if self.errors:
            return _l(
                "Imported {lines:,} results ({ok:,} answered, {errors:,} with an error).",
                **counts,
            )
        return _l("Imported {lines:,} results ({ok:,} answered).", **counts)

    def to_dict(self) -> dict[str, Any]:
        """As the CLI prints it."""
        return {
            "job_id": self.job_id,
            "batch_id": self.batch_id,
            "lines": self.lines,
            "ok": self.ok,
            "error": self.errors,
            "missing": self.missing,
            "already_imported": self.already_imported,
        }


def check_exportable(recipe: Recipe) -> None:
    """InputError when vLLM's run-batch cannot run the recipe's endpoint."""
    if recipe.endpoint not in RUN_BATCH_ENDPOINTS:
        wanted = ENDPOINT_LABELS.get(recipe.endpoint, recipe.endpoint)
        raise InputError(
            _l(
                "vLLM's run-batch runs Chat Completions and Embeddings only, not {wanted}: pick "
                "one of those endpoints in New job to export the job for vLLM.",
                wanted=wanted,
            )
        )


class JobOffline(JobActing):
    """Jobs of one owner scope, exported to vLLM's run-batch and its answers imported back."""

    def create_exported_job(
        self, name: str, frame: pd.DataFrame, recipe: Recipe, *, source_name: str = ""
    ) -> str:
        """Save a job whose parts are exported for vLLM, never sent; its id."""
        check_exportable(recipe)
        job_id = self.create_job(name, frame, recipe, source_name=source_name)
        for part in self.registry.parts(job_id):
            self.registry.mark_part_exported(part.id)
        self.registry.set_job_state(job_id, "active")
        return job_id

    def export(self, job_id: str) -> Export:
        """The job's parts waiting for vLLM; when none waits, the rows without an answer (and
        not running) exported as new parts. InputError when nothing is left to run."""
        job = self._job(job_id)
        check_exportable(job.recipe)
        parts = self.registry.parts(job_id)
        if job.state == "new":  # saved, never sent: its parts go to vLLM instead
            parts = [self._exported_unsent(part) for part in parts]
            self.registry.set_job_state(job_id, "active")
        waiting = [part for part in parts if part.state == "exported"]
        if not waiting:
            waiting = self._export_unanswered(job)
        return Export(
            job.id, job.recipe.model, tuple(self._exported_part(job, part) for part in waiting)
        )

    def import_results(self, job_id: str, data: bytes, file_name: str) -> ImportReport:
        """Merge an output file of vLLM's run-batch into the job, by custom_id.

        ResultsError (one sentence) for a file that is empty, not results, or answers rows the
        job does not have; nothing is kept then. The same results imported again change nothing.
        """
        job = self._job(job_id)
        source = file_name.strip() or "the imported file"
        lines = openai_lines(data, source)
        output = b"\n".join(lines) + b"\n"
        results = parse_result_lines(output, recipe=job.recipe, source_name=source)
        ids = custom_ids(self.registry.job_rows(job.id), job.recipe.id_column)
        answered = {result.custom_id for result in results}
        unknown = sorted(answered - set(ids))
        if unknown:
            raise ResultsError(
                n_l(
                    "{source} answers {n:,} row that job {job} does not have (such as "
                    "{example}): {fix}.",
                    "{source} answers {n:,} rows that job {job} does not have (such as "
                    "{example}): {fix}.",
                    len(unknown),
                    source=source,
                    job=job.name,
                    example=unknown[0],
                    fix=VLLM_FIX,
                )
            )
        ok = sum(result.status == "ok" for result in results)
        earlier = self._imported_as(job, output)
        if earlier is not None:
            return ImportReport(
                job.id, earlier, len(results), ok, len(results) - ok, 0, already_imported=True
            )
        parts = self.registry.parts(job.id)
        target = next(
            (p for p in parts if p.state == "exported" and answered & self._part_ids(p, ids)),
            None,
        )
        batch_id = self._free_batch_id(source)
        self.registry.record_import(
            job.id,
            batch_id,
            output,
            _finished_snapshot(batch_id, job.recipe, len(results), ok),
            part_id=None if target is None else target.id,
            custom_ids=sorted(answered),
        )
        missing = 0 if target is None else len(self._part_ids(target, ids) - answered)
        return ImportReport(job.id, batch_id, len(results), ok, len(results) - ok, missing)

    # -- helpers ---------------------------------------------------------------------------

    def _export_unanswered(self, job: Job) -> list[Part]:
        _picked, ids, positions = self._repair_rows(job, REPAIRABLE)
        if not len(positions):
            raise InputError(
                _l(
                    "Every row of job {job} has an answer or is still running; there is "
                    "nothing to export.",
                    job=job.name,
                )
            )
        parts = self.registry.parts(job.id)
        plan = self._repair_plan(job, positions)
        specs = repair_parts(plan, positions, ids, projected_output_per_row(parts))
        first = 1 + max((part.number for part in parts), default=0)
        added = [
            self.registry.add_part(job.id, spec, number=first + i) for i, spec in enumerate(specs)
        ]
        exported = [self.registry.mark_part_exported(part.id) for part in added]
        if job.state == "finished":
            self.registry.set_job_state(job.id, "active")
        return exported

    def _exported_unsent(self, part: Part) -> Part:
        """The part exported if nothing sends it (planned and unclaimed), else as it is."""
        if part.state != "planned":
            return part
        try:
            return self.registry.mark_part_exported(part.id)
        except PartConflict:
            return self.registry.part(part.id)  # a submitter took it meanwhile

    def _exported_part(self, job: Job, part: Part) -> ExportedPart:
        stem = f"{job.id}-part-{part.number:04d}"
        data = self._part_file(job, part)
        # The JSONL maker create_job left holds the plan: an export that waits for days need not.
        self._part_files.pop((job.id, part.number), None)
        return ExportedPart(
            part_number=part.number,
            rows=part.requests,
            name=f"{stem}.jsonl",
            output_name=f"{stem}-output.jsonl",
            data=data,
        )

    def _part_ids(self, part: Part, ids: pd.Series) -> set[str]:
        if part.custom_ids:
            return set(part.custom_ids)
        return set(ids.iloc[part.first_row : part.stop_row].astype(str))

    def _imported_as(self, job: Job, output: bytes) -> str | None:
        """The batch id these exact results were imported as before, if they were."""
        for kept in self.registry.results(job.id):
            if kept.batch_id.startswith(IMPORTED_PREFIX) and kept.output == output:
                return kept.batch_id
        return None

    def _free_batch_id(self, source: str) -> str:
        base = f"{IMPORTED_PREFIX}{source[:_NAME_CHARACTERS]}"
        candidate, number = base, 1
        while self.registry.batch_id_taken(candidate):
            number += 1
            candidate = f"{base} ({number})"
        return candidate


def _finished_snapshot(batch_id: str, recipe: Recipe, lines: int, ok: int) -> dict[str, Any]:
    """The imported file as a finished batch, for the Jobs page's list of batches."""
    now = int(datetime.now(UTC).timestamp())
    return {
        "id": batch_id,
        "object": "batch",
        "status": "completed",
        "endpoint": recipe.endpoint,
        "model": recipe.model,
        "input_file_id": "",
        "completion_window": "24h",
        "created_at": now,
        "completed_at": now,
        "request_counts": {"total": lines, "completed": ok, "failed": lines - ok},
        "metadata": {"source": "vLLM run-batch"},
    }
