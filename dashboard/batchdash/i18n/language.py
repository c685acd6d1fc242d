"""Which language is in use, and how a locale tag (zh-CN, zh_CN.UTF-8, en-GB) maps to one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

#: "qps-ploc" is the pseudo-language of the tests: every translated text is marked, so a page
#: rendered in it shows which visible text did not pass through a catalog.
Language = Literal["en", "zh-CN", "qps-ploc"]

DEFAULT_LANGUAGE: Language = "en"
PSEUDO: Language = "qps-ploc"
#: The languages an analyst can pick, with their names as their own speakers write them.
LANGUAGES: dict[Language, str] = {"en": "English", "zh-CN": "简体中文"}

_current: ContextVar[Language | None] = ContextVar("batchdash_language", default=None)
# Asked when this context has no language of its own: the app sets one that reads the session,
# since Streamlit runs a fragment or a dialog again in a fresh context without the page's run.
_fallback: Callable[[], Language | None] | None = None


def language_from_tag(tag: str | None) -> Language | None:
    """The language a locale tag asks for: any Chinese tag means Simplified Chinese (better
    than English for a reader of Traditional too), English for "en*", None when the tag names
    neither (C, POSIX, fr-FR) so the caller falls back to its default."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split(".")[0].split("@")[0].lower()
    if base == PSEUDO:
        return PSEUDO
    if base == "zh" or base.startswith("zh-"):
        return "zh-CN"
    if base == "en" or base.startswith("en-"):
        return "en"
    return None


def server_default_language() -> Language:
    """`BATCHDASH_LANG` when it names a language, else English."""
    return language_from_tag(os.environ.get("BATCHDASH_LANG")) or DEFAULT_LANGUAGE


def current_language() -> Language:
    """The language of this thread's work: set by the page run or the CLI, else the session's
    (see `set_language_source`), else the server's."""
    return _current.get() or (_fallback and _fallback()) or server_default_language()


def set_language_source(source: Callable[[], Language | None]) -> None:
    """Where a context with no language of its own finds one (the app: the session's)."""
    global _fallback
    _fallback = source


def set_language(language: Language) -> None:
    """Use `language` for the rest of this thread's (or task's) work."""
    _current.set(language)


@contextmanager
def use_language(language: Language) -> Iterator[None]:
    """Use `language` inside the block only."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)
