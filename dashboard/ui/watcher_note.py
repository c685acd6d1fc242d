"""The Jobs page's line about the watcher (`cli.py watch`, contract 12): when one serving this
key was seen lately, jobs move on their own even with the page closed, and the page says so.
Jobs sent with a key typed into the page are the exception: the key is never stored, so no
watcher can move them, and the page says that instead when a watcher runs for other keys."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from batchdash.errors import RegistryError
from batchdash.i18n import _
from batchdash.registry.holders import parse_holder
from ui import resources
from ui.connection import Connection
from ui.job_views import clock
from ui.text import plain


def show_watcher_note(connection: Connection) -> None:
    """One caption under the Jobs page's title, or nothing when no watcher runs."""
    from batchdash.jobs.watching import watcher_seen_lately

    try:
        registry = resources.app_registry()
        seen = watcher_seen_lately(registry, connection.scope, datetime.now(UTC))
    except RegistryError:
        return  # a note only: the page says once what is wrong with the registry
    if seen is not None:
        holder = parse_holder(seen.holder)
        st.caption(
            ":material/autorenew: "
            + _(
                "A watcher moves these jobs on its own, even with this page closed (last seen "
                "at {time}, {holder}).",
                time=clock(seen.seen_at.timestamp()),
                holder=plain(holder.describe()) if holder else "",
            )
        )
    else:
        show_typed_key_note(connection, served=False)


def show_typed_key_note(connection: Connection, *, served: bool | None = None) -> None:
    """Under a key typed in Settings, and on Jobs: a watcher runs here, but not for this key.
    `served` False: the caller found no watcher for this key already (Jobs), so it is not
    asked again."""
    if connection.key_source != "session":
        return
    # Imported here: Settings draws this line, and needs the registry only for a typed key.
    from batchdash.jobs.watching import watcher_seen_lately

    try:
        registry = resources.app_registry()
        now = datetime.now(UTC)
        others = watcher_seen_lately(registry, None, now)
        if others is not None and served is None:
            served = watcher_seen_lately(registry, connection.scope, now) is not None
    except RegistryError:
        return  # a note only: the page says once what is wrong with the registry
    if others is not None and not served:
        st.caption(
            ":material/info: "
            + _(
                "A watcher runs on this server, but it cannot move jobs sent with a key typed "
                "into this page (the key is never stored): they move only while this page is "
                "open."
            )
        )
