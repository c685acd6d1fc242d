"""Batchdash in English and Simplified Chinese: one code path, gettext catalogs.

Every sentence Batchdash says is written in English in the code as a `str.format` template and
looked up in the catalog of the language in use (`locales/zh_CN/LC_MESSAGES/batchdash.po`,
extracted with Babel: `make messages`). Literal braces in a message are doubled, like any format
string, whether or not it has parameters.

- `_(msgid, **params)` translates now: for page code, which runs again on every rerun.
- `_l(msgid, **params)` returns a `Message`, translated each time it is turned into text: for
  the core's errors, problems and statuses, which may be computed once, cached and shown later
  in another language. A `Message` among the parameters of another is translated with it.
- `n_(singular, plural, n, **params)` and `n_l(...)`: the same with plural forms; `n` is also a
  parameter of the message.

The language is a context variable: the app sets it at the start of every script run (each
session runs in its own thread), the CLI once. Data, merged-table column names and status
values are never translated (contract 6).
"""

from __future__ import annotations

from batchdash.i18n.language import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    PSEUDO,
    Language,
    current_language,
    language_from_tag,
    server_default_language,
    set_language,
    set_language_source,
    use_language,
)
from batchdash.i18n.messages import Message, WordList, Words, _, _l, english, n_, n_l

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "PSEUDO",
    "Language",
    "Message",
    "WordList",
    "Words",
    "_",
    "_l",
    "current_language",
    "english",
    "language_from_tag",
    "n_",
    "n_l",
    "server_default_language",
    "set_language",
    "set_language_source",
    "use_language",
]
