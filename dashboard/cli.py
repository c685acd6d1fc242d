"""Batchdash on the command line: the same core as the pages (DESIGN.md contract 7).

    python dashboard/cli.py convert reviews.csv --template "Classify: {review}" --out-dir parts
    python dashboard/cli.py merge reviews.csv --results output.jsonl errors.jsonl --out answers.xlsx
    python dashboard/cli.py sandbox --port 8765
    python dashboard/cli.py sandbox --sync-pace 0.05 --sync-concurrency 8
    python dashboard/cli.py submit reviews.csv --template "Classify: {review}" --name Reviews
    python dashboard/cli.py submit reviews.csv --template "Classify: {review}" --direct
    python dashboard/cli.py status job_0123456789ab
    python dashboard/cli.py providers
    python dashboard/cli.py recipes
    python dashboard/cli.py submit tickets.csv --recipe Triage@2 --model gpt-4.1
    python dashboard/cli.py files --clean
    python dashboard/cli.py resume job_0123456789ab
    python dashboard/cli.py export job_0123456789ab --out for-vllm
    python dashboard/cli.py import job_0123456789ab for-vllm/job_0123456789ab-part-0001-output.jsonl
    python dashboard/cli.py watch --every 30

Every command prints its result as one JSON object on stdout; notes about the input go to
stderr. A bad input exits 2 with one plain line on stderr and no traceback.

Each command is a pair of functions: `add_<command>(commands)` declares its arguments and
`run_<command>(args)` does the work and returns what to print. A new command adds its pair and
one line in `build_parser`; `add_recipe_options` and `recipe_from_args` are shared with any
command that builds requests. The commands on saved jobs (status, cancel, repair, resume,
discard) and the job service they open are in `cli_jobs.py`; the vLLM round trip (export,
import, submit --export) in `cli_offline.py`; the watcher in `cli_watch.py`.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Before the imports below (pandas, pyarrow, the planner: about half a second), so that a
    # workbook's sheet is scanned beside them, in a forked process (see scan_ahead).
    from batchdash.inputs.scan_ahead import scan_ahead_of

    scan_ahead_of(sys.argv[1:])

import argparse
import gc
import itertools
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cli_files
import cli_jobs
import cli_offline
import cli_recipes
import cli_watch
import pyarrow.compute as pc

from batchdash.api.notices import listening_to_notices
from batchdash.errors import BatchdashError, InputError, ResultsError
from batchdash.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    PSEUDO,
    Language,
    Message,
    _,
    _l,
    language_from_tag,
    n_l,
    server_default_language,
    use_language,
)
from batchdash.inputs.file_kinds import check_upload_size
from batchdash.inputs.reading import Table, read_table
from batchdash.preflight.cost import estimate_cost
from batchdash.preflight.plan import load_ahead, plan_batch
from batchdash.preflight.pricing import price_for
from batchdash.preflight.provider_checks import batch_api_problem
from batchdash.providers.choice import configured_provider
from batchdash.providers.profiles import PROFILES
from batchdash.recipe import ENDPOINTS, Endpoint, Recipe
from batchdash.registry.blobs import line_pieces
from batchdash.results.export import (
    MergedColumns,
    TableColumns,
    check_sheet_size,
    write_csv,
    write_xlsx_table,
)
from batchdash.results.merge import merge_table, unmatched_custom_ids
from batchdash.results.parse import ROW_STATUSES, infer_endpoint_and_model
from batchdash.results.result_table import ResultFile, read_result_files
from batchdash.settings import read_settings
from sandbox.profiles import PROFILE_NAMES as SANDBOX_PROFILES

#: Exit status of a bad input (argparse uses the same for bad arguments).
EXIT_BAD_INPUT = 2

#: What a command returns: a JSON-ready object to print, or None to print nothing.
Handler = Callable[[argparse.Namespace], Any]

_SubParsers = Any  # argparse's _SubParsersAction is private

#: Short names accepted for --endpoint besides the paths themselves.
ENDPOINT_ALIASES: dict[str, Endpoint] = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
    "completions": "/v1/completions",
    "moderations": "/v1/moderations",
}

_OUTPUT_SUFFIXES = (".csv", ".xlsx")

#: Lines of a results file read at a time while looking for its first answer.
_LINES_PER_LOOK = 1_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is 0, or 2 for a bad input."""
    language, argv = cli_language(sys.argv[1:] if argv is None else argv, os.environ)
    # Within the call only: a test or a program calling `main` keeps its own language after.
    with use_language(language):
        return _run(argv)


def _run(argv: list[str]) -> int:
    """`main` in the language of the command."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        # A busy or failing API is told as it happens ("Note: OpenAI is busy (rate limit),
        # retrying in 20 s."), while the command waits and tries again.
        with listening_to_notices(
            lambda notice: print(_("Note: {note}", note=notice), file=sys.stderr, flush=True)
        ):
            result = handler(args)
    except (BatchdashError, OSError) as error:
        print(plain_line(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    if result is not None:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def cli_language(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Language, list[str]]:
    """The language of the messages (`--lang`, anywhere in the command; else LC_ALL,
    LC_MESSAGES, LANG as POSIX orders them; else BATCHDASH_LANG) and the arguments without
    `--lang`, which then works after the command name as well as before it."""
    rest: list[str] = []
    asked: str | None = None
    words = iter(argv)
    for word in words:
        if word == "--lang":
            asked = next(words, "")
        elif word.startswith("--lang="):
            asked = word.removeprefix("--lang=")
        else:
            rest.append(word)
    if asked is not None:
        language = language_from_tag(asked)
        if language is None or language == PSEUDO:
            rest.insert(0, f"--lang={asked}")  # argparse refuses it, listing the choices
        return language or DEFAULT_LANGUAGE, rest
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(variable):  # the first one set decides, as in POSIX
            return language_from_tag(environ[variable]) or server_default_language(), rest
    return server_default_language(), rest


def build_parser() -> argparse.ArgumentParser:
    """The `cli.py` parser with one subcommand per command."""
    parser = argparse.ArgumentParser(
        prog="cli.py",
        description=_("Batchdash: spreadsheets of prompts through the OpenAI Batch API."),
    )
    parser.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help=_("language of the messages (default: LC_ALL / LANG, else BATCHDASH_LANG, else en)"),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_convert(commands)
    add_merge(commands)
    add_sandbox(commands)
    add_submit(commands)
    cli_jobs.add_status(commands)
    cli_jobs.add_cancel(commands)
    cli_jobs.add_repair(commands)
    add_download(commands)
    add_providers(commands)
    cli_recipes.add_recipes(commands)
    cli_jobs.add_resume(commands)
    cli_jobs.add_discard(commands)
    cli_offline.add_export(commands)
    cli_offline.add_import(commands)
    cli_files.add_files(commands)
    cli_watch.add_watch(commands, plain_line)
    return parser


def plain_line(error: BaseException) -> str:
    """An error as the one line the CLI prints."""
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or type(error).__name__
        return _(
            "Batchdash cannot use '{filename}': {reason}. Check the path and try again.",
            filename=error.filename,
            reason=reason,
        )
    text = " ".join(str(error).split())
    return text or _("{error}. Check the command and try again.", error=type(error).__name__)


# --- shared pieces ---------------------------------------------------------------------------


def endpoint_argument(text: str) -> Endpoint:
    """An --endpoint value: a path such as /v1/responses, or its short name."""
    value = text.strip()
    if value in ENDPOINT_ALIASES:
        return ENDPOINT_ALIASES[value]
    for endpoint in ENDPOINTS:
        if value == endpoint:
            return endpoint
    names = ", ".join([*ENDPOINT_ALIASES, *ENDPOINTS])
    raise argparse.ArgumentTypeError(
        _("'{text}' is not an endpoint; use one of: {names}", text=text, names=names)
    )


def add_recipe_options(parser: argparse.ArgumentParser, *, template_required: bool = True) -> None:
    """The options every request-building command takes (convert and submit).

    Options not given stay None, so that those given can override a saved recipe's fields.
    """
    defaults = Recipe()
    parser.add_argument(
        "--template", required=template_required, help=_("prompt with {{column}} placeholders")
    )
    parser.add_argument("--system", help=_("system prompt (instructions)"))
    parser.add_argument("--model", help=_("default {model}", model=defaults.model))
    parser.add_argument(
        "--endpoint",
        type=endpoint_argument,
        help=_("chat, responses, embeddings, completions, or the path (default chat)"),
    )
    parser.add_argument("--id-column", help=_("column whose values become custom_ids"))
    parser.add_argument("--max-tokens", type=int, help=_("maximum output tokens per answer"))
    parser.add_argument("--temperature", type=float, help=_("sampling temperature"))
    parser.add_argument(
        "--completion-window",
        help=_(
            "how long the provider may take, e.g. 24h or 72h (default: the provider's first; "
            "`providers` lists each one's)"
        ),
    )


def recipe_from_args(args: argparse.Namespace, base: Recipe | None = None) -> Recipe:
    """The recipe the options of `add_recipe_options` describe: `base` (default: a new
    recipe's fields) with every option given in its place."""
    given = {
        "endpoint": args.endpoint,
        "model": args.model,
        "template": args.template,
        "system_prompt": args.system,
        "temperature": args.temperature,
        "max_output_tokens": args.max_tokens,
        "id_column": args.id_column,
        "completion_window": args.completion_window,
    }
    return replace(base or Recipe(), **{k: v for k, v in given.items() if v is not None})


def read_input(path: Path, while_parsing: Callable[[], object] | None = None) -> Table:
    """The spreadsheet at `path`; its reading notes go to stderr. `while_parsing`: see
    `read_table`."""
    check_upload_size(path.stat().st_size, path.name)  # before reading a huge file at all
    table = read_table(path.read_bytes(), path.name, while_parsing=while_parsing)
    for note in table.notes:
        print(_("Note: {note}", note=note), file=sys.stderr)
    return table


def _usd(amount: float | None) -> float | None:
    # Ten decimals: finer than any one token's price, and no float noise such as ...98e-05.
    return None if amount is None else round(amount, 10)


def check_table_path(out: Path, raw_csv: bool = False, rows: int | None = None) -> None:
    """Refuse an output name that is neither .csv nor .xlsx, --raw-csv with an .xlsx, or an
    .xlsx of more `rows` than a sheet holds, before any work is done."""
    if out.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise InputError(
            _(
                "The output file '{name}' must end in .csv or .xlsx, e.g. --out answers.xlsx.",
                name=out.name,
            )
        )
    if raw_csv and out.suffix.lower() == ".xlsx":
        raise InputError(
            _(
                "--raw-csv writes a CSV, and {name} is an XLSX, which keeps every text as it is "
                "anyway: drop --raw-csv, or name a .csv file.",
                name=out.name,
            )
        )
    if rows is not None and out.suffix.lower() == ".xlsx":
        check_sheet_size(rows)


def write_table(merged: MergedColumns, out: Path, raw_csv: bool = False) -> None:
    """The merged table as XLSX or CSV, by the name's suffix, streamed to the file; with
    `raw_csv` the CSV for programs (every text as it is, no BOM) instead of the one for
    spreadsheets. A failure leaves no half-written file."""
    try:
        with out.open("wb") as stream:
            if out.suffix.lower() == ".xlsx":
                write_xlsx_table(merged, stream)
            else:
                write_csv(merged, stream, for_spreadsheets=not raw_csv)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def add_raw_csv_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--raw-csv",
        action="store_true",
        help=_(
            "write the CSV for programs (Python, R, databases): every text exactly as it is and "
            "no byte-order mark; the default CSV is for spreadsheets (UTF-8 with BOM, a ' before "
            "each text that starts like a formula: =, +, -, @)"
        ),
    )


# --- convert ---------------------------------------------------------------------------------


def add_convert(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "convert",
        help=_("write the JSONL request files of a spreadsheet"),
        description=_("Write DIR/part-0001.jsonl, ... (one request per row) and print the counts."),
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help=_("CSV, TSV or XLSX file"))
    add_recipe_options(parser, template_required=False)
    cli_recipes.add_recipe_option(parser)
    parser.add_argument("--out-dir", type=Path, default=Path("."), help=_("default: here"))
    parser.set_defaults(handler=run_convert)


def run_convert(args: argparse.Namespace) -> dict[str, Any]:
    recipe = recipe_from_args(args, cli_recipes.recipe_without_service(args))
    provider = configured_provider(read_settings(os.environ))
    table = read_input(args.input, while_parsing=lambda: load_ahead(recipe.model, provider))
    plan = plan_batch(table.frame, recipe, provider=provider, forked_counting=True)
    blocking = [problem for problem in plan.problems if problem.blocking]
    if blocking:
        more = len(blocking) - 1
        if more:
            raise InputError(
                n_l(
                    "{problem} ({n} more problem after this one.)",
                    "{problem} ({n} more problems after this one.)",
                    more,
                    problem=blocking[0].sentence,
                )
            )
        raise InputError(blocking[0].sentence)
    for problem in plan.warnings:
        print(_("Note: {note}", note=problem.message), file=sys.stderr)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in plan.parts:
        # Written a chunk of rows at a time: a whole part may be 190 MB.
        with (out_dir / f"part-{part.number:04d}.jsonl").open("wb") as handle:
            plan.write_part(part.number, handle)
    return {
        "rows": plan.rows,
        "parts": len(plan.parts),
        "input_tokens": plan.input_tokens,
        # The input's cost (contract 7); the answers are billed on top, by their length.
        "estimated_cost_usd": _usd(plan.estimated_cost_usd),
        # Their upper bound: every answer as long as --max-tokens (else the model) allows.
        "answers_max_cost_usd": _usd(
            estimate_cost(
                recipe, plan.rows, plan.input_tokens, price_for(recipe.model)
            ).answers_max_usd
        ),
    }


# --- merge -----------------------------------------------------------------------------------


def add_merge(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "merge",
        help=_("merge output and error files back into the spreadsheet"),
        description=(
            _(
                "Join the answers of output and error files (any number, any order) to the rows of "
                "INPUT and write the merged table. The endpoint and model come from the answers."
            )
        ),
    )
    parser.add_argument(
        "input", type=Path, metavar="INPUT", help=_("the spreadsheet that was sent")
    )
    parser.add_argument(
        "--results", type=Path, nargs="+", required=True, metavar="FILE", help=_("JSONL files")
    )
    parser.add_argument("--id-column", help=_("the ID column the requests used, if any"))
    parser.add_argument("--model", help=_("price rows as this model (default: the answers' model)"))
    parser.add_argument(
        "--out", type=Path, help=_("OUT.csv or OUT.xlsx (default: INPUT's name + '-merged.csv')")
    )
    add_raw_csv_option(parser)
    parser.set_defaults(handler=run_merge)


def run_merge(args: argparse.Namespace) -> dict[str, Any]:
    input_path: Path = args.input
    out: Path = args.out or input_path.with_name(f"{input_path.stem}-merged.csv")
    check_table_path(out, args.raw_csv)
    table = read_input(input_path)
    check_table_path(out, args.raw_csv, rows=len(table.frame))  # before any result is read
    paths: list[Path] = args.results
    recipe = _merge_recipe(paths, args.model, args.id_column)
    # Each file is read a run of whole lines at a time, never whole.
    files = [ResultFile(line_pieces(path), "", path.name) for path in paths]
    results = read_result_files(files, recipe)
    merged = merge_table(table.frame, recipe, results)
    unmatched = unmatched_custom_ids(merged.column("custom_id").combine_chunks(), results)
    del results, table  # the merged table holds all that is written
    if unmatched:
        print(
            _(
                "Note: {n} results match no row of {name} (e.g. custom_id '{example}') and were "
                "left out.",
                n=len(unmatched),
                name=input_path.name,
                example=unmatched[0],
            ),
            file=sys.stderr,
        )
    write_table(TableColumns(merged), out, args.raw_csv)
    counts = pc.value_counts(merged.column("status")).to_pylist()
    found = {str(item["values"]): int(item["counts"]) for item in counts}
    costs = merged.column("cost_usd")  # missing where the model's price is unknown
    return {
        "rows": merged.num_rows,
        "counts": {status: found.get(status, 0) for status in ROW_STATUSES},
        "unmatched_results": len(unmatched),
        "cost_usd": None if costs.null_count else _usd(pc.sum(costs).as_py() or 0.0),
        "out": str(out),
    }


def _merge_recipe(paths: Sequence[Path], model: str | None, id_column: str | None) -> Recipe:
    """Endpoint and model as the answers report them (a file of failures alone tells neither)."""
    found: dict[Endpoint, str] = {}
    answered_model: str | None = None
    for path in paths:
        with path.open("rb") as stream:
            first = 1
            # Read up to the first answer, a group of lines at a time, never the whole file.
            while group := list(itertools.islice(stream, _LINES_PER_LOOK)):
                inferred, reported = infer_endpoint_and_model(
                    b"".join(group), source_name=path.name, first_line=first
                )
                if inferred is not None:
                    found.setdefault(inferred, path.name)
                    answered_model = answered_model or reported
                    break
                first += len(group)
    if len(found) > 1:
        files = [f"{name} ({endpoint})" for endpoint, name in found.items()]
        described: str | Message = files[0]
        for other in files[1:]:
            described = _l("{first} and {second}", first=described, second=other)
        raise ResultsError(
            _(
                "The results files come from different endpoints: {described}. Merge the files of "
                "one job at a time.",
                described=described,
            )
        )
    endpoint: Endpoint = next(iter(found), Recipe().endpoint)
    return Recipe(endpoint=endpoint, model=model or answered_model or "", id_column=id_column)


# --- sandbox ---------------------------------------------------------------------------------


def add_sandbox(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "sandbox",
        help=_("serve the local OpenAI-compatible Files and Batches API"),
        description=_("Serve the sandbox until interrupted (Ctrl+C)."),
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data-dir", type=Path, help=_("default: BATCHDASH_DATA_DIR/sandbox"))
    parser.add_argument(
        "--rate",
        type=float,
        help=_(
            "requests per second per batch (default: unlimited); a batch whose metadata holds "
            "sandbox_seconds takes that long instead, whatever its size"
        ),
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help=_("share of calls that fail (500, 429 or a stall), 0 to 1; the model routes too"),
    )
    parser.add_argument(
        "--sync-pace",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=_(
            "seconds each call to a model route (chat completions, responses, embeddings, "
            "completions) takes, as a real model does (default 0)"
        ),
    )
    parser.add_argument(
        "--sync-concurrency",
        type=int,
        metavar="N",
        help=_(
            "the most model-route calls answered at once; one more is answered 429 with "
            "retry-after (default: no limit)"
        ),
    )
    parser.add_argument(
        "--profile",
        default="openai",
        choices=SANDBOX_PROFILES,
        help=_(
            "the provider whose documented differences the sandbox imitates (endpoints, windows, "
            "limits, status names, missing routes); default: openai"
        ),
    )
    parser.add_argument(
        "--enqueued-token-limit",
        type=int,
        metavar="N",
        help=_(
            "the most input tokens of unfinished batches per model; a batch over it fails "
            "validation with token_limit_exceeded, as at OpenAI (default: no limit)"
        ),
    )
    parser.add_argument(
        "--require-key",
        action="store_true",
        help=_("answer 401, as OpenAI does, to requests without an Authorization: Bearer header"),
    )
    parser.set_defaults(handler=run_sandbox)


def run_sandbox(args: argparse.Namespace) -> None:
    if not 0.0 <= args.fault_rate <= 1.0:
        raise InputError(
            _("--fault-rate is {value}; give a share from 0 to 1.", value=args.fault_rate)
        )
    if args.rate is not None and args.rate <= 0:
        raise InputError(
            _("--rate is {value}; give requests per second above 0, or omit it.", value=args.rate)
        )
    if args.sync_pace < 0:
        raise InputError(
            _("--sync-pace is {value}; give 0 or more seconds per call.", value=args.sync_pace)
        )
    if args.sync_concurrency is not None and args.sync_concurrency < 1:
        raise InputError(
            _(
                "--sync-concurrency is {value}; give at least 1 call, or omit it.",
                value=args.sync_concurrency,
            )
        )
    if args.enqueued_token_limit is not None and args.enqueued_token_limit < 1:
        raise InputError(
            _(
                "--enqueued-token-limit is {value}; give at least 1 token, or omit it.",
                value=args.enqueued_token_limit,
            )
        )
    # Imported here: uvicorn and the server load only for this command.
    from sandbox.server import default_data_dir, serve
    from sandbox.store import DataDirBusy
    from sandbox.token_limit import every_model

    data_dir: Path = args.data_dir or default_data_dir()
    _check_port_free(args.host, args.port)
    started = {
        "base_url": f"http://{args.host}:{args.port}/v1",
        "data_dir": str(data_dir),
        "profile": args.profile,
    }
    print(json.dumps(started), flush=True)
    try:
        serve(
            args.host,
            args.port,
            data_dir,
            rate=args.rate,
            fault_rate=args.fault_rate,
            profile=args.profile,
            require_key=args.require_key,
            sync_pace=args.sync_pace,
            sync_concurrency=args.sync_concurrency,
            token_limits=every_model(args.enqueued_token_limit),
        )
    except DataDirBusy as error:
        raise InputError(str(error)) from None


def _check_port_free(host: str, port: int) -> None:
    """uvicorn exits with a log line when the port is taken; say it plainly instead."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(
                _(
                    "Cannot listen on {host}:{port} ({reason}). Stop what uses that port, or pick "
                    "another with --port.",
                    host=host,
                    port=port,
                    reason=error.strerror or error,
                )
            ) from None


# --- jobs: submit and download (the other job commands are in cli_jobs) ----------------------


def add_submit(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "submit",
        help=_("save a spreadsheet as a job and send its batches"),
        description=_(
            "Save INPUT as a job, send one batch per part and print the batch ids. If the same "
            "table and recipe already make an unfinished job, that job is resumed instead."
        ),
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help=_("CSV, TSV or XLSX file"))
    add_recipe_options(parser, template_required=False)
    cli_recipes.add_recipe_option(parser)
    parser.add_argument("--name", default="", help=_("the job's name (default: INPUT's name)"))
    parser.add_argument(
        "--new",
        action="store_true",
        help=_(
            "make a new job even when an unfinished job has the same table and recipe (its rows "
            "are sent and billed again)"
        ),
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help=_(
            "send nothing: save the job for vLLM's run-batch, write its JSONL in DIR and print "
            "the command that runs it (as `export` does); `import` brings the answers back"
        ),
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help=_(
            "send each row to the endpoint's synchronous route now, a few at a time, instead "
            "of in a batch (a server without a Batch API, urgent rows): the normal price, or "
            "none on a server of your own; progress on stderr, and `batch_ids` is empty"
        ),
    )
    cli_jobs.add_concurrency_option(parser)
    parser.set_defaults(handler=run_submit)


def run_submit(args: argparse.Namespace) -> dict[str, Any]:
    from batchdash.registry.fingerprints import table_fingerprint

    input_path: Path = args.input
    concurrency = cli_jobs.checked_concurrency(args)
    table = read_input(input_path)
    service = cli_jobs.job_service()
    recipe = recipe_from_args(
        args, cli_recipes.chosen_recipe(args, service.registry, service.scope)
    )
    if args.export is not None:
        if args.direct:
            raise InputError(
                _("--direct sends the rows now and --export sends nothing: choose one of them.")
            )
        job_id = service.create_exported_job(
            args.name, table.frame, recipe, source_name=input_path.name
        )
        return cli_offline.written_export(service.export(job_id), args.export)
    twin = None if args.new else service.unfinished_twin(table_fingerprint(table.frame, recipe))
    if args.direct:  # the synchronous routes: every server has them, with a Batch API or not
        return cli_jobs.submit_direct(service, table.frame, recipe, args, twin, concurrency)
    refusal = batch_api_problem(service.provider)
    if refusal is not None:
        raise InputError(refusal.message)
    if twin is not None and twin.direct is not None:
        twin = None  # a direct job of the same table is no batch job to resume
    if twin is not None:
        cli_jobs.note_twin(twin)
        return cli_jobs.sent(service, twin.job_id, service.submit(twin.job_id))
    job_id = service.create_job(args.name, table.frame, recipe, source_name=input_path.name)
    return cli_jobs.sent(service, job_id, service.submit(job_id))


def add_download(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "download",
        help=_("write a job's merged table"),
        description=_("Refresh the job and write its merged table (rows still running: not_run)."),
    )
    parser.add_argument("job", metavar="JOB", help=_("job id"))
    parser.add_argument("--out", type=Path, required=True, help=_("OUT.csv or OUT.xlsx"))
    add_raw_csv_option(parser)
    parser.set_defaults(handler=run_download)


def run_download(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    check_table_path(out, args.raw_csv)
    service = cli_jobs.job_service()
    job = service.registry.get_job(args.job.strip(), service.scope)
    check_table_path(out, args.raw_csv, rows=job.rows)  # before anything is fetched or merged
    status = service.refresh(job.id)
    write_table(service.merged_columns(job.id), out, args.raw_csv)
    return {
        "job_id": status.job_id,
        "state": status.state,
        "rows": status.rows,
        "counts": status.counts,
        "out": str(out),
    }


# --- providers -------------------------------------------------------------------------------


def add_providers(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "providers",
        help=_("list the Batch API providers Batchdash knows"),
        description=_(
            "Print every provider profile (endpoints, windows, file limits, ...) as JSON."
        ),
    )
    parser.set_defaults(handler=run_providers)


def run_providers(_args: argparse.Namespace) -> list[dict[str, Any]]:
    return [profile.describe() for profile in PROFILES]


if __name__ == "__main__":
    status = main()
    # The interpreter's last collection would walk every object of pandas, pyarrow and the
    # price list (0.15 s); frozen, they end with the process, as its memory does anyway.
    gc.freeze()
    sys.exit(status)
