"""Housekeeping of the files Batchdash makes on the provider.

Three pieces: how long a batch's output files live there (`output_expires_after`), the input
file of each batch deleted once the batch is over (by every refresh: the Jobs page, `status`,
the watcher), and a review of the key's files with a clean-up of those no longer needed (the
Settings view and `cli.py files --clean`). Azure caps a resource at 500 input files without an
expiry, so files left behind end in refused uploads there.

A batch is over when it is terminal and its results are kept in the registry: Batchdash then
never reads its input file again (repairs build new files from the job's rows; only a batch
attached from elsewhere has its requests read back from its input file, so that file, which
Batchdash did not upload, is never deleted).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from batchdash.api.gateway import FileInfo, Gateway
from batchdash.errors import BatchdashError, InputError, NotFound
from batchdash.i18n import Message, _l, english
from batchdash.jobs.status import JobView
from batchdash.providers.profiles import ProviderProfile
from batchdash.registry.records import Job, Part
from batchdash.registry.store import Registry

if TYPE_CHECKING:
    from batchdash.jobs.service import JobService

log = logging.getLogger(__name__)

#: How long a batch's output and error files stay on the provider: 30 days from the batch's
#: creation, the longest OpenAI and Azure accept. Batchdash keeps its own copy once fetched,
#: but it fetches only when something refreshes the job (the Jobs page, `status`, a watcher):
#: the longest period gives a job nobody opens for weeks, with no watcher running, the most
#: time to be fetched still. OpenAI's own default is the same 30 days; on Azure, whose output
#: files otherwise never expire, it keeps the resource from filling up.
OUTPUT_KEPT_SECONDS = 30 * 24 * 3600
#: A delete that failed is tried again by a refresh no sooner than this after the last try
#: (the Jobs page refreshes every few seconds; a provider that is down is not asked each time).
RETRY_DELETE_AFTER = timedelta(minutes=1)
#: The name Batchdash uploads a part's file under (jobs.submitting): `<job id>-part-0001.jsonl`.
_UPLOAD_NAME = re.compile(r"^(job_[0-9a-f]+)-part-[0-9]{4,}\.jsonl$")


def output_expiry_seconds(provider: ProviderProfile | None) -> int | None:
    """The `output_expires_after` seconds new batches are created with for `provider` (None:
    OpenAI's rules), or None where the provider does not document the field."""
    bounds = (3600, 2_592_000) if provider is None else provider.output_expires_after
    if bounds is None:
        return None
    low, high = bounds
    return max(low, min(high, OUTPUT_KEPT_SECONDS))


def manages_files(provider: ProviderProfile | None) -> bool:
    """Whether Batchdash lists and deletes files at `provider` (None: OpenAI's rules)."""
    return provider is None or provider.manages_files


def files_refusal(provider: ProviderProfile | None) -> Message | None:
    """Why the key's files cannot be reviewed at `provider`, in one plain sentence; None
    when they can."""
    if provider is None or provider.manages_files:
        return None
    if not provider.batch_api:
        return _l(
            "{provider} has no Files API: Batchdash makes no files there, so there is nothing to "
            "clean up.",
            provider=provider.titled(),
        )
    return _l(
        "{provider} does not document listing or deleting files, so Batchdash can neither show "
        "nor delete the files it uploaded there; remove them in the provider's own console.",
        provider=provider.titled(),
    )


def batch_input(gateway: Gateway, file_id: str, batch_id: str) -> bytes:
    """The requests of a batch made elsewhere, read back from its input file; InputError in
    plain words when the file is gone (deleted, or expired after 30 days at OpenAI)."""
    try:
        return gateway.file_bytes(file_id)
    except NotFound:
        raise InputError(
            _l(
                "{provider} no longer has the input file of batch {batch_id} (it was deleted, or "
                "expired), so the batch's requests cannot be read back.",
                provider=gateway.provider,
                batch_id=batch_id,
            )
        ) from None


# -- input files of batches that are over ------------------------------------------------


def _finished_inputs(views: Iterable[JobView]) -> Iterator[tuple[str, str]]:
    """(file id, job id) of the uploaded input files whose batch is terminal and fetched."""
    for view in views:
        for part in view.parts:
            if _input_is_done_with(part, view):
                assert part.input_file_id is not None
                yield part.input_file_id, view.job.id


def _input_is_done_with(part: Part, view: JobView) -> bool:
    return (
        part.kind != "attached"
        and part.input_file_id is not None
        and part.batch_id is not None
        and part.batch_id in view.fetched
    )


def delete_finished_inputs(
    registry: Registry,
    gateway: Gateway,
    provider: ProviderProfile | None,
    scope: str,
    views: Iterable[JobView],
    now: datetime,
) -> int:
    """Delete the input files of the views' batches that are over, once each, and retry the
    scope's failed deletes; the number deleted. Never raises for the provider: a failed delete
    is recorded and tried again by a later refresh (after RETRY_DELETE_AFTER)."""
    if not manages_files(provider):
        return 0
    candidates = dict(_finished_inputs(views))
    known = registry.file_deletions(candidates)
    todo = {file_id: job for file_id, job in candidates.items() if file_id not in known}
    failures = registry.failed_file_deletions(scope)
    recent = [failed for failed in failures if now - failed.tried_at < RETRY_DELETE_AFTER]
    if recent:
        # A delete was refused a moment ago: the provider is not asked again before its retry,
        # not even for files newly done with; they are noted to be tried with it (a finished
        # job is not refreshed again, so they would otherwise be forgotten).
        for file_id, job in todo.items():
            registry.note_file_delete_failed(file_id, job or None, recent[0].error or "")
        todo = {}
    for failed in failures:
        if now - failed.tried_at >= RETRY_DELETE_AFTER:
            todo[failed.file_id] = failed.job_id or ""
    deleted = 0
    pending = list(todo.items())
    for index, (file_id, job) in enumerate(pending):
        try:
            # Tried once, no retries: a refresh must not wait on housekeeping, and a failed
            # delete is tried again by a later refresh anyway.
            gateway.delete_file(file_id, retry=False)
        except BatchdashError as error:
            # A provider that refuses deletes (or is down) would refuse the others too: they
            # wait for the next try with this one, so a refresh spends one call on it, not one
            # per file.
            reason = english(str(error))
            log.warning("Files could not be deleted yet, %s first: %s", file_id, reason)
            for later, later_job in pending[index:]:
                registry.note_file_delete_failed(later, later_job or None, reason)
            break
        registry.note_file_deleted(file_id, job or None)
        deleted += 1
    return deleted


# -- the key's files, reviewed -----------------------------------------------------------


@dataclass(frozen=True)
class KeptFile:
    """One of the key's files that Batchdash made, and whether Batchdash still needs it."""

    file: FileInfo
    #: The job it belongs to (None: a job this registry or scope does not hold).
    job_id: str | None
    job_name: str | None
    #: "input", "output" or "error".
    role: str
    needed: bool
    #: Why it is needed, or why not.
    reason: Message

    def describe(self, now: float) -> dict[str, object]:
        """The file as `cli.py files` prints it."""
        return {
            "file_id": self.file.id,
            "filename": self.file.filename,
            "purpose": self.file.purpose,
            "bytes": self.file.bytes,
            "created_at": self.file.created_at,
            "age_seconds": max(0, int(now) - self.file.created_at),
            "job_id": self.job_id,
            "job_name": self.job_name,
            "role": self.role,
            "needed": self.needed,
            "reason": english(self.reason),
        }


@dataclass(frozen=True)
class FileReview:
    """The key's files Batchdash made, newest first, and how many other files it left alone."""

    files: list[KeptFile]
    others: int

    @property
    def unneeded(self) -> list[KeptFile]:
        """The files a clean-up deletes."""
        return [kept for kept in self.files if not kept.needed]


@dataclass
class CleanUp:
    """What a clean-up did: the files deleted and those that could not be."""

    deleted: list[KeptFile] = field(default_factory=list)
    #: Each with the error it met (shown in the language of the moment it is shown).
    failed: list[tuple[KeptFile, BatchdashError]] = field(default_factory=list)


@dataclass(frozen=True)
class _Known:
    """A file id the registry knows, with its job and what Batchdash still wants of it."""

    job: Job
    role: str
    needed: bool
    reason: Message


def review_files(service: JobService, *, page_size: int = 100) -> FileReview:
    """The files of the service's key (listed page by page) that Batchdash made: those the
    scope's jobs record, and uploads named as Batchdash names them; each with whether it is
    still needed. InputError where the provider cannot list files."""
    _refuse_unmanaged(service.provider)
    jobs = service.registry.list_jobs(service.scope, include_archived=True)
    known = _known_files(service._views(jobs))  # the views every refresh reads
    by_id = {job.id: job for job in jobs}
    files: list[KeptFile] = []
    others = 0
    for info in service.gateway.list_files(page_size):
        entry = known.get(info.id)
        if entry is not None:
            files.append(
                KeptFile(info, entry.job.id, entry.job.name, entry.role, entry.needed, entry.reason)
            )
            continue
        match = _UPLOAD_NAME.match(info.filename)
        if match is None:
            others += 1
            continue
        files.append(_stray_upload(info, by_id.get(match.group(1))))
    return FileReview(files, others)


def _stray_upload(info: FileInfo, job: Job | None) -> KeptFile:
    """An upload named as Batchdash names them that no part records: an upload whose answer
    was lost (the part was uploaded again), or one of a job this scope does not hold."""
    if job is None:
        reason = _l("Its job is not in this registry or belongs to another user: left alone.")
        return KeptFile(info, None, None, "input", True, reason)
    if job.state == "finished":
        reason = _l("A spare upload no batch used, and the job is finished.")
        return KeptFile(info, job.id, job.name, "input", False, reason)
    reason = _l("A spare upload of a job still being sent: kept until the job is finished.")
    return KeptFile(info, job.id, job.name, "input", True, reason)


def _known_files(views: list[JobView]) -> dict[str, _Known]:
    """Every file id the jobs' parts and batches name, with what Batchdash wants of it."""
    known: dict[str, _Known] = {}
    for view in views:
        for part in view.parts:
            if part.input_file_id:
                known[part.input_file_id] = _input_file(view.job, part, view)
            info = view.infos.get(part.batch_id or "")
            if info is None:
                continue
            for role, file_id in (("output", info.output_file_id), ("error", info.error_file_id)):
                if file_id:
                    known[file_id] = _result_file(view.job, role, info.id in view.fetched)
    return known


def _input_file(job: Job, part: Part, view: JobView) -> _Known:
    if part.kind == "attached":
        reason = _l(
            "The input of a batch attached from elsewhere: repairs read its requests, and "
            "Batchdash did not upload it."
        )
        return _Known(job, "input", True, reason)
    if _input_is_done_with(part, view):
        return _Known(job, "input", False, _l("Its batch is over and its results are kept."))
    if part.batch_id is None and job.state == "finished":
        return _Known(job, "input", False, _l("No batch used it, and the job is finished."))
    if part.batch_id is None:
        return _Known(job, "input", True, _l("Its part is not sent yet."))
    info = view.infos.get(part.batch_id)
    if info is not None and info.terminal:
        return _Known(job, "input", True, _l("Its batch is over; its results are not kept yet."))
    return _Known(job, "input", True, _l("Its batch is still running."))


def _result_file(job: Job, role: str, fetched: bool) -> _Known:
    if fetched:
        return _Known(job, role, False, _l("Its lines are kept in Batchdash."))
    return _Known(job, role, True, _l("Its lines are not fetched yet."))


def clean_up(service: JobService) -> CleanUp:
    """Delete the files of the service's key that Batchdash made and no longer needs, as a
    fresh review finds them (a job that moved since the analyst looked is judged as it is
    now). InputError where the provider cannot list or delete files."""
    done = CleanUp()
    for kept in review_files(service).unneeded:
        try:
            service.gateway.delete_file(kept.file.id)
        except BatchdashError as error:
            done.failed.append((kept, error))
            if kept.job_id is not None:
                service.registry.note_file_delete_failed(
                    kept.file.id, kept.job_id, english(str(error))
                )
            continue
        service.registry.note_file_deleted(kept.file.id, kept.job_id)
        done.deleted.append(kept)
    return done


def _refuse_unmanaged(provider: ProviderProfile | None) -> None:
    refusal = files_refusal(provider)
    if refusal is not None:
        raise InputError(refusal)
