"""`cli.py submit --direct`: killed with SIGKILL mid-run and resumed, or cancelled, nothing is
lost and no recorded row is sent again (counted on the server's side); bad options are one
plain line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import cli
from batchdash.api.gateway import Gateway
from batchdash.errors import InputError
from batchdash.jobs.service import JobService
from batchdash.registry.store import Registry
from batchdash.settings import read_settings
from tests.direct_kit import PROMPT_PREFIX, CallLog, counting_sandbox
from tests.test_cli_jobs import run_main

ROWS = 300
CONCURRENCY = 4
SUBMIT = (
    "--template",
    PROMPT_PREFIX + "{key}",
    "--id-column",
    "key",
    "--max-tokens",
    "16",
    "--direct",
    "--concurrency",
    str(CONCURRENCY),
)


@pytest.fixture
def direct_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, CallLog]]:
    """A counting sandbox whose calls take 20 ms each, and the CLI's environment for it."""
    with counting_sandbox(tmp_path / "sandbox", sync_pace=0.02) as (url, log):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-direct")
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
        yield url, log


def write_keyed(path: Path) -> Path:
    pd.DataFrame({"key": [f"k{i}" for i in range(1, ROWS + 1)]}).to_csv(path, index=False)
    return path


def killed_mid_run(tmp_path: Path, log: CallLog) -> tuple[Registry, str, set[str], Counter[str]]:
    """Run `submit --direct` of a fresh table in a child process and SIGKILL it once 60 rows
    are recorded; the registry, the job, the rows recorded when it died and the calls per row
    the server saw from it."""
    table = write_keyed(tmp_path / "keys.csv")
    err = tmp_path / "submit.err"
    registry = Registry(read_settings(dict(os.environ)).db_url)
    with err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, cli.__file__, "submit", str(table), *SUBMIT],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 120  # guards against a hang only
            while True:
                jobs = registry.list_jobs(registry_scope(registry))
                parts = registry.parts(jobs[0].id) if jobs else []
                if parts and len(registry.direct_recorded_ids(parts[0].id)) >= 60:
                    break
                assert child.poll() is None and time.monotonic() < deadline, err.read_text()
                time.sleep(0.02)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    time.sleep(0.2)  # the calls in flight when it died reach the server meanwhile
    return registry, jobs[0].id, registry.direct_recorded_ids(parts[0].id), log.per_row()


def registry_scope(registry: Registry) -> str:
    from batchdash.settings import owner_scope

    settings = read_settings(dict(os.environ))
    assert settings.api_key is not None
    return owner_scope(settings.api_key, settings.base_url)


def test_a_direct_submit_killed_mid_run_resumes_without_sending_a_recorded_row_again(
    direct_env: tuple[str, CallLog], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _url, log = direct_env
    registry, job_id, recorded, before = killed_mid_run(tmp_path, log)
    assert len(recorded) < ROWS

    code, status, err = run_main(capsys, "status", job_id)
    assert code == 0 and status["state"] == "active" and status["batches"] == []
    assert status["counts"]["ok"] == len(recorded)
    assert status["counts"]["pending"] == ROWS - len(recorded)
    assert status["direct"]["state"] == "stopped"
    assert f"cli.py resume {job_id}" in err

    # No --concurrency: the run goes on at the calls at once the killed one was asked for.
    code, resumed, err = run_main(capsys, "resume", job_id)
    assert code == 0 and resumed == {"job_id": job_id, "rows": ROWS, "parts": 1, "batch_ids": []}
    assert [part.direct_ceiling for part in registry.parts(job_id)] == [CONCURRENCY]
    after = log.per_row()
    # No recorded row was sent again; at most the rows in flight at the kill were.
    assert all(after[row] == before[row] for row in recorded)
    resent = [row for row in before if row not in recorded and after[row] > before[row]]
    assert len(resent) <= CONCURRENCY
    assert all(after[f"k{i}"] >= 1 for i in range(1, ROWS + 1))

    out = tmp_path / "merged.csv"
    code, downloaded, _err = run_main(capsys, "download", job_id, "--out", out)
    assert code == 0 and downloaded["state"] == "finished"
    merged = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(merged["custom_id"]) == [f"k{i}" for i in range(1, ROWS + 1)]
    assert set(merged["status"]) == {"ok"} and set(merged["batch_id"]) == {"direct"}
    # Every call is counted but those the killed run had in flight.
    code, final, _err = run_main(capsys, "status", job_id)
    made = sum(after.values())
    assert made - CONCURRENCY <= final["direct"]["calls"] <= made
    registry.close()


def test_a_stopped_direct_job_is_cancelled_and_its_unsent_rows_end_cancelled(
    direct_env: tuple[str, CallLog], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _url, log = direct_env
    registry, job_id, recorded, before = killed_mid_run(tmp_path, log)

    code, status, _err = run_main(capsys, "cancel", job_id)
    assert code == 0 and status["state"] == "finished"
    assert status["counts"]["ok"] == len(recorded)
    assert status["counts"]["cancelled"] == ROWS - len(recorded)
    assert status["direct"]["state"] == "done"
    assert log.per_row() == before  # nothing was sent by the cancel
    registry.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--direct", "--concurrency", "0"), "--concurrency is 0; give at least 1 call at once."),
        (
            ("--concurrency", "3"),
            "--concurrency sets how many calls a direct run makes at once; add --direct.",
        ),
    ],
)
def test_a_bad_concurrency_is_one_plain_line(
    direct_env: tuple[str, CallLog],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    message: str,
) -> None:
    table = write_keyed(tmp_path / "keys.csv")
    code, printed, err = run_main(capsys, "submit", table, "--template", "{key}", *options)
    assert (code, printed, err) == (2, None, message + "\n")


def test_a_direct_job_is_repaired_directly(
    direct_env: tuple[str, CallLog], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, log = direct_env
    table = tmp_path / "keys.csv"
    pd.DataFrame({"key": ["k1", "k2 [[sandbox:error]]", "k3"]}).to_csv(table, index=False)
    code, submitted, _err = run_main(capsys, "submit", table, *SUBMIT)
    assert code == 0 and submitted["batch_ids"] == []
    job_id = submitted["job_id"]

    code, repaired, err = run_main(capsys, "repair", job_id, "--only", "error")
    assert code == 0, err
    assert repaired == {"job_id": job_id, "rows": 1, "parts": 1, "batch_ids": []}
    # Refused again (the same request), sent once more; the others were not sent again.
    assert log.per_row() == {"k1": 1, "k2 [[sandbox:error]]": 2, "k3": 1}
    code, status, _err = run_main(capsys, "status", job_id)
    assert status["counts"]["error"] == 1 and status["state"] == "finished"
    assert status["direct"]["rows"] == 4 and status["batches"] == []
    registry = Registry(read_settings(dict(os.environ)).db_url)
    service = JobService(registry, Gateway("sk-cli-direct", url), registry_scope(registry))
    with pytest.raises(InputError, match="runs directly, without batches"):
        service.repair(job_id)  # no batch is made for a direct job's rows
    registry.close()
