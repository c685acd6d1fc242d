"""The CLI's answers to a stopped or repeated submission: `submit` of a table and recipe that
already make an unfinished job resumes that job, `resume` and `discard` act on what was not
sent, `status` says what is unsent, and every hint in the code names a command that works.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

import cli
from batchdash.api.gateway import Gateway
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope, read_settings
from tests.jobs_kit import RECIPE, reviews
from tests.test_cli_jobs import job_env, run_main, write_reviews

__all__ = ["job_env"]  # the fixture, used by name

DASHBOARD = Path(cli.__file__).resolve().parent
#: A hint names a command as `cli.py COMMAND ARGS`, up to a closing backtick or the line's end.
HINT = re.compile(r"cli\.py ([a-z][^`'\n]*)")
SUBMIT = ("--template", "Review: {review}", "--max-tokens", "20")


@pytest.fixture
def service(job_env: str) -> Iterator[JobService]:
    """The job service the CLI opens, on the same registry and scope."""
    settings = read_settings(dict(os.environ))
    assert settings.api_key is not None
    registry = Registry.from_settings(settings)
    yield JobService(
        registry,
        Gateway(settings.api_key, settings.base_url),
        owner_scope(settings.api_key, settings.base_url),
    )
    registry.close()


def batch_count(base_url: str) -> int:
    client = OpenAI(api_key="sk-cli-test", base_url=base_url, max_retries=0)
    return len(list(client.batches.list(limit=100)))


def test_submit_again_resumes_the_unfinished_job_and_new_makes_another(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], service: JobService
) -> None:
    table = write_reviews(tmp_path / "reviews.csv", 5)
    # Unfinished, of five other reviews: never taken for this table.
    other_table = service.create_job("Other", reviews(5), RECIPE)

    code, first, err = run_main(capsys, "submit", table, *SUBMIT)
    assert code == 0 and "same table" not in err and first["job_id"] != other_table
    code, again, err = run_main(capsys, "submit", table, *SUBMIT, "--name", "Twice")
    assert code == 0 and again["job_id"] == first["job_id"]
    assert again["batch_ids"] == first["batch_ids"]
    assert err.splitlines()[0] == (
        f"Note: job {first['job_id']} (reviews.csv) has the same table and recipe and is not "
        "finished, so it was resumed instead of paying again; add --new to send the rows "
        "again as another job."
    )
    assert batch_count(job_env) == 1

    code, other_recipe, err = run_main(capsys, "submit", table, *SUBMIT[:2], "--max-tokens", "9")
    assert code == 0 and other_recipe["job_id"] != first["job_id"] and "same table" not in err
    code, forced, err = run_main(capsys, "submit", table, *SUBMIT, "--new")
    assert code == 0 and forced["job_id"] not in (first["job_id"], other_recipe["job_id"])
    assert batch_count(job_env) == 3


def test_a_job_never_sent_is_told_then_resumed_or_discarded(
    job_env: str, capsys: pytest.CaptureFixture[str], service: JobService
) -> None:
    kept = service.create_job("Kept", reviews(3), RECIPE)
    dropped = service.create_job("Dropped", reviews(4), RECIPE)

    code, status, err = run_main(capsys, "status", kept)
    assert code == 0 and status["state"] == "active" and status["batches"] == []
    assert err == (
        "Note: Nothing of this job was sent yet (1 of 1 part): its submission never started, "
        f"so nothing was billed. Send it with `cli.py resume {kept}`, or drop it with "
        f"`cli.py discard {kept}`.\n"
    )
    code, listed, err = run_main(capsys, "status")
    assert code == 0 and {job["job_id"] for job in listed} == {kept, dropped}
    assert f"Note: Kept ({kept}): Nothing of this job was sent yet" in err
    assert f"Send it with `cli.py resume {kept}`" in err
    assert batch_count(job_env) == 0  # a refresh never sends a job nobody submitted

    code, resumed, err = run_main(capsys, "resume", kept)
    assert code == 0 and resumed["job_id"] == kept and len(resumed["batch_ids"]) == 1
    assert "Nothing of this job" not in err
    assert batch_count(job_env) == 1

    code, discarded, err = run_main(capsys, "discard", dropped)
    assert code == 0 and discarded["state"] == "finished" and discarded["discarded_parts"] == 1
    assert err == ""
    assert service.status(dropped).archived
    assert service.status(dropped).problems == (
        "Part 1 was discarded before it was sent (not billed).",
    )
    assert batch_count(job_env) == 1

    for args, message in (
        (("resume", dropped), f"Job {dropped} has no part waiting to be sent"),
        (("discard", dropped), f"use `cli.py cancel {dropped}`"),
        (("resume", kept), f"See it with `cli.py status {kept}`"),
    ):
        code, printed, err = run_main(capsys, *args)
        assert (code, printed) == (2, None)
        assert err.count("\n") == 1 and message in err


def _texts(path: Path) -> Iterator[str]:
    """Every string literal of a module, an f-string's fields filled with a job id."""
    tree = ast.parse(path.read_text())
    pieces = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in pieces
        ):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(
                part.value if isinstance(part, ast.Constant) else "job_0123456789ab"
                for part in node.values
            )


def test_every_hint_in_the_code_names_a_command_the_cli_accepts() -> None:
    """A hint with arguments must parse as written; one naming a command alone ("merged with
    'cli.py merge'") must name a command that exists."""
    hints = {
        hint.strip().rstrip(".,;)")
        for path in sorted(DASHBOARD.rglob("*.py"))
        for text in _texts(path)
        for hint in HINT.findall(text)
    }
    commands = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    refused = []
    for hint in sorted(hints):
        words = shlex.split(hint)
        if len(words) == 1:
            if words[0] not in commands:
                refused.append(hint)
            continue
        try:
            cli.build_parser().parse_args(words)
        except SystemExit:
            refused.append(hint)
    assert refused == []
    named = {hint.split()[0] for hint in hints}
    assert {"resume", "discard", "status", "cancel", "merge", "submit"} <= named
