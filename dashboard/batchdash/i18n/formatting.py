"""Numbers, dates and spans of time written for the language in use, with Babel's locale data.

English and Chinese group digits the same way (12,345), so counts keep Python's `{n:,}` in
messages; these helpers are for what the languages write differently: dates, times, spans.
Babel is imported at first use, never by a page that shows none of these.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from batchdash.i18n.language import PSEUDO, current_language

# Babel's locale for each language (the pseudo-language writes as English does).
_BABEL_LOCALES = {"en": "en_US", "zh-CN": "zh_Hans_CN", PSEUDO: "en_US"}


def _zone(zone: tzinfo | str | None) -> tzinfo | None:
    # The browser reports its zone by name (st.context.timezone: "Asia/Shanghai").
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def babel_locale() -> str:
    """The Babel locale of the language in use."""
    return _BABEL_LOCALES.get(current_language(), "en_US")


def date_time(moment: datetime, zone: tzinfo | str | None = None) -> str:
    """A date and time as the language writes it, e.g. "Dec 6, 2026, 9:40:12 AM" or
    "2026年12月6日 09:40:12", in `zone` (default: the moment's own)."""
    from babel.dates import format_datetime

    return format_datetime(moment, "medium", tzinfo=_zone(zone), locale=babel_locale())


def clock_time(moment: datetime, zone: tzinfo | str | None = None) -> str:
    """The time of day with seconds, e.g. "09:40:12"; the same in both languages."""
    from babel.dates import format_time

    return format_time(moment, "HH:mm:ss", tzinfo=_zone(zone), locale=babel_locale())


def time_span(span: timedelta) -> str:
    """A span of time in words, rounded to its largest unit as people say it: "3 minutes",
    "3分钟", "1 day" (for 23 hours)."""
    from babel.dates import format_timedelta

    return format_timedelta(span, locale=babel_locale())
