"""Recipes saved under a name, with versions, shared by everyone on one key.

Saving under a name that exists adds a version: nothing saved is ever overwritten, and the
latest version is the one a name stands for. A job's scope is the key's fingerprint plus the
signed-in user when sign-in is on (`settings.owner_scope`); recipes are filed under the
fingerprint alone, so a team on one key shares them, and the user is kept as who saved each
version. Deleting a name deletes all its versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from batchdash.errors import InputError
from batchdash.i18n import _l
from batchdash.recipe import Recipe
from batchdash.registry.claims import rowcount
from batchdash.registry.database import RegistryDatabase
from batchdash.registry.models import RECIPE_NAME_LENGTH, SavedRecipeModel

#: Tries of a save that lost the race for its version number to another save of the name.
_SAVE_TRIES = 5


@dataclass(frozen=True)
class SavedRecipe:
    """One version of a saved recipe."""

    name: str
    version: int
    recipe: Recipe
    #: The signed-in user who saved it, or None without sign-in.
    saved_by: str | None
    saved_at: datetime
    #: How many versions the name has (in lists of names; 0 when not counted).
    versions: int = 0

    @property
    def label(self) -> str:
        """`name@version`, as the CLI's `--recipe` takes it."""
        return f"{self.name}@{self.version}"


def recipe_scope(scope: str) -> str:
    """The scope recipes are filed under: a job scope's key fingerprint, without the user."""
    return scope.split("/", 1)[0]


def recipe_saver(scope: str) -> str | None:
    """The signed-in user of a job scope, or None without sign-in."""
    _, _sep, user = scope.partition("/")
    return user or None


def checked_recipe_name(name: str) -> str:
    """`name` without surrounding spaces; raises InputError when it cannot name a recipe."""
    text = " ".join(name.split())
    if not text:
        raise InputError(_l("Give the recipe a name to save it under."))
    if len(text) > RECIPE_NAME_LENGTH:
        raise InputError(
            _l(
                "A recipe name has at most {limit} characters; shorten it and save again.",
                limit=RECIPE_NAME_LENGTH,
            )
        )
    if "@" in text:
        # `NAME@VERSION` picks a version on the command line.
        raise InputError(_l("A recipe name cannot contain '@'; remove it and save again."))
    return text


def _saved(model: SavedRecipeModel, versions: int = 0) -> SavedRecipe:
    return SavedRecipe(
        name=model.name,
        version=model.version,
        recipe=Recipe.from_dict(model.recipe),
        saved_by=model.saved_by,
        saved_at=model.saved_at,
        versions=versions,
    )


class SavedRecipes(RegistryDatabase):
    """Saved recipes; every method takes a job scope and files under `recipe_scope` of it."""

    def save_recipe(self, scope: str, name: str, recipe: Recipe) -> SavedRecipe:
        """Save `recipe` as the next version of `name` (1 for a new name)."""
        name = checked_recipe_name(name)
        shared = recipe_scope(scope)
        for _try in range(_SAVE_TRIES):
            try:
                with self._write() as session:
                    latest = session.scalar(
                        select(func.max(SavedRecipeModel.version)).where(
                            SavedRecipeModel.scope == shared, SavedRecipeModel.name == name
                        )
                    )
                    model = SavedRecipeModel(
                        scope=shared,
                        name=name,
                        version=(latest or 0) + 1,
                        recipe=recipe.to_dict(),
                        saved_by=recipe_saver(scope),
                        saved_at=self._clock(),
                    )
                    session.add(model)
                    session.flush()
                    return _saved(model, model.version)
            except IntegrityError:
                continue  # another save took that version number: take the next one
        raise InputError(
            _l("The recipe {name} is being saved by someone else; save again.", name=name)
        )

    def saved_recipes(self, scope: str) -> list[SavedRecipe]:
        """The latest version of every saved name, by name."""
        shared = recipe_scope(scope)
        newest = (
            select(
                SavedRecipeModel.name,
                func.max(SavedRecipeModel.version).label("version"),
                func.count().label("versions"),
            )
            .where(SavedRecipeModel.scope == shared)
            .group_by(SavedRecipeModel.name)
            .subquery()
        )
        statement = (
            select(SavedRecipeModel, newest.c.versions)
            .join(
                newest,
                (SavedRecipeModel.name == newest.c.name)
                & (SavedRecipeModel.version == newest.c.version),
            )
            .where(SavedRecipeModel.scope == shared)
            .order_by(func.lower(SavedRecipeModel.name), SavedRecipeModel.name)
        )
        with self._read() as session:
            return [_saved(model, versions) for model, versions in session.execute(statement)]

    def recipe_versions(self, scope: str, name: str) -> list[SavedRecipe]:
        """Every version saved under `name`, newest first (empty for an unknown name)."""
        statement = (
            select(SavedRecipeModel)
            .where(
                SavedRecipeModel.scope == recipe_scope(scope),
                SavedRecipeModel.name == " ".join(name.split()),
            )
            .order_by(SavedRecipeModel.version.desc())
        )
        with self._read() as session:
            models = session.scalars(statement).all()
            return [_saved(model, len(models)) for model in models]

    def saved_recipe(self, scope: str, name: str, version: int | None = None) -> SavedRecipe:
        """Version `version` of `name` (None: the latest); raises InputError when not saved."""
        versions = self.recipe_versions(scope, name)
        if not versions:
            raise InputError(
                _l(
                    "No recipe is saved under the name {name}; `recipes` lists the saved ones.",
                    name=name,
                )
            )
        if version is None:
            return versions[0]
        for saved in versions:
            if saved.version == version:
                return saved
        raise InputError(
            _l(
                "The recipe {name} has no version {version}: its versions are 1 to {latest}.",
                name=name,
                version=version,
                latest=versions[0].version,
            )
        )

    def delete_recipe(self, scope: str, name: str) -> int:
        """Delete `name` with all its versions; how many versions were deleted."""
        statement = delete(SavedRecipeModel).where(
            SavedRecipeModel.scope == recipe_scope(scope),
            SavedRecipeModel.name == " ".join(name.split()),
        )
        with self._write() as session:
            return rowcount(session, statement)
