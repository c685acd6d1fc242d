"""`cli.py files`: the key's files Batchdash made on the provider, and their clean-up."""

from __future__ import annotations

import argparse
import time
from typing import Any

import cli_jobs

from batchdash.i18n import _, english

_SubParsers = Any  # argparse's private _SubParsersAction


def add_files(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "files",
        help=_("list the files Batchdash made on the provider, and delete those not needed"),
        description=_(
            "List the files of the API key that Batchdash made (input files it uploaded, "
            "output and error files of its batches), each with its job, size, age and whether "
            "Batchdash still needs it. With --clean, delete those it no longer needs."
        ),
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help=_(
            "delete the files Batchdash no longer needs (their results are kept in the "
            "registry); files of unfinished batches are kept"
        ),
    )
    parser.set_defaults(handler=run_files)


def run_files(args: argparse.Namespace) -> dict[str, Any]:
    from batchdash.jobs.tidying import clean_up, review_files

    service = cli_jobs.job_service()
    now = time.time()
    shown: dict[str, Any] = {}
    if args.clean:
        done = clean_up(service)
        shown["deleted"] = [kept.describe(now) for kept in done.deleted]
        shown["failed"] = [
            {**kept.describe(now), "error": english(str(error))} for kept, error in done.failed
        ]
    review = review_files(service)
    shown["files"] = [kept.describe(now) for kept in review.files]
    shown["others"] = review.others
    return shown
