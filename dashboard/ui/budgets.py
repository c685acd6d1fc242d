"""Budgets on the pages: the Settings section (limits per job and per month, the month's spend)
and the refusal in New job's submit dialog.

The limits are saved in the registry per scope, so the command line, a watcher and every
session of the same key obey the same ones. A refusal leaves the dialog and everything entered
in place: once the limit is raised in Settings, the same Submit goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import streamlit as st

from batchdash.errors import BatchdashError
from batchdash.i18n import Message, _, _l
from batchdash.i18n.formatting import babel_locale
from batchdash.money import usd_all
from batchdash.preflight.budget import (
    JOB_LIMIT,
    MONTH_LIMIT,
    MonthSpend,
    budget_refusal,
    month_spend,
    parse_limit,
    saved_limits,
    unknown_note,
)
from batchdash.preflight.cost import CostEstimate
from ui import dialogs, resources
from ui.connection import Connection
from ui.job_access import job_board
from ui.text import plain

SETTINGS_PAGE = "app_pages/settings.py"


def _month_spend(connection: Connection) -> MonthSpend:
    """The month's spend from the job board, which keeps finished jobs' statuses between
    reruns: Settings and the submit dialog rerun often, and a finished job never changes."""
    return month_spend(job_board(connection).statuses(include_archived=True), datetime.now(UTC))


# Session keys: the text of each box (per scope) and the last problem with it.
_TEXT = "budget_text"
_PROBLEM = "budget_problem"


def _limit_names() -> dict[str, Message]:
    """Each limit's preference and its name in a sentence ("The limit per job is ...")."""
    return {JOB_LIMIT: _l("The limit per job"), MONTH_LIMIT: _l("The limit per month")}


def _text_key(name: str, scope: str) -> str:
    return f"{_TEXT}:{name}:{scope}"


def _save(name: str, scope: str) -> None:
    """on_change of a limit's box: save the amount, or remove the limit for an empty box; a
    nonsense amount is kept in the box, unsaved, with a word on it."""
    text = st.session_state[_text_key(name, scope)]
    # The error itself is kept, not its text: it is shown in the language of each redraw.
    problems: dict[str, BatchdashError] = st.session_state.setdefault(_PROBLEM, {})
    try:
        amount = parse_limit(text, _limit_names()[name])
        resources.app_registry().set_preference(scope, name, amount)
    except BatchdashError as error:
        problems[name] = error
        return
    problems.pop(name, None)


def _limit_box(name: str, label: str, scope: str, saved: float | None) -> None:
    key = _text_key(name, scope)
    if key not in st.session_state:
        st.session_state[key] = "" if saved is None else f"{saved:g}"
    st.text_input(
        label,
        key=key,
        on_change=_save,
        args=(name, scope),
        placeholder=_("No limit"),
        help=_("In USD, like 25 or 2.50. Leave it empty (and press Enter) for no limit."),
    )
    problem = st.session_state.get(_PROBLEM, {}).get(name)
    if problem:
        st.error(plain(problem), icon=":material/error:")


def show_budget_settings(connection: Connection) -> None:
    """The Budgets section of Settings: both limits and the month's spend."""
    st.subheader(_("Budgets"), divider="gray")
    st.caption(
        _(
            "A submit, repair or direct run is refused before anything is sent when its "
            "upper-bound estimate (every answer at its most tokens) is more than the limit per "
            "job, or would take this month past the limit per month. Saved for this API key; "
            "the command line obeys them too."
        )
    )
    try:  # the registry may be out of reach (a database down): said once, below
        registry = resources.app_registry()
        limits = saved_limits(registry, connection.scope)
        with st.container(horizontal=True):
            _limit_box(JOB_LIMIT, _("Limit per job (USD)"), connection.scope, limits.job_usd)
            _limit_box(MONTH_LIMIT, _("Limit per month (USD)"), connection.scope, limits.month_usd)
        spend = _month_spend(connection)
        month_limit = saved_limits(registry, connection.scope).month_usd
    except BatchdashError as error:
        st.error(plain(error), icon=":material/error:")
        return
    _show_spend(spend, month_limit, connection.sandbox)


def _month_name(spend: MonthSpend) -> str:
    from babel.dates import format_date

    return format_date(spend.since.date(), "long", locale=babel_locale())


def _show_spend(spend: MonthSpend, month_limit: float | None, sandbox: bool) -> None:
    spent, running, total, left, limit = usd_all(
        [
            spend.spent_usd,
            spend.running_usd,
            spend.total_usd,
            None if month_limit is None else max(month_limit - spend.total_usd, 0.0),
            month_limit,
        ],
        sums={2: (0, 1)},  # "{total} in all" beside the two metrics
    )
    if month_limit is not None and spend.total_usd >= month_limit:
        st.warning(
            _(
                "This month's jobs have reached the limit of {limit} per month ({total} with "
                "unfinished jobs at their most): every new job is refused until the month ends "
                "or the limit is raised.",
                limit=limit,
                total=total,
            ),
            icon=":material/warning:",
        )
    with st.container(horizontal=True):
        st.metric(_("Spent this month"), spent, border=True, help=_("Finished jobs' actual cost."))
        st.metric(
            _("Unfinished jobs, at most"),
            running,
            border=True,
            help=_("Unfinished jobs' upper-bound estimate: every answer at its most tokens."),
        )
        if month_limit is not None:
            st.metric(_("Left under the month's limit"), left, border=True)
    st.caption(
        _(
            "Jobs created since {day}, 00:00 UTC (this calendar month in UTC): {total} in all.",
            day=_month_name(spend),
            total=total,
        )
        + (
            " " + _("Sandbox jobs are billed nothing: these are what they would cost.")
            if sandbox
            else ""
        )
    )
    note = unknown_note(spend)
    if note is not None:
        st.caption(plain(note))


def refused_here(
    connection: Connection, estimate: CostEstimate, model: str, forget: Callable[[], None]
) -> bool:
    """In the submit dialog: whether the saved limits refuse this estimate; if so, say why with
    the figures and offer Settings (the dialog closes on the way there: New job keeps the recipe
    and the dialog the typed name, for when the analyst comes back)."""
    try:
        registry = resources.app_registry()
        limits = saved_limits(registry, connection.scope)
        if not limits.any:
            return False
        spend = _month_spend(connection)
    except BatchdashError as error:  # nothing can be saved either: say why, once
        st.error(plain(error), icon=":material/error:")
        return True
    refusal = budget_refusal(estimate.max_usd, model, limits, spend)
    if refusal is None:
        return False
    st.error(plain(refusal), icon=":material/savings:")
    if connection.sandbox:
        st.caption(
            _(
                "The sandbox bills nothing, but the limits are checked as they would be with a "
                "key, so that you see them at work before they count."
            )
        )
    with st.container(horizontal=True, horizontal_alignment="right"):
        dialogs.dismiss_button(_("Not now"), "submit_keep", forget)
        if st.button(
            _("Open Settings"), type="primary", icon=":material/settings:", key="budget_settings"
        ):
            forget()
            st.switch_page(SETTINGS_PAGE)
    return True
