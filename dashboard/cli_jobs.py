"""The CLI's commands on saved jobs (DESIGN.md contract 7): status, cancel, repair, resume and
discard, and what submit and download share with them (the job service, the printed status).

    python dashboard/cli.py status job_0123456789ab
    python dashboard/cli.py resume job_0123456789ab
    python dashboard/cli.py discard job_0123456789ab

`cli.py` declares the commands; each is a pair of functions as there (`add_<command>`,
`run_<command>`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from batchdash.errors import InputError
from batchdash.i18n import _
from batchdash.providers.choice import configured_provider
from batchdash.settings import API_KEY, owner_scope, read_settings

if TYPE_CHECKING:
    from batchdash.jobs.service import JobService
    from batchdash.jobs.status import JobStatus

#: What a command returns: a JSON-ready object to print, or None to print nothing.
Handler = Callable[[argparse.Namespace], Any]

_SubParsers = Any  # argparse's _SubParsersAction is private


def job_service() -> JobService:
    """The job service of OPENAI_API_KEY at OPENAI_BASE_URL, on the registry of the settings."""
    # Imported here: the SDK and the database layer load only for the job commands.
    from batchdash.jobs.opening import open_job_service, provider_gateway
    from batchdash.registry.store import Registry

    settings = read_settings(os.environ)
    if settings.api_key is None:
        raise InputError(
            _(
                "Set {variable} to your API key (any text works for the sandbox) and run the command "
                "again.",
                variable=API_KEY,
            )
        )
    provider = configured_provider(settings)
    gateway = provider_gateway(settings.api_key, settings.base_url, provider)
    registry = Registry.from_settings(settings)
    scope = owner_scope(settings.api_key, settings.base_url)
    return open_job_service(registry, gateway, scope, provider=provider)


def _job_status(status: JobStatus) -> dict[str, Any]:
    return {
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


def _unsent(status: JobStatus) -> str:
    return f"{status.unsent_note} {status.unsent_hint}".strip()


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
    _add_job_command(
        commands,
        "resume",
        run_resume,
        _("send the parts of a job that were not sent"),
        _("Send the parts a stopped (or never started) submission left; print as submit does."),
    )


def run_resume(args: argparse.Namespace) -> dict[str, Any]:
    service = job_service()
    return sent(service, args.job.strip(), service.resume(args.job))


def add_discard(commands: _SubParsers) -> None:
    _add_job_command(
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
    service = job_service()
    if args.job is None:
        service.refresh_all()
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
    _print_problems(status)
    return _job_status(status)


def add_cancel(commands: _SubParsers) -> None:
    _add_job_command(
        commands,
        "cancel",
        run_cancel,
        _("cancel every running batch of a job"),
        _("Cancel the job's running batches (answers so far are kept) and its unsent parts."),
    )


def _add_job_command(
    commands: _SubParsers, name: str, handler: Handler, summary: str, description: str
) -> None:
    """A command whose one argument is a job id."""
    parser = commands.add_parser(name, help=summary, description=description)
    parser.add_argument("job", metavar="JOB", help=_("job id"))
    parser.set_defaults(handler=handler)


def run_cancel(args: argparse.Namespace) -> dict[str, Any]:
    service = job_service()
    service.cancel(args.job)
    return _job_status(service.refresh(args.job))


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
    from batchdash.jobs.repair import checked_statuses

    statuses = checked_statuses(args.only.split(","))
    service = job_service()
    service.refresh(args.job)
    rows = service.plan_repair(args.job, statuses).rows
    batch_ids = service.repair(args.job, statuses)
    return {"job_id": args.job, "rows": rows, "parts": len(batch_ids), "batch_ids": batch_ids}
