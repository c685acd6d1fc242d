"""The enqueued-token limits of Settings, saved per scope in the registry (`queue.limits`):
New job splits jobs to fit them, and the Jobs page, `cli.py status` and a watcher with no page
open hold back the parts that do not fit (`batchdash.jobs.token_queue`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from batchdash.errors import BatchdashError
from batchdash.i18n import _
from batchdash.jobs import token_queue
from batchdash.registry.store import Registry
from ui import resources, settings_tables, state
from ui.connection import Connection
from ui.editors import replace_table
from ui.text import plain

#: Session key: the scope whose saved limits the session holds.
_LOADED_SCOPE = "token_limits_scope"

T = TypeVar("T")


def _with_registry(call: Callable[[Registry], T]) -> T | BatchdashError | SQLAlchemyError:
    """`call(registry)`, or the error of a registry that cannot be opened or read: Settings must
    stay usable (it shows where the registry is) while the database is down."""
    try:
        return call(resources.app_registry())
    except (BatchdashError, SQLAlchemyError) as error:
        return error


def load_saved_limits(connection: Connection) -> None:
    """Bring the scope's saved limits into the session (and the Settings table), once per scope;
    a scope with none saved keeps what the session holds."""
    if st.session_state.get(_LOADED_SCOPE) == connection.scope:
        return
    saved = _with_registry(lambda registry: token_queue.token_limits(registry, connection.scope))
    if isinstance(saved, Exception):
        return  # tried again at the next run; `keep_limits` says why
    st.session_state[_LOADED_SCOPE] = connection.scope
    if saved and saved != st.session_state[state.TOKEN_LIMITS]:
        st.session_state[state.TOKEN_LIMITS] = saved
        replace_table(state.LIMITS_EDITOR, settings_tables.limits_frame(saved))


def keep_limits(limits: dict[str, int], connection: Connection) -> None:
    """Use the limits the Settings table holds now, and save them for the scope when they
    changed (a row removed removes its limit)."""
    st.session_state[state.TOKEN_LIMITS] = limits

    def save(registry: Registry) -> None:
        if limits != token_queue.token_limits(registry, connection.scope):
            token_queue.save_token_limits(registry, connection.scope, limits)

    failed = _with_registry(save)
    if failed is not None:
        st.warning(
            plain(
                _(
                    "The limits apply in this session only: the job registry could not be reached "
                    "to save them ({error}). Check BATCHDASH_DB_URL below.",
                    error=failed,
                )
            ),
            icon=":material/warning:",
        )
    elif limits:
        st.caption(
            _(
                "Saved for this API key. Parts of a job that do not fit wait in the job and are "
                "sent as earlier batches finish, whenever the Jobs page, `cli.py status` or a "
                "watcher refreshes it."
            )
        )
