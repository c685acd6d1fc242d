"""The CLI's vLLM round trip (DESIGN.md contract 11): a job's JSONL exported with the command
that runs it on a GPU machine, and the output file imported back.

    python dashboard/cli.py submit reviews.csv --template "{review}" --model M --export out/
    python dashboard/cli.py export job_0123456789ab --out out/
    python dashboard/cli.py import job_0123456789ab out/job_0123456789ab-part-0001-output.jsonl

`cli.py` declares the commands; each is a pair of functions as there (`add_<command>`,
`run_<command>`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cli_jobs

from batchdash.i18n import _

if TYPE_CHECKING:
    from batchdash.jobs.offline import Export

_SubParsers = Any  # argparse's _SubParsersAction is private


def written_export(export: Export, folder: Path) -> dict[str, Any]:
    """Write the export's files into `folder` (made if missing); what the CLI prints."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part in export.parts:
        path = folder / part.name
        path.write_bytes(part.data)
        files.append(
            {
                "part": part.part_number,
                "rows": part.rows,
                "file": str(path),
                "output": str(folder / part.output_name),
                "command": part.command(export.model, str(folder)),
            }
        )
    return {
        "job_id": export.job_id,
        "model": export.model,
        "rows": export.rows,
        "files": files,
        "command": export.command(str(folder)),
    }


def add_export(commands: _SubParsers) -> None:
    parser = cli_jobs.add_job_command(
        commands,
        "export",
        run_export,
        _("write a job's JSONL and the command that runs it with vLLM"),
        _(
            "Write the job's parts waiting for vLLM (or, when none waits, its rows without an "
            "answer) as JSONL files in DIR, and print them with the run-batch command line that "
            "answers them; bring its output back with `import`."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=_("folder to write"))


def run_export(args: argparse.Namespace) -> dict[str, Any]:
    service = cli_jobs.job_service()
    return written_export(service.export(args.job.strip()), args.out)


def add_import(commands: _SubParsers) -> None:
    parser = cli_jobs.add_job_command(
        commands,
        "import",
        run_import,
        _("merge an output file of vLLM's run-batch into a job"),
        _(
            "Merge FILE (the -o file of vLLM's run-batch) into the job by custom_id, as a "
            "finished batch whose rows cost nothing. The same file twice changes nothing."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help=_("the run-batch output file"))


def run_import(args: argparse.Namespace) -> dict[str, Any]:
    path: Path = args.file
    data = path.read_bytes()
    service = cli_jobs.job_service()
    report = service.import_results(args.job.strip(), data, path.name)
    status = service.status(report.job_id)
    return {**report.to_dict(), "state": status.state, "counts": status.counts}
