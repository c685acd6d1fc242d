"""`cli.py files [--clean]` against a sandbox on a 127.0.0.1 socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_jobs import job_env, run_main, status_until_finished, write_reviews

__all__ = ["job_env"]  # the fixture, used by name


def test_files_lists_what_batchdash_made_and_clean_deletes_what_it_no_longer_needs(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 4, {1: "[[sandbox:error]]"})
    code, sent, _err = run_main(capsys, "submit", reviews, "--template", "Say: {review}")
    assert code == 0
    code, listed, _err = run_main(capsys, "files")
    assert code == 0
    (upload,) = listed["files"]
    assert upload["role"] == "input" and upload["job_id"] == sent["job_id"]
    assert upload["filename"] == f"{sent['job_id']}-part-0001.jsonl" and upload["bytes"] > 0

    status_until_finished(capsys, sent["job_id"])  # the refresh deletes the input file
    code, listed, _err = run_main(capsys, "files")
    assert sorted(f["role"] for f in listed["files"]) == ["error", "output"]
    assert not any(f["needed"] for f in listed["files"])
    assert {f["job_id"] for f in listed["files"]} == {sent["job_id"]}

    code, cleaned, _err = run_main(capsys, "files", "--clean")
    assert code == 0
    assert sorted(f["role"] for f in cleaned["deleted"]) == ["error", "output"]
    assert cleaned["failed"] == [] and cleaned["files"] == [] and cleaned["others"] == 0
    # The results stay in the registry: the download still has every row.
    out = tmp_path / "answers.csv"
    code, downloaded, _err = run_main(capsys, "download", sent["job_id"], "--out", out)
    assert code == 0 and downloaded["counts"]["ok"] == 3 and downloaded["counts"]["error"] == 1


def test_a_provider_that_cannot_list_files_is_told_plainly(
    job_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCHDASH_PROVIDER", "deepinfra")
    code, shown, err = run_main(capsys, "files", "--clean")
    assert code == 2 and shown is None
    assert err.strip().splitlines() == [
        "DeepInfra does not document listing or deleting files, so Batchdash can neither show "
        "nor delete the files it uploaded there; remove them in the provider's own console."
    ]
    code, _shown, err = run_main(capsys, "--lang", "zh-CN", "files")
    assert code == 2 and "DeepInfra" in err and "文件" in err
