"""The CLI's vLLM round trip (contract 11) and its refusal of batches to a local server:
`submit --export`, `export`, `import`, against a sandbox on a 127.0.0.1 socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sandbox.server import running_sandbox
from tests.test_cli_jobs import job_env, run_main, write_reviews
from tests.vllm_output import output_for

__all__ = ["job_env"]  # the fixture, used by name below

MODEL = "Qwen/Qwen2.5-7B-Instruct"


def submit(
    capsys: pytest.CaptureFixture[str], reviews: Path, *options: str | Path
) -> tuple[int, Any, str]:
    """`cli.py submit` of the reviews with the template `{review}` and `options`."""
    return run_main(capsys, "submit", reviews, "--template", "{review}", *options)


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a sandbox imitating `vllm serve`, with no API key at all."""
    with running_sandbox(tmp_path / "sandbox", profile="vllm") as base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("BATCHDASH_PROVIDER", "vllm")
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
        yield base_url


def test_a_batch_to_a_server_without_a_batch_api_is_refused_before_anything_is_saved(
    local_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = submit(capsys, reviews, "--model", MODEL)
    assert code == 2 and out is None
    assert err.count("\n") == 1 and err.startswith("vLLM serve has no Batch API")
    assert "--direct" in err and "--export DIR" in err and "Traceback" not in err
    code, listed, _err = run_main(capsys, "status")
    assert code == 0 and listed == []


def test_submit_export_import_and_download_round_trip(
    local_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 4)
    folder = tmp_path / "for-vllm"
    code, exported, err = submit(
        capsys, reviews, "--model", MODEL, "--name", "Local", "--export", folder
    )
    assert code == 0, err
    job_id = exported["job_id"]
    [part] = exported["files"]
    assert (exported["rows"], exported["model"], part["rows"]) == (4, MODEL, 4)
    assert part["file"] == str(folder / f"{job_id}-part-0001.jsonl")
    assert exported["command"] == (
        f"python -m vllm.entrypoints.openai.run_batch -i {part['file']} -o {part['output']} "
        f"--model {MODEL}"
    )
    sent = Path(part["file"]).read_bytes()
    assert [json.loads(line)["custom_id"] for line in sent.splitlines()] == [
        "row-1",
        "row-2",
        "row-3",
        "row-4",
    ]
    code, status, _err = run_main(capsys, "status", job_id)
    assert (status["state"], status["counts"]["pending"], status["batches"]) == ("active", 4, [])

    output = Path(part["output"])
    output.write_bytes(output_for(sent, errors={"row-2": "CUDA out of memory"}, missing=["row-3"]))
    code, imported, err = run_main(capsys, "import", job_id, output)
    assert code == 0, err
    assert (imported["ok"], imported["error"], imported["missing"]) == (2, 1, 1)
    assert imported["state"] == "finished" and imported["counts"]["not_run"] == 1
    code, again, _err = run_main(capsys, "import", job_id, output)
    assert again["already_imported"] and again["counts"] == imported["counts"]

    merged_csv = tmp_path / "merged.csv"
    code, _downloaded, err = run_main(capsys, "download", job_id, "--out", merged_csv)
    assert code == 0, err
    merged = pd.read_csv(merged_csv, encoding="utf-8-sig", keep_default_na=False)
    assert list(merged["status"]) == ["ok", "error", "not_run", "ok"]
    assert list(merged["response"]) == ["Answer to row-1", "", "", "Answer to row-4"]
    assert merged.loc[1, "error"] == "CUDA out of memory (HTTP 400)."
    assert list(merged["batch_id"]) == [f"import:{output.name}"] * 2 + [""] + [
        f"import:{output.name}"
    ]
    assert list(merged["cost_usd"]) == [0, 0, 0, 0]

    code, rest, err = run_main(capsys, "export", job_id, "--out", folder)
    assert code == 0, err
    [again_part] = rest["files"]
    assert again_part["rows"] == 2 and again_part["part"] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "holds no result lines"),
        (b"not json at all\n", "is not a results file"),
    ],
)
def test_import_of_a_wrong_file_is_one_plain_line(
    job_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    words: str,
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, exported, err = submit(capsys, reviews, "--export", tmp_path / "out")
    assert code == 0, err
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_bytes(content)
    code, out, err = run_main(capsys, "import", exported["job_id"], wrong)
    assert code == 2 and out is None
    assert err.count("\n") == 1 and err.startswith(f"wrong.jsonl {words}")
    code, status, _err = run_main(capsys, "status", exported["job_id"])
    assert status["counts"]["pending"] == 2


def test_export_of_an_endpoint_run_batch_lacks_is_refused(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = submit(
        capsys, reviews, "--endpoint", "responses", "--export", tmp_path / "out"
    )
    assert code == 2 and out is None
    assert "vLLM's run-batch runs Chat Completions and Embeddings only" in err
    assert not (tmp_path / "out").exists()


def test_the_same_job_runs_directly_on_the_server_without_a_batch_api_at_no_cost(
    local_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 3)
    code, sent, err = submit(capsys, reviews, "--model", MODEL, "--direct")
    assert code == 0, err
    assert sent["batch_ids"] == [] and sent["rows"] == 3
    out = tmp_path / "answers.csv"
    code, done, err = run_main(capsys, "download", sent["job_id"], "--out", out)
    assert code == 0, err
    assert done["counts"]["ok"] == 3
    merged = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert merged["batch_id"].tolist() == ["direct"] * 3
    assert merged["cost_usd"].astype(float).tolist() == [0.0] * 3


def test_direct_and_export_together_are_refused_in_one_line(
    local_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = submit(capsys, reviews, "--direct", "--export", tmp_path / "x")
    assert code == 2 and out is None
    assert err.count("\n") == 1 and "choose one of them" in err
