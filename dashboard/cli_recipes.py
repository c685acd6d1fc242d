"""The CLI's saved recipes: `recipes` lists, shows or deletes them, and `submit --recipe
NAME[@VERSION]` starts from one (the recipe options given beside it override its fields).

    python dashboard/cli.py recipes
    python dashboard/cli.py recipes Triage
    python dashboard/cli.py recipes Triage --delete
    python dashboard/cli.py submit tickets.csv --recipe Triage@2 --model gpt-4.1
    python dashboard/cli.py convert tickets.csv --recipe Triage --out-dir parts

Recipes are filed under the key's fingerprint (`batchdash.registry.saved_recipes`): the same
ones the pages save and load with that key, whoever signed in.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from batchdash.errors import InputError
from batchdash.i18n import _, _l
from batchdash.providers.choice import configured_provider
from batchdash.settings import owner_scope, read_settings

if TYPE_CHECKING:
    from batchdash.recipe import Recipe
    from batchdash.registry.saved_recipes import SavedRecipe
    from batchdash.registry.store import Registry

_SubParsers = Any  # argparse's _SubParsersAction is private


def add_recipe_option(parser: argparse.ArgumentParser) -> None:
    """`--recipe NAME[@VERSION]` for a command that builds requests."""
    parser.add_argument(
        "--recipe",
        metavar="NAME[@VERSION]",
        help=_(
            "start from a saved recipe (`recipes` lists them; default: its latest version); "
            "the recipe options given beside it override its fields"
        ),
    )


def parse_recipe_choice(text: str) -> tuple[str, int | None]:
    """`NAME` or `NAME@VERSION` as a name and a version (None: the latest)."""
    name, at, version = text.rpartition("@")
    if not at:
        return text.strip(), None
    if not version.strip().isdigit() or int(version) < 1:
        raise InputError(
            _l(
                "'{text}' does not name a recipe version: write NAME@VERSION with a whole "
                "number, such as Triage@2.",
                text=text,
            )
        )
    return name.strip(), int(version)


def chosen_recipe(args: argparse.Namespace, registry: Registry, scope: str) -> Recipe | None:
    """The saved recipe `--recipe` names, or None; raises InputError when neither it nor
    `--template` is given."""
    if not _names_recipe(args):
        return None
    name, version = parse_recipe_choice(args.recipe)
    return registry.saved_recipe(scope, name, version).recipe


def recipe_without_service(args: argparse.Namespace) -> Recipe | None:
    """`chosen_recipe` for a command that opens no job service (convert): the registry is
    opened only when `--recipe` is given."""
    if not _names_recipe(args):
        return None
    with recipe_shelf() as (registry, scope):
        return chosen_recipe(args, registry, scope)


def _names_recipe(args: argparse.Namespace) -> bool:
    if args.recipe is None and args.template is None:
        raise InputError(
            _l("Give --template, or --recipe NAME to use a saved recipe (`recipes` lists them).")
        )
    return args.recipe is not None


@contextmanager
def recipe_shelf() -> Iterator[tuple[Registry, str]]:
    """The registry, and the scope the configured key's recipes are filed under."""
    from cli_jobs import command_key

    from batchdash.registry.store import Registry

    settings = read_settings(os.environ)
    scope = owner_scope(command_key(settings, configured_provider(settings)), settings.base_url)
    registry = Registry.from_settings(settings)
    try:
        yield registry, scope
    finally:
        registry.close()


def add_recipes(commands: _SubParsers) -> None:
    parser = commands.add_parser(
        "recipes",
        help=_("list the saved recipes"),
        description=_(
            "Print the recipes saved with this key (the latest version of each name), or every "
            "version of NAME, as JSON; --delete deletes NAME with all its versions."
        ),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=_("a saved recipe's name"))
    parser.add_argument("--delete", action="store_true", help=_("delete NAME and all its versions"))
    parser.set_defaults(handler=run_recipes)


def run_recipes(args: argparse.Namespace) -> Any:
    with recipe_shelf() as (registry, scope):
        if args.name is None:
            if args.delete:
                raise InputError(_l("Name the recipe to delete: recipes NAME --delete."))
            return [described(saved) for saved in registry.saved_recipes(scope)]
        if args.delete:
            deleted = registry.delete_recipe(scope, args.name)
            if not deleted:
                registry.saved_recipe(scope, args.name)  # raises: says no such name is saved
            return {"name": args.name, "deleted_versions": deleted}
        registry.saved_recipe(scope, args.name)  # an unknown name is an error, not []
        return [described(saved) for saved in registry.recipe_versions(scope, args.name)]


def described(saved: SavedRecipe) -> dict[str, Any]:
    """One saved recipe as the JSON `recipes` prints."""
    return {
        "name": saved.name,
        "version": saved.version,
        "versions": saved.versions,
        "saved_by": saved.saved_by,
        "saved_at": saved.saved_at.isoformat(),
        "recipe": saved.recipe.to_dict(),
    }
