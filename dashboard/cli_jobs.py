"""The CLI's commands on saved jobs (DESIGN.md contract 7): status, cancel, repair, resume and
discard, and what submit and download share with them (the job service, the printed status).

    python dashboard/cli.py status job_0123456789ab
    python dashboard/cli.py resume job_0123456789ab
    python dashboard/cli.py discard job_0123456789ab

A direct job (`submit --direct`, `batchdash.direct`) runs in the foreground of `submit`,
`resume` and `repair`; `status` shows its progress under "direct" (no batch is made, so
"batches" stays empty and the merged table's `batch_id` says "direct"); `cancel` stops it
wherever it runs.

`cli.py` declares the commands; each is a pair of functions as there (`add_<command>`,
`run_<command>`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from batchdash.direct.adaptive_limit import DEFAULT_CONCURRENCY
from batchdash.errors import InputError
from batchdash.i18n import _
from batchdash.providers.choice import configured_provider
from batchdash.settings import API_KEY, Settings, owner_scope, read_settings

if TYPE_CHECKING:
    import pandas as pd

    from batchdash.api.gateway import Gateway
    from batchdash.direct.jobs import DirectJobs
    from batchdash.direct.progress import DirectProgress
    from batchdash.jobs.service import JobService
    from batchdash.jobs.status import JobStatus
    from batchdash.providers.profiles import ProviderProfile
    from batchdash.recipe import Recipe

#: What a command returns: a JSON-ready object to print, or None to print nothing.
Handler = Callable[[argparse.Namespace], Any]

_SubParsers = Any  # argparse's _SubParsersAction is private

#: The key sent to a server on this machine when none is set (it checks none).
LOCAL_KEY = "local"
#: Seconds beyond one call's timeout that `cancel` waits for a direct run elsewhere to stop.
_CANCEL_GRACE = 10.0


def job_service() -> JobService:
    """The job service of OPENAI_API_KEY at OPENAI_BASE_URL, on the registry of the settings."""
    # Imported here: the SDK and the database layer load only for the job commands.
    from batchdash.jobs.opening import open_job_service
    from batchdash.registry.store import Registry

    settings = read_settings(os.environ)
    gateway, scope, provider = key_gateway(settings)
    registry = Registry.from_settings(settings)
    return open_job_service(registry, gateway, scope, provider=provider)


def key_gateway(settings: Settings) -> tuple[Gateway, str, ProviderProfile]:
    """The gateway of OPENAI_API_KEY at OPENAI_BASE_URL, the key's scope and its provider."""
    from batchdash.jobs.opening import provider_gateway

    provider = configured_provider(settings)
    api_key = command_key(settings, provider)
    gateway = provider_gateway(api_key, settings.base_url, provider)
    return gateway, owner_scope(api_key, settings.base_url), provider


def command_key(settings: Settings, provider: ProviderProfile) -> str:
    """The API key the commands use; raises InputError when none is set."""
    # A server on this machine takes any key or none; the SDK wants one all the same.
    api_key = settings.api_key or (LOCAL_KEY if provider.direct_free else None)
    if api_key is None:
        raise InputError(
            _(
                "Set {variable} to your API key (any text works for the sandbox) and run the command "
                "again.",
                variable=API_KEY,
            )
        )
    return api_key


def _job_status(status: JobStatus) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "job_id": status.job_id,
        "name": status.name,
        "state": status.state,
        "rows": status.rows,
        "counts": status.counts,
        "batches": [
            {
                "id": b.id,
                "status": b.status,
                "total": b.total,
                "completed": b.completed,
                "failed": b.failed,
            }
            for b in status.batches
        ],
    }
    if status.direct is not None:
        # A direct run makes no batch: its progress instead (`batchdash.direct.progress`).
        direct = status.direct
        shown["direct"] = {
            "state": direct.state,
            "rows": direct.rows,
            "answered": direct.answered,
            "failed": direct.failed,
            "cancelled": direct.cancelled,
            "in_flight": direct.in_flight,
            "left": direct.left,
            "calls": direct.calls,
        }
    return shown


# --- direct runs -----------------------------------------------------------------------------

#: Seconds between two progress lines of a direct run on stderr.
_PROGRESS_EVERY = 1.0


def add_concurrency_option(parser: argparse.ArgumentParser, *, resuming: bool = False) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help=_(
            "for a direct run: the most calls at once (default: what the run was started with, "
            "else {default}); fewer while the server answers 429",
            default=DEFAULT_CONCURRENCY,
        )
        if resuming
        else _(
            "with --direct: the most calls at once (default {default}); fewer while the server "
            "answers 429",
            default=DEFAULT_CONCURRENCY,
        ),
    )


def checked_concurrency(args: argparse.Namespace) -> int:
    """The --concurrency given (for a direct run only), or the default."""
    given: int | None = args.concurrency
    if given is not None and not getattr(args, "direct", True):
        raise InputError(
            _("--concurrency sets how many calls a direct run makes at once; add --direct.")
        )
    if given is not None:
        check_concurrency(given)
    return given or DEFAULT_CONCURRENCY


def check_concurrency(given: int) -> None:
    """InputError for a --concurrency below 1."""
    if given < 1:
        raise InputError(_("--concurrency is {given}; give at least 1 call at once.", given=given))


def direct_jobs(service: JobService, concurrency: int = DEFAULT_CONCURRENCY) -> DirectJobs:
    from batchdash.direct.jobs import DirectJobs
    from batchdash.direct.runner import RunSettings

    return DirectJobs(service, RunSettings(concurrency=concurrency))


def run_directly(jobs: DirectJobs, job_id: str) -> None:
    """Send the job's unanswered rows in the foreground, progress on stderr: a line when it
    changed, at most one a second, and the last one of each part's run."""
    said = ""
    said_at = 0.0
    latest = ""

    def report(progress: DirectProgress) -> None:
        nonlocal said, said_at, latest
        latest = _("Direct: {progress}", progress=progress.describe())
        if latest != said and time.monotonic() - said_at >= _PROGRESS_EVERY:
            print(latest, file=sys.stderr, flush=True)
            said, said_at = latest, time.monotonic()

    try:
        jobs.run(job_id, on_progress=report)
    finally:
        if latest and latest != said:
            print(latest, file=sys.stderr, flush=True)


def submit_direct(
    service: JobService,
    frame: pd.DataFrame,
    recipe: Recipe,
    args: argparse.Namespace,
    twin: JobStatus | None,
    concurrency: int,
) -> dict[str, Any]:
    """`submit --direct`: a new direct job (or the unfinished direct job of the same table),
    run in the foreground; printed as submit prints, with no batch ids (none is made)."""
    jobs = direct_jobs(service, concurrency)
    if twin is not None and twin.direct is not None:
        note_twin(twin)
        job_id = twin.job_id
    else:
        job_id = jobs.create(args.name, frame, recipe, source_name=args.input.name)
    run_directly(jobs, job_id)
    return sent(service, job_id, [])


def note_twin(twin: JobStatus) -> None:
    """Say on stderr that submit resumed the unfinished job of the same table."""
    print(
        _(
            "Note: job {job_id} ({name}) has the same table and recipe and is not finished, "
            "so it was resumed instead of paying again; add --new to send the rows again as "
            "another job.",
            job_id=twin.job_id,
            name=twin.name,
        ),
        file=sys.stderr,
    )


def _direct_parts_open(service: JobService, job_id: str) -> bool:
    from batchdash.direct.cancelling import open_direct_parts

    return bool(open_direct_parts(service.registry.parts(job_id)))


def _unsent(status: JobStatus) -> str:
    if status.unsent_note and status.unsent_hint:
        # Two sentences: Chinese puts no space between them.
        return _("{note} {hint}", note=status.unsent_note, hint=status.unsent_hint)
    return str(status.unsent_note or status.unsent_hint)


def _print_problems(status: JobStatus) -> None:
    for problem in (_unsent(status), *status.problems):
        if problem:
            print(_("Note: {note}", note=problem), file=sys.stderr)


def sent(service: JobService, job_id: str, batch_ids: list[str]) -> dict[str, Any]:
    """What submit, resume and repair print, after the job's notes on stderr."""
    status = service.status(job_id)
    _print_problems(status)
    return {"job_id": job_id, "rows": status.rows, "parts": status.parts, "batch_ids": batch_ids}


def add_resume(commands: _SubParsers) -> None:
    parser = add_job_command(
        commands,
        "resume",
        run_resume,
        _("send the parts of a job that were not sent"),
        _(
            "Send the parts a stopped (or never started) submission left, or the rows a direct "
            "run left (in the foreground); print as submit does."
        ),
    )
    add_concurrency_option(parser, resuming=True)


def run_resume(args: argparse.Namespace) -> dict[str, Any]:
    from batchdash.direct.jobs import asked_concurrency

    service = job_service()
    job_id = args.job.strip()
    if args.concurrency is not None:
        check_concurrency(args.concurrency)
    job = service.registry.get_job(job_id, service.scope)
    if _direct_parts_open(service, job.id):
        parts = service.registry.parts(job.id)
        concurrency = args.concurrency or asked_concurrency(parts) or DEFAULT_CONCURRENCY
        run_directly(direct_jobs(service, concurrency), job_id)
        return sent(service, job_id, [])
    return sent(service, job_id, service.resume(job_id))


def add_discard(commands: _SubParsers) -> None:
    add_job_command(
        commands,
        "discard",
        run_discard,
        _("drop the parts of a job that were not sent"),
        _(
            "Drop the job's unsent parts so that nothing sends them (a job of which nothing was "
            "sent is archived too); its running batches go on."
        ),
    )


def run_discard(args: argparse.Namespace) -> dict[str, Any]:
    service = job_service()
    dropped = service.discard(args.job)
    return {**_job_status(service.status(args.job)), "discarded_parts": dropped}


def add_status(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "status",
        help=_("refresh and show a job, or every job"),
        description=_("Ask the API about running batches, fetch finished results, print the job."),
    )
    parser.add_argument("job", nargs="?", metavar="JOB", help=_("job id (default: every job)"))
    parser.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> dict[str, Any] | list[dict[str, Any]]:
    from batchdash.notify import deliver_pending  # loads the SMTP client only for `status`

    service = job_service()
    if args.job is None:
        service.refresh_all()
        deliver_pending(service.registry)
        statuses = service.list_jobs()
        for status in statuses:
            if status.unsent_note:
                print(
                    _(
                        "Note: {name} ({job_id}): {note}",
                        name=status.name,
                        job_id=status.job_id,
                        note=_unsent(status),
                    ),
                    file=sys.stderr,
                )
        return [_job_status(status) for status in statuses]
    status = service.refresh(args.job)
    deliver_pending(service.registry)
    _print_problems(status)
    return _job_status(status)


def add_cancel(commands: _SubParsers) -> None:
    add_job_command(
        commands,
        "cancel",
        run_cancel,
        _("cancel every running batch of a job"),
        _("Cancel the job's running batches (answers so far are kept) and its unsent parts."),
    )


def add_job_command(
    commands: _SubParsers, name: str, handler: Handler, summary: str, description: str
) -> argparse.ArgumentParser:
    """A command whose first argument is a job id; its parser, for any other arguments."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=description
    )
    parser.add_argument("job", metavar="JOB", help=_("job id"))
    parser.set_defaults(handler=handler)
    return parser


def run_cancel(args: argparse.Namespace) -> dict[str, Any]:
    service = job_service()
    job_id = args.job.strip()
    service.cancel(job_id)
    # A direct run elsewhere stops between two calls: its last answers are kept.
    deadline = time.monotonic() + service.gateway.timeout + _CANCEL_GRACE
    while _direct_parts_open(service, job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
        service.refresh(job_id)  # finishes the cancel if its runner is gone meanwhile
    return _job_status(service.refresh(job_id))


def add_repair(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "repair",
        help=_("run a job's failed, expired, cancelled or unrun rows again"),
        description=_(
            "Send the job's rows with the chosen statuses again, with the same custom_ids."
        ),
    )
    parser.add_argument("job", metavar="JOB", help=_("job id"))
    parser.add_argument(
        "--only",
        default="error,expired,cancelled,not_run",
        metavar="STATUSES",
        help=_("comma-separated statuses to run again (default: error,expired,cancelled,not_run)"),
    )
    parser.set_defaults(handler=run_repair)


def run_repair(args: argparse.Namespace) -> dict[str, Any]:
    from batchdash.direct.jobs import is_direct_job
    from batchdash.jobs.repair import checked_statuses

    statuses = checked_statuses(args.only.split(","))
    service = job_service()
    service.refresh(args.job)
    job_id = args.job.strip()
    if is_direct_job(service.registry.parts(service.registry.get_job(job_id, service.scope).id)):
        # A direct job is repaired directly, in the foreground: no batch is made.
        jobs = direct_jobs(service)
        rows = jobs.repair(job_id, statuses)
        run_directly(jobs, job_id)
        return {"job_id": job_id, "rows": rows, "parts": 1, "batch_ids": []}
    rows = service.plan_repair(args.job, statuses).rows
    batch_ids = service.repair(args.job, statuses)
    return {"job_id": args.job, "rows": rows, "parts": len(batch_ids), "batch_ids": batch_ids}
