"""`cli.py watch` (contract 12): a job submitted from the CLI finishes through watch rounds
with no page open; a round in a loop stops on SIGTERM; a bad --every gets one plain line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from batchdash.api.gateway import Gateway
from sandbox.server import running_sandbox
from tests.test_cli_jobs import CLI, COUNT_KEYS, job_env, run_main, write_reviews
from tests.webhook_receiver import webhook_receiver

__all__ = ["job_env"]  # the fixture, used by name

SANDBOX_JOB_KEY = "sandbox"


def test_a_cli_job_finishes_through_watch_rounds_alone(
    job_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = ExitStack()
    hook = receiver.enter_context(webhook_receiver())
    monkeypatch.setenv("BATCHDASH_NOTIFY_URLS", hook.url)
    reviews = write_reviews(tmp_path / "reviews.csv", 5, {2: "[[sandbox:error]]"})
    code, submitted, _err = run_main(
        capsys, "submit", reviews, "--template", "{review}", "--name", "Watched"
    )
    assert code == 0
    job_id = submitted["job_id"]

    deadline = time.monotonic() + 60  # guards against a hang only
    rounds = 0
    while True:
        code, done, err = run_main(capsys, "watch", "--once")
        rounds += 1
        assert code == 0 and err == "", err
        assert list(done) == ["at", "moved", "skipped", "errors"]
        assert done["skipped"] == [] and done["errors"] == []
        if not done["moved"]:
            break  # nothing active any more
        [moved] = done["moved"]
        assert list(moved) == ["job_id", "name", "state", "rows", "counts", "batches"]
        assert moved["job_id"] == job_id and list(moved["counts"]) == COUNT_KEYS
        last = moved
        assert time.monotonic() < deadline, done
        time.sleep(0.1)
    assert rounds >= 2
    assert last["state"] == "finished"
    # The watcher told the webhook once, and a later round tells it nothing more.
    assert run_main(capsys, "watch", "--once")[0] == 0
    receiver.close()
    assert [(body["event"], body["job_id"]) for body in hook.bodies] == [("failed", job_id)]
    assert hook.bodies[0]["counts"]["error"] == 1
    # No input file of the job is left on the server; its output and error files are.
    purposes = sorted(
        f.purpose for f in Gateway(os.environ["OPENAI_API_KEY"], job_env).list_files()
    )
    assert purposes == ["batch_output", "batch_output"]
    assert (last["counts"]["ok"], last["counts"]["error"], last["counts"]["pending"]) == (4, 1, 0)
    assert last["batches"][0]["id"] == submitted["batch_ids"][0]
    # The results were fetched by the watcher: download reads them from the registry.
    out = tmp_path / "merged.csv"
    assert run_main(capsys, "download", job_id, "--out", out)[0] == 0
    assert "row-5" in out.read_text(encoding="utf-8-sig")
    # The watcher keeps its key's fingerprint in the registry, never the key.
    for written in (tmp_path / "data").rglob("*"):
        if written.is_file():
            assert os.environ["OPENAI_API_KEY"].encode() not in written.read_bytes(), written


@pytest.mark.parametrize("every", ["soon", "0", "-5", "nan", "inf", "1e9", ""])
def test_a_bad_every_gets_one_plain_line(
    job_env: str, capsys: pytest.CaptureFixture[str], every: str
) -> None:
    code, printed, err = run_main(capsys, "watch", "--every", every, "--once")
    assert code == 2 and printed is None
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"--every is {every}; give the seconds between two rounds")


def test_a_bad_every_in_chinese(job_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _printed, err = run_main(capsys, "--lang", "zh-CN", "watch", "--every", "0")
    assert code == 2 and err.count("\n") == 1
    assert "--every" in err and "秒" in err


def test_without_a_key_or_a_shared_sandbox_it_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("BATCHDASH_SANDBOX_URL", raising=False)
    monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
    code, _printed, err = run_main(capsys, "watch", "--once")
    assert code == 2 and err.startswith("Set OPENAI_API_KEY to your API key")


def test_a_shared_sandbox_s_jobs_are_watched_with_no_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Jobs the pages sent to the sandbox BATCHDASH_SANDBOX_URL names move under `watch` too."""
    from batchdash.jobs.opening import open_job_service, provider_gateway
    from batchdash.providers.profiles import BY_NAME, OPENAI
    from batchdash.providers.sandbox_scope import sandbox_scope
    from batchdash.registry.store import Registry
    from tests.jobs_kit import RECIPE, reviews

    with running_sandbox(tmp_path / "sandbox") as url:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        monkeypatch.setenv("BATCHDASH_SANDBOX_URL", url)
        monkeypatch.setenv("BATCHDASH_DATA_DIR", str(tmp_path / "data"))
        registry = Registry(f"sqlite:///{tmp_path / 'data' / 'registry.sqlite3'}")
        # As the page sends it: the sandbox's scope, a signed-in user's.
        gateway = provider_gateway(SANDBOX_JOB_KEY, url, OPENAI)
        page = open_job_service(registry, gateway, sandbox_scope("ana"), provider=OPENAI)
        job_id = page.create_job("From the page", reviews(3), RECIPE)
        page.submit(job_id)
        # And one the sandbox took while imitating another provider (Settings' choice).
        flow = BY_NAME["siliconflow"]
        imitating = open_job_service(
            registry,
            provider_gateway(SANDBOX_JOB_KEY, url, flow),
            sandbox_scope(None, flow),
            provider=flow,
        )
        flow_recipe = replace(RECIPE, model="deepseek-ai/DeepSeek-V3")
        flow_id = imitating.create_job("Imitating SiliconFlow", reviews(2), flow_recipe)
        imitating.submit(flow_id)
        services = {job_id: page, flow_id: imitating}
        deadline = time.monotonic() + 60
        while any(service.status(j).state != "finished" for j, service in services.items()):
            code, done, err = run_main(capsys, "watch", "--once")
            assert code == 0 and done["errors"] == [], err
            assert {moved["job_id"] for moved in done["moved"]} <= set(services)
            assert done["moved"]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert page.status(job_id).counts["ok"] == 3
        assert imitating.status(flow_id).counts["ok"] == 2
        registry.close()


def start_watcher(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`cli.py` with `args` in a process of its own, its stdout and stderr read as text."""
    return subprocess.Popen(
        [sys.executable, CLI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_loop_prints_a_line_a_round_and_stops_on_sigterm(job_env: str, tmp_path: Path) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    submitted = subprocess.run(
        [sys.executable, CLI, "submit", reviews, "--template", "{review}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    job_id = json.loads(submitted.stdout)["job_id"]
    watcher = start_watcher(env, "--lang", "zh-CN", "watch", "--every", "1")
    try:
        assert watcher.stdout is not None
        lines = []
        for line in watcher.stdout:
            lines.append(json.loads(line))
            moved = lines[-1]["moved"]
            if (moved and moved[0]["state"] == "finished") or not moved:
                break
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    assert out == "" or all(json.loads(line) for line in out.splitlines())
    assert lines[-1]["moved"] == [] or lines[-1]["moved"][0]["job_id"] == job_id
    assert "Traceback" not in err
    # Progress words in the language asked for: started, each round, stopping, stopped.
    said = err.splitlines()
    assert said[0].startswith("正在值守 1 个密钥的任务")
    # (A busy machine may put a retry note between the lines.)
    assert "第 1 轮：推进了 1 个任务，0 个由其他值守程序持有。" in said
    assert "本轮结束后停止……" in said
    assert said[-1] == "值守程序已停止。"
    rounds = [line for line in said if line.startswith("第 ")]
    assert len(rounds) >= len(lines)


def test_an_api_error_is_one_line_on_stderr_and_the_next_round_goes_on(
    job_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from batchdash.errors import ApiError
    from batchdash.jobs import following

    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    job_id = run_main(capsys, "submit", reviews, "--template", "{review}")[1]["job_id"]

    def unanswered(*_args: object, **_options: object) -> None:
        raise ApiError("The API did not answer (HTTP 503); try again in a minute.")

    with monkeypatch.context() as patched:
        patched.setattr(following, "poll_batches", unanswered)
        code, done, err = run_main(capsys, "watch", "--once")
    assert code == 0 and done["moved"] == []
    assert done["errors"] == ["The API did not answer (HTTP 503); try again in a minute."]
    assert err == "Note: The API did not answer (HTTP 503); try again in a minute.\n"

    code, done, err = run_main(capsys, "watch", "--once")  # the API answers again
    assert code == 0 and err == "" and done["errors"] == []
    assert [moved["job_id"] for moved in done["moved"]] == [job_id]
