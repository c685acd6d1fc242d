"""The message lookup: languages from locale tags, messages translated when shown."""

from __future__ import annotations

import pytest

from batchdash.errors import InputError
from batchdash.i18n import (
    _,
    _l,
    current_language,
    language_from_tag,
    n_,
    n_l,
    server_default_language,
    use_language,
)
from cli import cli_language


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh_CN.UTF-8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
        ("en_US.UTF-8", "en"),
        ("fr-FR", None),
        ("C.UTF-8", None),
        ("POSIX", None),
        ("", None),
        (None, None),
    ],
)
def test_locale_tags_map_to_a_language(tag: str | None, language: str | None) -> None:
    assert language_from_tag(tag) == language


def test_the_server_default_comes_from_batchdash_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHDASH_LANG", "zh-CN")
    assert server_default_language() == "zh-CN"
    assert current_language() == "zh-CN"
    monkeypatch.setenv("BATCHDASH_LANG", "klingon")
    assert server_default_language() == "en"
    monkeypatch.delenv("BATCHDASH_LANG")
    assert current_language() == "en"


def test_a_message_is_translated_each_time_it_is_shown() -> None:
    message = _l("Imitating {provider}", provider="Groq")
    with use_language("zh-CN"):
        chinese = str(message)
    assert chinese == "模拟 Groq"
    assert str(message) == "Imitating Groq"
    with use_language("zh-CN"):
        assert str(message) == chinese  # the same object, again in Chinese


def test_an_error_built_from_a_message_speaks_the_language_it_is_shown_in() -> None:
    error = InputError(_l("Imitating {provider}", provider="Groq"))
    assert str(error) == "Imitating Groq"
    with use_language("zh-CN"):
        assert str(error) == "模拟 Groq"


def test_a_message_inside_another_is_translated_with_it() -> None:
    outer = _l("Imitating {provider}", provider=_l("Settings"))
    with use_language("zh-CN"):
        assert str(outer) == "模拟 设置"
    assert str(outer) == "Imitating Settings"


def test_an_untranslated_message_stays_english_and_is_filled() -> None:
    with use_language("zh-CN"):
        assert _("No such message {x}", x=3) == "No such message 3"


def test_english_plurals_follow_the_number() -> None:
    assert n_("{n:,} row", "{n:,} rows", 1) == "1 row"
    assert n_("{n:,} row", "{n:,} rows", 12345) == "12,345 rows"
    assert str(n_l("{n} part", "{n} parts", 2)) == "2 parts"


def test_the_pseudo_language_marks_every_translated_text() -> None:
    with use_language("qps-ploc"):
        assert _("Jobs") == "⟦Jobs⟧"
        assert n_("{n} row", "{n} rows", 2) == "⟦2 rows⟧"


@pytest.mark.parametrize(
    ("argv", "environ", "language", "rest"),
    [
        (["--lang", "zh-CN", "status"], {}, "zh-CN", ["status"]),
        (
            ["status", "--lang=zh-CN", "job_1"],
            {"LANG": "en_US.UTF-8"},
            "zh-CN",
            ["status", "job_1"],
        ),
        (["status"], {"LANG": "zh_CN.UTF-8"}, "zh-CN", ["status"]),
        (["status"], {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en", ["status"]),
        (["status"], {"LANG": "C.UTF-8", "BATCHDASH_LANG": "zh-CN"}, "zh-CN", ["status"]),
        (["status"], {}, "en", ["status"]),
        (["--lang", "fr", "status"], {}, "en", ["--lang=fr", "status"]),
    ],
)
def test_the_cli_language_comes_from_lang_then_the_locale(
    argv: list[str],
    environ: dict[str, str],
    language: str,
    rest: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BATCHDASH_LANG", raising=False)
    if "BATCHDASH_LANG" in environ:
        monkeypatch.setenv("BATCHDASH_LANG", environ["BATCHDASH_LANG"])
    assert cli_language(argv, environ) == (language, rest)


def test_dates_and_spans_are_written_for_the_language() -> None:
    from datetime import UTC, datetime, timedelta

    from batchdash.i18n.formatting import clock_time, date_time, time_span

    moment = datetime(2026, 12, 6, 9, 40, 12, tzinfo=UTC)
    assert date_time(moment) == "Dec 6, 2026, 9:40:12\u202fAM"
    assert time_span(timedelta(minutes=3, seconds=10)) == "3 minutes"
    with use_language("zh-CN"):
        assert date_time(moment) == "2026年12月6日 09:40:12"
        assert time_span(timedelta(minutes=3, seconds=10)) == "3分钟"
        assert clock_time(moment) == "09:40:12"


def test_a_context_without_a_language_of_its_own_asks_the_source() -> None:
    import contextvars

    from batchdash.i18n import language as module
    from batchdash.i18n import set_language, set_language_source

    before = module._fallback
    try:
        set_language_source(lambda: "zh-CN")
        # A fresh context, as Streamlit gives a fragment's run: the source decides...
        assert contextvars.Context().run(current_language) == "zh-CN"
        # ...unless the context chose one.
        assert (
            contextvars.Context().run(lambda: (set_language("en"), current_language())[1]) == "en"
        )
        set_language_source(lambda: None)
        assert contextvars.Context().run(current_language) == "en"
    finally:
        module._fallback = before
