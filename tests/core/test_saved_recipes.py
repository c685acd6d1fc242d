"""Saved recipes in the registry, on SQLite and PostgreSQL (fixture `registry`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from batchdash.errors import InputError
from batchdash.i18n import use_language
from batchdash.recipe import OutputField, Recipe
from batchdash.registry.saved_recipes import recipe_saver, recipe_scope
from batchdash.registry.store import Registry

FIRST = Recipe(
    model="gpt-4.1-mini",
    template="Classify: {review}",
    system_prompt="Answer briefly.",
    temperature=0.2,
    max_output_tokens=50,
    id_column="id",
    output_fields=(OutputField("label", "one of", ("good", "bad"), "the verdict"),),
)
SECOND = Recipe(endpoint="/v1/responses", model="gpt-4.1", template="Summarise: {text}")


def test_saving_under_a_name_again_adds_a_version_and_the_latest_is_the_default(
    registry: Registry,
) -> None:
    first = registry.save_recipe("key1", "Reviews", FIRST)
    second = registry.save_recipe("key1", "  Reviews ", SECOND)
    assert (first.version, second.version) == (1, 2)
    assert registry.saved_recipe("key1", "Reviews").recipe == SECOND
    assert registry.saved_recipe("key1", "Reviews", 1).recipe == FIRST
    assert [saved.version for saved in registry.recipe_versions("key1", "Reviews")] == [2, 1]
    listed = registry.saved_recipes("key1")
    assert [(s.name, s.version, s.versions, s.recipe) for s in listed] == [
        ("Reviews", 2, 2, SECOND)
    ]


def test_the_list_holds_every_name_in_order_with_its_latest_version(registry: Registry) -> None:
    registry.save_recipe("key1", "tickets", FIRST)
    registry.save_recipe("key1", "Abstracts", SECOND)
    registry.save_recipe("key1", "tickets", SECOND)
    registry.save_recipe("key2", "Other key", FIRST)
    listed = registry.saved_recipes("key1")
    assert [(s.name, s.version, s.versions) for s in listed] == [
        ("Abstracts", 1, 1),
        ("tickets", 2, 2),
    ]
    assert [s.label for s in listed] == ["Abstracts@1", "tickets@2"]


def test_in_team_mode_everyone_on_the_key_shares_recipes_and_who_saved_is_kept(
    registry: Registry,
) -> None:
    registry.save_recipe("key1/ana@example.com", "Reviews", FIRST)
    registry.save_recipe("key1/bo@example.com", "Reviews", SECOND)
    versions = registry.recipe_versions("key1/ana@example.com", "Reviews")
    assert [(s.version, s.saved_by) for s in versions] == [
        (2, "bo@example.com"),
        (1, "ana@example.com"),
    ]
    # The CLI on the same key (no sign-in) sees them too; another key does not.
    assert registry.saved_recipe("key1", "Reviews").saved_by == "bo@example.com"
    assert registry.saved_recipes("key2/ana@example.com") == []


def test_deleting_a_name_deletes_all_its_versions_and_only_them(registry: Registry) -> None:
    registry.save_recipe("key1", "Reviews", FIRST)
    registry.save_recipe("key1/ana", "Reviews", SECOND)
    registry.save_recipe("key1", "Kept", FIRST)
    registry.save_recipe("key2", "Reviews", FIRST)
    assert registry.delete_recipe("key1/bo", "Reviews") == 2
    assert registry.delete_recipe("key1", "Reviews") == 0
    assert [s.name for s in registry.saved_recipes("key1")] == ["Kept"]
    assert registry.saved_recipe("key2", "Reviews").recipe == FIRST
    # A name saved again after its deletion starts over at version 1.
    assert registry.save_recipe("key1", "Reviews", SECOND).version == 1


def test_unknown_names_and_versions_are_plain_errors(registry: Registry) -> None:
    registry.save_recipe("key1", "Reviews", FIRST)
    with pytest.raises(InputError, match="No recipe is saved under the name Nope"):
        registry.saved_recipe("key1", "Nope")
    with pytest.raises(InputError, match="has no version 3: its versions are 1 to 1"):
        registry.saved_recipe("key1", "Reviews", 3)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("   ", "Give the recipe a name"), ("a@b", "cannot contain '@'"), ("x" * 121, "at most 120")],
)
def test_a_name_that_cannot_name_a_recipe_is_refused(
    registry: Registry, name: str, problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        registry.save_recipe("key1", name, FIRST)
    assert registry.saved_recipes("key1") == []


def test_saves_at_once_under_one_name_each_get_their_own_version(registry: Registry) -> None:
    with ThreadPoolExecutor(4) as pool:
        saved = list(pool.map(lambda _n: registry.save_recipe("key1", "Busy", FIRST), range(4)))
    assert sorted(s.version for s in saved) == [1, 2, 3, 4]


def test_scopes_split_into_the_shared_key_and_the_user() -> None:
    assert (recipe_scope("abc/ana@x.org"), recipe_saver("abc/ana@x.org")) == ("abc", "ana@x.org")
    assert (recipe_scope("abc"), recipe_saver("abc")) == ("abc", None)


def test_the_errors_are_said_in_chinese(registry: Registry) -> None:
    with pytest.raises(InputError) as caught:
        registry.saved_recipe("key1", "Nope")
    with use_language("zh-CN"):
        assert "Nope" in str(caught.value) and "已保存配置" in str(caught.value)
