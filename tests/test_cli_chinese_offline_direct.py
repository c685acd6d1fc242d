"""`--lang zh-CN` on the CLI's vLLM round trip (`export`, `import`) and its direct runs
(`submit --direct`): notes, progress and errors in Chinese; the printed JSON stays data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batchdash.i18n import use_language
from tests.test_cli_jobs import job_env, run_main, write_reviews

__all__ = ["job_env"]  # the fixture, used by name below


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    # cli.main sets the language for the rest of the thread: keep it inside the test.
    with use_language("en"):
        yield


def test_import_of_a_wrong_file_is_one_chinese_line(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, exported, err = run_main(
        capsys, "submit", reviews, "--template", "{review}", "--export", tmp_path / "out"
    )
    assert code == 0, err
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_bytes(b"not json at all\n")
    code, out, err = run_main(capsys, "--lang", "zh-CN", "import", exported["job_id"], wrong)
    assert (code, out) == (2, None)
    assert err == (
        "wrong.jsonl 不是结果文件（有一行不是 JSON）：请导入 vLLM 的 run-batch 为此任务写出的输出"
        "文件（即其 -o 文件）。\n"
    )


def test_export_help_is_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_main(capsys, "--lang", "zh-CN", "export", "--help")
    help_text = capsys.readouterr().out
    assert "要写入的文件夹" in help_text and "将任务中等待 vLLM 运行的分片" in help_text


def test_a_direct_run_says_its_progress_in_chinese(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 3)
    code, sent, err = run_main(
        capsys, "--lang", "zh-CN", "submit", reviews, "--template", "{review}", "--direct"
    )
    assert code == 0, err
    assert sent["batch_ids"] == [] and sent["rows"] == 3
    last = err.splitlines()[-1]
    assert last.startswith("直接运行：3 行中已回答 3 行、") and last.endswith("次调用。")


def test_a_bad_concurrency_is_one_chinese_line(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, out, err = run_main(
        capsys, "--lang", "zh-CN", "submit", reviews, "--template", "{review}", "--direct",
        "--concurrency", "0",
    )  # fmt: skip
    assert (code, out) == (2, None)
    assert err == "--concurrency 为 0；请至少设为同时 1 次调用。\n"
