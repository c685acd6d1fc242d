"""The CLI's job commands (contract 7): submit, status, cancel, repair, download.

The small cases run `cli.main` in this process against a sandbox on a 127.0.0.1 socket; the
120,000-row job runs every command as its own process against a sandbox process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cli
from sandbox.server import running_sandbox, sandbox_process

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "dashboard" / "cli.py"
COUNT_KEYS = ["ok", "error", "expired", "cancelled", "not_run", "pending"]


@pytest.fixture
def job_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """OPENAI_* and BATCHDASH_* set for a sandbox on a socket and a fresh registry."""
    with running_sandbox(tmp_path / "sandbox") as base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
        yield base_url


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, Any, str]:
    code = cli.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def write_reviews(path: Path, rows: int, markers: dict[int, str] | None = None) -> Path:
    texts = [f"Review {n}: fine" for n in range(1, rows + 1)]
    for row, marker in (markers or {}).items():
        texts[row] += f" {marker}"
    pd.DataFrame({"review": texts}).to_csv(path, index=False)
    return path


def status_until_finished(capsys: pytest.CaptureFixture[str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60  # guards against a hang only
    while True:
        code, status, _err = run_main(capsys, "status", job_id)
        assert code == 0
        if status["state"] == "finished":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_submit_status_repair_and_download(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(
        tmp_path / "reviews.csv", 6, {1: "[[sandbox:error]]", 3: "[[sandbox:flaky]]"}
    )
    code, submitted, _err = run_main(
        capsys,
        "submit",
        reviews,
        "--template",
        "Review: {review}",
        "--max-tokens",
        "20",
        "--name",
        "Six reviews",
    )
    assert code == 0
    assert list(submitted) == ["job_id", "rows", "parts", "batch_ids"]
    assert (submitted["rows"], submitted["parts"], len(submitted["batch_ids"])) == (6, 1, 1)
    job_id = submitted["job_id"]

    status = status_until_finished(capsys, job_id)
    assert list(status) == ["job_id", "name", "state", "rows", "counts", "batches"]
    assert status["name"] == "Six reviews" and status["rows"] == 6
    assert list(status["counts"]) == COUNT_KEYS
    assert (status["counts"]["ok"], status["counts"]["error"]) == (4, 2)
    assert status["batches"] == [
        {
            "id": submitted["batch_ids"][0],
            "status": "completed",
            "total": 6,
            "completed": 4,
            "failed": 2,
        }
    ]

    code, repaired, _err = run_main(capsys, "repair", job_id, "--only", "error")
    assert code == 0
    assert (repaired["job_id"], repaired["rows"], repaired["parts"]) == (job_id, 2, 1)
    status = status_until_finished(capsys, job_id)
    assert (status["counts"]["ok"], status["counts"]["error"]) == (5, 1)
    assert [b["id"] for b in status["batches"]] == submitted["batch_ids"] + repaired["batch_ids"]

    out = tmp_path / "merged.csv"
    code, downloaded, _err = run_main(capsys, "download", job_id, "--out", out)
    assert code == 0 and downloaded["out"] == str(out)
    merged = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, 7)]
    assert merged["status"].tolist() == ["ok", "error", "ok", "ok", "ok", "ok"]
    assert "[[sandbox:error]]" in merged.at[1, "error"]
    xlsx = tmp_path / "merged.xlsx"
    assert run_main(capsys, "download", job_id, "--out", xlsx)[0] == 0
    assert (
        pd.read_excel(xlsx, dtype=str, engine="calamine")["status"].tolist()
        == merged["status"].tolist()
    )
    raw = tmp_path / "merged-for-programs.csv"
    assert run_main(capsys, "download", job_id, "--out", raw, "--raw-csv")[0] == 0
    assert not raw.read_bytes().startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(raw, dtype=str, keep_default_na=False).equals(merged)


def test_status_without_a_job_lists_every_job_and_cancel_stops_one(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 3)
    ids = [
        run_main(capsys, "submit", reviews, "--template", "{review}", "--name", name, *new)[1][
            "job_id"
        ]
        for name, new in (("first", ()), ("second", ("--new",)))  # the same rows, deliberately
    ]
    code, cancelled, _err = run_main(capsys, "cancel", ids[1])
    assert code == 0 and cancelled["job_id"] == ids[1]
    assert cancelled["batches"][0]["status"] in ("cancelling", "cancelled", "completed")

    code, listed, _err = run_main(capsys, "status")
    assert code == 0
    assert [job["job_id"] for job in listed] == ids[::-1]
    assert [job["name"] for job in listed] == ["second", "first"]
    assert all(
        list(job) == ["job_id", "name", "state", "rows", "counts", "batches"] for job in listed
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "job_000000000000"], "There is no job job_000000000000 for this API key"),
        (["cancel", "job_000000000000"], "There is no job job_000000000000"),
        (["repair", "job_000000000000", "--only", "ok"], "Cannot repair rows with status ok"),
        (["download", "job_000000000000", "--out", "x.txt"], "must end in .csv or .xlsx"),
        (["submit", "missing.csv", "--template", "{a}"], "Batchdash cannot use 'missing.csv'"),
    ],
)
def test_bad_input_exits_2_with_one_plain_line(
    job_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, printed, err = run_main(capsys, *args)
    assert (code, printed) == (2, None)
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_key_is_required(
    job_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, printed, err = run_main(capsys, "status")
    assert (code, printed) == (2, None)
    assert (
        err
        == "Set OPENAI_API_KEY to your API key (any text works for the sandbox) and run the command again.\n"
    )


def test_a_job_of_120000_rows_through_the_cli_in_three_parts(tmp_path: Path) -> None:
    rows = 120_000
    reviews = write_reviews(tmp_path / "big.csv", rows)
    with sandbox_process(tmp_path / "sandbox") as (_child, base_url):
        env = {
            **os.environ,
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": "sk-cli-big",
            "BATCHDASH_DATA_DIR": str(tmp_path / "data"),
        }
        env.pop("BATCHDASH_DB_URL", None)

        def run(*args: str | Path) -> Any:
            done = subprocess.run(
                [sys.executable, str(CLI), *map(str, args)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        submitted = run("submit", reviews, "--template", "Review: {review}", "--max-tokens", "8")
        assert (submitted["rows"], submitted["parts"], len(submitted["batch_ids"])) == (rows, 3, 3)
        deadline = time.monotonic() + 600  # guards against a hang only
        while (status := run("status", submitted["job_id"]))["state"] != "finished":
            assert time.monotonic() < deadline, status
            time.sleep(1)
        assert status["counts"]["ok"] == rows
        assert [b["total"] for b in status["batches"]] == [50_000, 50_000, 20_000]
        out = tmp_path / "big-merged.csv"
        run("download", submitted["job_id"], "--out", out)

    merged = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(merged) == rows
    assert (merged["status"] == "ok").all()
    assert merged["custom_id"].tolist() == [f"row-{n}" for n in range(1, rows + 1)]
    assert merged["review"].tolist() == [f"Review {n}: fine" for n in range(1, rows + 1)]
    assert (merged["response"].str.len() > 0).all()
