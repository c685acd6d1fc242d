"""`cli.py providers` (contract 10), and a job run through the CLI by each provider's profile
(BATCHDASH_PROVIDER) against a sandbox on a 127.0.0.1 socket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from batchdash.providers.profiles import BY_NAME, PROFILES
from sandbox.server import running_sandbox
from tests.test_cli_jobs import CLI, job_env, run_main, status_until_finished, write_reviews

__all__ = ["job_env"]  # the fixture, used by name below

REQUIRED = {
    "name",
    "label",
    "base_url",
    "endpoints",
    "completion_windows",
    "max_requests_per_file",
    "max_file_bytes",
    "cancel",
    "list",
}

# An endpoint and a model each provider takes (models as their documentation names them).
JOBS = {
    "openai": ("chat", "gpt-4o-mini"),
    "azure": ("responses", "my-gpt-4o-mini-batch"),
    "groq": ("chat", "llama-3.1-8b-instant"),
    "deepinfra": ("embeddings", "BAAI/bge-m3"),
    "dashscope": ("chat", "batch-test-model"),
    "siliconflow": ("chat", "deepseek-ai/DeepSeek-V3"),
    "gemini": ("chat", "gemini-2.5-flash"),
    "litellm": ("chat", "gpt-4o-mini"),
    "custom": ("completions", "gpt-3.5-turbo-instruct"),
}


def test_providers_prints_every_profile_as_json() -> None:
    done = subprocess.run(
        [sys.executable, str(CLI), "providers"], capture_output=True, text=True, check=True
    )
    listed = json.loads(done.stdout)
    assert [entry["name"] for entry in listed] == [profile.name for profile in PROFILES]
    for entry in listed:
        assert set(entry) >= REQUIRED
        profile = BY_NAME[entry["name"]]
        assert entry["completion_windows"] == list(profile.completion_windows)
        assert entry["max_requests_per_file"] == profile.max_requests_per_file
    assert done.stderr == ""


def test_an_unknown_provider_is_one_plain_line(
    job_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BATCHDASH_PROVIDER", "openrouter")
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = run_main(capsys, "submit", reviews, "--template", "{review}")
    assert code == 2 and out is None
    assert err.count("\n") == 1 and "siliconflow" in err and "Traceback" not in err


@pytest.fixture(params=sorted(JOBS))
def provider(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The CLI set up for a provider, against the sandbox imitating it (`--profile NAME`)."""
    name = request.param
    with running_sandbox(tmp_path / "sandbox", profile=name) as base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("BATCHDASH_DB_URL", raising=False)
        monkeypatch.setenv("BATCHDASH_PROVIDER", name)
        yield name


# Rows of each job: SiliconFlow takes at most 5,000 lines a file, DashScope's free test model
# 100: those jobs go as two batches.
ROWS = {"siliconflow": 5_001, "dashscope": 101}


def test_a_job_runs_end_to_end_by_each_profile(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, model = JOBS[provider]
    rows = ROWS.get(provider, 3)
    reviews = write_reviews(tmp_path / "reviews.csv", rows)
    code, submitted, err = run_main(
        capsys,
        "submit",
        reviews,
        "--template",
        "{review}",
        "--endpoint",
        endpoint,
        "--model",
        model,
        "--name",
        provider,
    )
    assert code == 0, err
    assert submitted["parts"] == (2 if provider in ROWS else 1)
    status = status_until_finished(capsys, submitted["job_id"])
    assert status["counts"]["ok"] == rows
    out = tmp_path / "merged.csv"
    code, _downloaded, err = run_main(capsys, "download", submitted["job_id"], "--out", out)
    assert code == 0, err
    merged = pd.read_csv(out, encoding="utf-8-sig")
    assert merged["status"].eq("ok").all() and len(merged) == rows


def test_a_window_the_provider_lacks_is_refused_before_sending(
    job_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BATCHDASH_PROVIDER", "groq")
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = run_main(
        capsys,
        "submit",
        reviews,
        "--template",
        "{review}",
        "--model",
        "llama-3.1-8b-instant",
        "--completion-window",
        "336h",
    )
    assert code == 2 and out is None
    assert "Groq does not offer a 336h completion window" in err
    code, listed, _err = run_main(capsys, "status")
    assert code == 0 and listed == []
