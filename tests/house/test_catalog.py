"""Every sentence of the code has its Chinese translation, with the same fields to fill."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from batchdash.i18n.catalog import po_path

ROOT = Path(__file__).resolve().parents[2]
# The same keywords as `make messages`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "n_": (1, 2), "n_l": (1, 2)}
TRANSLATING_CALLS = {"_", "_l", "n_", "n_l"}


def _code_messages() -> set[str | tuple[str, str]]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def _catalog() -> Catalog:
    with po_path("zh_CN").open("rb") as source:
        return read_po(source, locale="zh_CN")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_code_has_sentences_to_translate() -> None:
    assert len(_code_messages()) > 10


def test_every_sentence_has_a_reviewed_chinese_translation() -> None:
    catalog = _catalog()
    missing = []
    for message in sorted(_code_messages(), key=str):
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid)
        strings = (
            ()
            if entry is None
            else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
    assert missing == [], f"{len(missing)} sentences lack a translation: run `make messages`"


def test_no_translation_is_left_for_a_sentence_the_code_no_longer_says() -> None:
    said = {m if isinstance(m, str) else m[0] for m in _code_messages()}
    stale = [
        entry.id
        for entry in _catalog()
        if entry.id and (entry.id if isinstance(entry.id, str) else entry.id[0]) not in said
    ]
    assert stale == [], "run `make messages`, which drops them"


def test_each_translation_fills_the_same_fields_as_its_english() -> None:
    wrong = []
    for entry in _catalog():
        if not entry.id:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else entry.id
        strings = (entry.string,) if isinstance(entry.string, str) else entry.string
        expected = set().union(*(_fields(i) for i in ids)) - {"n"}
        for text in strings:
            if text and _fields(text) - {"n"} != expected:
                wrong.append((ids[0], text))
    assert wrong == []


def test_babels_own_checks_pass() -> None:
    problems = [(message.id, errors) for message, errors in _catalog().check()]
    assert problems == []


def _translating_calls_without_a_literal() -> list[str]:
    found = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        if "sandbox" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in TRANSLATING_CALLS:
                continue
            count = 2 if node.func.id.startswith("n_") else 1
            texts = node.args[:count]
            if len(texts) < count or not all(
                isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_sentence_is_written_out_where_it_is_translated() -> None:
    """`_(f"...")` or `_(variable)` cannot be extracted into the catalog: pass the fields as
    keyword arguments instead."""
    assert _translating_calls_without_a_literal() == []


#: Streamlit calls whose first argument an analyst reads.
SHOWING_CALLS = {
    "caption", "info", "warning", "error", "success", "markdown", "write", "header",
    "subheader", "title", "text", "button", "metric", "toast", "expander", "checkbox",
    "radio", "selectbox", "text_input", "text_area", "number_input", "download_button",
}  # fmt: skip


def _english_shown_untranslated() -> list[str]:
    found = []
    for folder in ("ui", "app_pages"):
        for path in sorted((ROOT / "dashboard" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SHOWING_CALLS
                    and node.args
                ):
                    continue
                first = node.args[0]
                # A sentence: letters and a space. Keys, formats and markup stay as they are,
                # and a label written in both languages ("Language · 语言") is meant so.
                if (
                    isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and " " in first.value
                    and any(character.isalpha() for character in first.value)
                    and first.value.isascii()
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {first.value[:50]}")
    return found


def test_no_page_shows_a_sentence_it_does_not_translate() -> None:
    """`st.caption("...")` shows English to a Chinese analyst: write `st.caption(_("..."))`."""
    assert _english_shown_untranslated() == []


@pytest.mark.parametrize("msgid", ["Jobs", "Imitating {provider}"])
def test_the_catalog_is_read_as_the_app_reads_it(msgid: str) -> None:
    from batchdash.i18n import _, use_language

    with use_language("zh-CN"):
        assert _(msgid, provider="Groq") == _catalog().get(msgid).string.format(provider="Groq")
