"""Saved recipes on New job: save the recipe on the page under a name, load one onto the table.

Saving under a name that exists adds a version (batchdash.registry.saved_recipes); everyone on
the key shares the names. Loading fills every recipe widget from a callback, before the widgets
are drawn again, the only moment Streamlit lets their values be set. A column the loaded
template names and this table lacks is said plainly: the template is the analyst's to edit, and
the recipe on the page before the load can be put back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeVar

import pandas as pd
import streamlit as st

from batchdash.errors import BatchdashError, InputError
from batchdash.i18n import Message, _, _l, n_, n_l
from batchdash.preflight.template import unknown_placeholders
from batchdash.recipe import Recipe
from ui import resources, state
from ui.connection import Connection
from ui.editors import replace_table
from ui.recipe_inputs import fields_table
from ui.text import plain

if TYPE_CHECKING:
    from batchdash.registry.saved_recipes import SavedRecipe
    from batchdash.registry.store import Registry

T = TypeVar("T")
NoticeKind = Literal["saved", "loaded", "restored", "deleted", "problem"]


@dataclass(frozen=True)
class Notice:
    """What the last save, load or delete did, said in the language of the moment it is shown."""

    kind: NoticeKind
    message: Message | BatchdashError
    #: Columns the loaded templates name that the table lacked.
    missing: tuple[str, ...] = ()
    #: The loaded ID column, when the table lacked it (IDs are automatic instead).
    missing_id: str | None = None


def missing_columns(recipe: Recipe, columns: Sequence[str]) -> tuple[str, ...]:
    """The columns the templates of `recipe` name that `columns` lacks, in order of use."""
    names: list[str] = []
    for template in (recipe.template, recipe.system_prompt):
        try:
            names += unknown_placeholders(template, columns)
        except InputError:
            continue  # a template that does not parse: the preflight says what is wrong
    return tuple(dict.fromkeys(names))


def apply_recipe(recipe: Recipe, columns: Sequence[str], windows: Sequence[str]) -> None:
    """Give every recipe widget its value from `recipe` (call from a callback)."""
    values = st.session_state
    values[state.ENDPOINT] = recipe.endpoint
    values[state.MODEL] = recipe.model
    values[state.SYSTEM_PROMPT] = recipe.system_prompt
    values[state.TEMPLATE] = recipe.template
    # A loaded template is the analyst's: it does not follow the table's columns by itself.
    values[state.STARTING_TEMPLATE] = None
    values[state.TEMPLATE_COLUMNS] = tuple(columns)
    values[state.TEMPERATURE] = recipe.temperature
    values[state.MAX_OUTPUT_TOKENS] = recipe.max_output_tokens
    values[state.REASONING_EFFORT] = recipe.reasoning_effort
    values[state.DIMENSIONS] = recipe.dimensions
    values[state.MODERATION_CATEGORIES] = list(recipe.moderation_categories)
    window = recipe.completion_window
    values[state.COMPLETION_WINDOW] = window if window in windows else windows[0]
    values[state.ID_COLUMN] = recipe.id_column if recipe.id_column in columns else ""
    values[state.ID_COLUMN_CHOSEN] = recipe.id_column or ""
    if recipe.output_fields:
        values[state.OUTPUT_MODE] = state.OUTPUT_FIELDS
        replace_table(state.FIELDS_EDITOR, fields_table(recipe.output_fields))
    else:
        values[state.OUTPUT_MODE] = state.OUTPUT_TEXT


def _attempt(work: Callable[[Registry], T]) -> T | None:
    """`work` done on the registry; None when it failed, the reason kept to be shown."""
    try:
        return work(resources.app_registry())
    except BatchdashError as error:
        st.session_state[state.RECIPE_NOTICE] = Notice("problem", error)
        return None


def _save(scope: str, recipe: Recipe) -> None:
    """Save button callback."""
    name = st.session_state.get(state.RECIPE_SAVE_NAME) or ""
    saved = _attempt(lambda registry: registry.save_recipe(scope, name, recipe))
    if saved is None:
        return
    st.session_state[state.RECIPE_BEFORE_LOAD] = None
    st.session_state[state.RECIPE_NOTICE] = Notice(
        "saved",
        _l("Saved {name}, version {version}.", name=saved.name, version=saved.version),
    )
    st.session_state[state.RECIPE_LOAD_NAME] = saved.name
    st.session_state[state.RECIPE_LOAD_VERSION] = saved.version


def _load(scope: str, columns: Sequence[str], windows: Sequence[str], current: Recipe) -> None:
    """Load button callback: the chosen version onto the table, the page's recipe kept aside."""
    name = st.session_state.get(state.RECIPE_LOAD_NAME)
    version = st.session_state.get(state.RECIPE_LOAD_VERSION)
    saved = _attempt(lambda registry: registry.saved_recipe(scope, name or "", version))
    if saved is None:
        return
    # The ID column the analyst chose, even where this table lacks it: "Put back" keeps it.
    before = replace(current, id_column=st.session_state[state.ID_COLUMN_CHOSEN] or None)
    apply_recipe(saved.recipe, columns, windows)
    previous: Notice | None = st.session_state.get(state.RECIPE_NOTICE)
    if previous is None or previous.kind != "loaded":
        # Loads one after another: "Put back" still means the recipe before the first one.
        st.session_state[state.RECIPE_BEFORE_LOAD] = before
    st.session_state[state.RECIPE_NOTICE] = Notice(
        "loaded",
        _l("Loaded {name}, version {version}.", name=saved.name, version=saved.version),
        missing_columns(saved.recipe, columns),
        saved.recipe.id_column if saved.recipe.id_column not in (None, *columns) else None,
    )


def _put_back(columns: Sequence[str], windows: Sequence[str]) -> None:
    """ "Put back" callback: the recipe the page had before the first load."""
    before = st.session_state.get(state.RECIPE_BEFORE_LOAD)
    if before is None:
        return
    apply_recipe(before, columns, windows)
    st.session_state[state.RECIPE_BEFORE_LOAD] = None
    st.session_state[state.RECIPE_NOTICE] = Notice(
        "restored", _l("The recipe you had before loading is back.")
    )


def _delete(scope: str, name: str) -> None:
    """Delete button callback: the name with all its versions."""
    deleted = _attempt(lambda registry: registry.delete_recipe(scope, name))
    if deleted is None:
        return
    st.session_state[state.RECIPE_LOAD_NAME] = None
    st.session_state[state.RECIPE_NOTICE] = Notice(
        "deleted",
        n_l(
            "Deleted {name} and its one version.",
            "Deleted {name} and its {count} versions.",
            deleted,
            name=name,
            count=deleted,
        ),
    )


def _name_changed() -> None:
    st.session_state[state.RECIPE_LOAD_VERSION] = None  # the new name's latest, below


def _version_label(saved: SavedRecipe, latest: int) -> str:
    when = saved.saved_at.strftime("%Y-%m-%d %H:%M")
    label = (
        _("Version {version} (latest)", version=saved.version)
        if saved.version == latest
        else _("Version {version}", version=saved.version)
    )
    if saved.saved_by:
        return _(
            "{label}, saved by {who} at {when} UTC", label=label, who=saved.saved_by, when=when
        )
    return _("{label}, saved at {when} UTC", label=label, when=when)


def saved_recipes(recipe: Recipe, frame: pd.DataFrame, connection: Connection) -> None:
    """Draw the saved-recipes box for the recipe on the page and the table `frame`."""
    scope = connection.scope
    columns = tuple(str(column) for column in frame.columns)
    windows = connection.provider.completion_windows
    try:
        names = resources.app_registry().saved_recipes(scope)
    except BatchdashError as error:
        st.error(plain(error), icon=":material/error:")
        return
    with st.container(border=True):
        st.markdown("**" + _("Saved recipes") + "**")
        load, save = st.columns(2)
        with load:
            _load_inputs(names, scope, columns, windows, recipe)
        with save:
            _save_inputs(names, scope, recipe)
        _show_notice(recipe, columns, windows)


def _load_inputs(
    names: Sequence[SavedRecipe],
    scope: str,
    columns: Sequence[str],
    windows: Sequence[str],
    recipe: Recipe,
) -> None:
    if not names:
        st.caption(_("No recipe is saved with this key yet: save this one to use it again."))
        return
    by_name = {saved.name: saved for saved in names}
    if st.session_state.get(state.RECIPE_LOAD_NAME) not in by_name:
        st.session_state[state.RECIPE_LOAD_NAME] = names[0].name
    name = st.selectbox(
        _("Load a saved recipe"),
        list(by_name),
        key=state.RECIPE_LOAD_NAME,
        on_change=_name_changed,
        help=_("Fills every field of the recipe below; this table's columns stay as they are."),
    )
    versions = resources.app_registry().recipe_versions(scope, name) if name else []
    numbers = [saved.version for saved in versions]
    if not numbers:
        return  # deleted since the list was read: the next run lists the names again
    if st.session_state.get(state.RECIPE_LOAD_VERSION) not in numbers:
        st.session_state[state.RECIPE_LOAD_VERSION] = numbers[0]
    labels = {saved.version: _version_label(saved, numbers[0]) for saved in versions}
    st.selectbox(
        _("Version"),
        numbers,
        key=state.RECIPE_LOAD_VERSION,
        format_func=lambda number: labels.get(number, str(number)),
    )
    with st.container(horizontal=True):
        st.button(
            _("Load onto this table"),
            icon=":material/upload:",
            key="recipe_load",
            on_click=_load,
            args=(scope, columns, windows, recipe),
        )
        with st.popover(_("Delete…"), icon=":material/delete:"):
            st.markdown(
                n_(
                    "Deletes **{name}** for everyone on this key.",
                    "Deletes **{name}** and all its {count} versions, for everyone on this key.",
                    len(numbers),
                    name=plain(name),
                    count=len(numbers),
                )
            )
            st.button(
                _("Delete {name}", name=plain(name)),
                type="primary",
                key="recipe_delete",
                on_click=_delete,
                args=(scope, name),
            )


def _save_inputs(names: Sequence[SavedRecipe], scope: str, recipe: Recipe) -> None:
    typed = st.text_input(
        _("Save this recipe as"),
        key=state.RECIPE_SAVE_NAME,
        persist_state="session",
        placeholder=_("A name, such as Review triage"),
    )
    existing = {saved.name: saved for saved in names}.get(" ".join((typed or "").split()))
    if existing is not None:
        st.caption(
            _(
                "**{name}** is saved already: saving adds version {next}, and version "
                "{latest} stays.",
                name=plain(existing.name),
                next=existing.version + 1,
                latest=existing.version,
            )
        )
    st.button(
        _("Save recipe"),
        icon=":material/bookmark_add:",
        key="recipe_save",
        on_click=_save,
        args=(scope, recipe),
    )


def _show_notice(recipe: Recipe, columns: Sequence[str], windows: Sequence[str]) -> None:
    notice: Notice | None = st.session_state.get(state.RECIPE_NOTICE)
    if notice is None:
        return
    if notice.kind == "problem":
        st.error(plain(notice.message), icon=":material/error:")
        return
    # Only what the recipe on the page still lacks: an edited template says no more.
    missing = [name for name in notice.missing if name in missing_columns(recipe, columns)]
    if notice.kind == "loaded" and (missing or notice.missing_id):
        lines = [plain(notice.message)]
        if missing:
            lines.append(
                n_(
                    "This table has no column **{columns}**, which the recipe uses: edit the "
                    "template, or load the recipe onto a file that has that column.",
                    "This table has no columns **{columns}**, which the recipe uses: edit the "
                    "template, or load the recipe onto a file that has those columns.",
                    len(missing),
                    columns=_(", ").join(plain(name) for name in missing),
                )
            )
        if notice.missing_id:
            lines.append(
                _(
                    "The recipe's ID column **{column}** is not in this table: IDs are "
                    "automatic until you pick another ID column.",
                    column=plain(notice.missing_id),
                )
            )
        st.warning("  \n".join(lines), icon=":material/warning:")
    else:
        st.success(plain(notice.message), icon=":material/check:")
    if notice.kind == "loaded" and st.session_state.get(state.RECIPE_BEFORE_LOAD) is not None:
        st.button(
            _("Put back the recipe I had"),
            icon=":material/undo:",
            key="recipe_put_back",
            on_click=_put_back,
            args=(columns, windows),
        )
