"""The CLI in Simplified Chinese: `--lang zh-CN` or a Chinese `LANG`; its JSON stays data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli
from batchdash.i18n import use_language


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    # cli.main sets the language for the rest of the thread: keep it inside the test.
    with use_language("en"):
        yield


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("id,review\n007,Great value\n008,\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_bad_template_is_one_chinese_line_with_lang(
    reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--lang", "zh-CN", "convert", reviews, "--template", "{revew}",
        "--system", "Be {", "--out-dir", tmp_path,
    )  # fmt: skip
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("提示词模板使用了占位符“{revew}”（是否想写“{review}”？）")
    assert line.endswith("（此后还有 1 个问题。）")


def test_lang_after_the_command_name_works_too(
    reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(
        capsys, "convert", reviews, "--template", "{review}", "--lang=zh-CN",
        "--out-dir", tmp_path,
    )  # fmt: skip
    assert code == 2
    assert err.strip() == "第 2 行的提示词为空。请填写模板用到的单元格，或删除这些行。"


def test_a_chinese_lang_variable_picks_chinese(
    reviews: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    missing = tmp_path / "missing.csv"
    code, _out, err = run(capsys, "convert", missing, "--template", "{review}")
    assert code == 2
    assert (
        err.strip()
        == f"Batchdash 无法使用“{missing}”：No such file or directory。请检查路径后重试。"
    )


def test_notes_go_to_stderr_in_chinese_and_the_json_keys_stay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pasted = tmp_path / "rows.csv"
    pasted.write_text("review\nGood\nBad\n", encoding="utf-8")
    code, out, err = run(
        capsys, "--lang", "zh-CN", "convert", pasted, "--template", "Rate this",
        "--out-dir", tmp_path,
    )  # fmt: skip
    assert code == 0
    assert err.startswith("注意：模板没有用到任何列，因此全部 2 行都会收到同一个提示词")
    assert set(json.loads(out)) == {
        "rows", "parts", "input_tokens", "estimated_cost_usd", "answers_max_cost_usd",
    }  # fmt: skip


def test_help_is_in_chinese_around_argparses_own_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        cli.main(["--lang", "zh-CN", "merge", "--help"])
    out = capsys.readouterr().out
    assert ended.value.code == 0
    assert "把输出文件和错误文件（数量、顺序不限）中的回答对应到 INPUT 的各行" in out
    assert "当初发送的表格" in out
    assert out.startswith("usage: cli.py merge")  # argparse's own word, which it keeps


def test_providers_json_stays_english_data_in_chinese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(capsys, "--lang", "zh-CN", "providers")
    listed = {profile["name"]: profile for profile in json.loads(out)}
    assert code == 0
    assert listed["azure"]["notes"].startswith("The model is the name of a Global Batch")
    assert listed["azure"]["label"] == "Azure OpenAI v1"


def test_english_stays_the_default(
    reviews: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "BATCHDASH_LANG"):
        monkeypatch.delenv(variable, raising=False)
    code, _out, err = run(
        capsys, "convert", reviews, "--template", "{review}", "--out-dir", tmp_path
    )
    assert code == 2
    assert err.strip() == (
        "The prompt is empty in row 2. Fill the cells the template uses, or remove those rows."
    )
