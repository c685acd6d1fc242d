"""The translations of one language, read once from its gettext catalog (.po).

The .po file is compiled in memory with Babel at first use rather than by a build step, so a
checkout works with `pip install` + `streamlit run` alone; Python's own `gettext` then looks
messages up and applies the catalog's plural rule.
"""

from __future__ import annotations

import gettext
import io
import threading
from functools import cache
from importlib import resources
from pathlib import Path

DOMAIN = "batchdash"
#: Catalog folder name (gettext's form of the locale) per language that has a catalog.
CATALOG_LOCALES = {"zh-CN": "zh_CN"}

_lock = threading.Lock()


def locales_dir() -> Path:
    """The folder holding `<locale>/LC_MESSAGES/batchdash.po` and the template `batchdash.pot`."""
    return Path(str(resources.files("batchdash.i18n") / "locales"))


def po_path(locale: str) -> Path:
    return locales_dir() / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _load(locale: str) -> gettext.NullTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    # Fuzzy entries are guesses waiting for review: gettext shows the English instead.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translations(language: str) -> gettext.NullTranslations | None:
    """The catalog of `language`, or None where the message ids are the text (English)."""
    locale = CATALOG_LOCALES.get(language)
    if locale is None:
        return None
    with _lock:  # the first page runs of several sessions may ask at once
        return _load(locale)
