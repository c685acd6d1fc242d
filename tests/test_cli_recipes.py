"""The CLI's saved recipes: `recipes` lists, shows and deletes them; `submit --recipe` and
`convert --recipe` start from one."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from batchdash.i18n import use_language
from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from batchdash.settings import owner_scope, read_settings
from tests.core.test_saved_recipes import FIRST
from tests.test_cli_jobs import job_env, run_main, write_reviews

__all__ = ["job_env"]  # the fixture, used by name

#: A recipe with every kind of field: prompts, parameters, structured fields.
TRIAGE = replace(FIRST, id_column=None, template="Triage: {review}")


def registry_and_scope(base_url: str) -> tuple[Registry, str]:
    settings = read_settings(os.environ)
    return Registry.from_settings(settings), owner_scope("sk-cli-test", base_url)


def test_recipes_lists_the_names_and_the_versions_of_one(
    job_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, scope = registry_and_scope(job_env)
    assert run_main(capsys, "recipes")[:2] == (0, [])
    registry.save_recipe(f"{scope}/ana@example.com", "Triage", TRIAGE)
    registry.save_recipe(scope, "Triage", Recipe(template="Second: {review}"))
    registry.close()

    code, listed, _err = run_main(capsys, "recipes")
    assert code == 0
    assert [(r["name"], r["version"], r["versions"], r["saved_by"]) for r in listed] == [
        ("Triage", 2, 2, None)
    ]
    assert listed[0]["recipe"]["template"] == "Second: {review}"
    code, versions, _err = run_main(capsys, "recipes", "Triage")
    assert [(r["version"], r["saved_by"]) for r in versions] == [(2, None), (1, "ana@example.com")]
    assert Recipe.from_dict(versions[1]["recipe"]) == TRIAGE


def test_submit_with_a_saved_recipe_and_options_that_override_it(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, scope = registry_and_scope(job_env)
    registry.save_recipe(scope, "Triage", TRIAGE)
    registry.save_recipe(scope, "Triage", Recipe(template="Second: {review}"))
    reviews = write_reviews(tmp_path / "reviews.csv", 3)

    code, submitted, err = run_main(
        capsys, "submit", reviews, "--recipe", "Triage@1", "--model", "gpt-4o", "--system", ""
    )
    assert code == 0, err
    job = registry.get_job(submitted["job_id"], scope)
    assert job.recipe == replace(TRIAGE, model="gpt-4o", system_prompt="")

    code, submitted, err = run_main(capsys, "submit", reviews, "--recipe", "Triage")
    assert code == 0, err
    assert registry.get_job(submitted["job_id"], scope).recipe.template == "Second: {review}"
    registry.close()


def test_convert_with_a_saved_recipe_writes_its_requests(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, scope = registry_and_scope(job_env)
    registry.save_recipe(scope, "Triage", TRIAGE)
    registry.close()
    reviews = write_reviews(tmp_path / "reviews.csv", 3)
    parts = tmp_path / "parts"

    code, counts, err = run_main(
        capsys, "convert", reviews, "--recipe", "Triage", "--model", "gpt-4o", "--out-dir", parts
    )
    assert code == 0, err
    assert counts["rows"] == 3
    lines = [json.loads(line) for line in (parts / "part-0001.jsonl").read_text().splitlines()]
    assert [line["body"]["model"] for line in lines] == ["gpt-4o"] * 3
    assert lines[0]["body"]["messages"][-1]["content"].startswith("Triage: ")

    code, printed, err = run_main(capsys, "convert", reviews, "--out-dir", parts)
    assert (code, printed) == (2, None)
    assert err.startswith("Give --template, or --recipe NAME") and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--recipe", "Nope"], "No recipe is saved under the name Nope"),
        (["--recipe", "Triage@7"], "The recipe Triage has no version 7"),
        (["--recipe", "Triage@x"], "'Triage@x' does not name a recipe version"),
        ([], "Give --template, or --recipe NAME"),
    ],
)
def test_a_bad_recipe_choice_is_one_plain_line(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    registry, scope = registry_and_scope(job_env)
    registry.save_recipe(scope, "Triage", TRIAGE)
    registry.close()
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, printed, err = run_main(capsys, "submit", reviews, *args)
    assert (code, printed) == (2, None)
    assert err.startswith(line) and err.count("\n") == 1 and "Traceback" not in err


def test_a_saved_template_naming_a_missing_column_is_refused_by_name(
    job_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, scope = registry_and_scope(job_env)
    registry.save_recipe(scope, "Triage", Recipe(template="{title}: {review}"))
    registry.close()
    reviews = write_reviews(tmp_path / "reviews.csv", 2)
    code, _printed, err = run_main(capsys, "submit", reviews, "--recipe", "Triage")
    assert code == 2 and "title" in err and "Traceback" not in err


def test_recipes_delete_removes_every_version(
    job_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, scope = registry_and_scope(job_env)
    registry.save_recipe(scope, "Triage", TRIAGE)
    registry.save_recipe(scope, "Triage", TRIAGE)
    registry.save_recipe(scope, "Kept", TRIAGE)
    registry.close()
    assert run_main(capsys, "recipes", "Triage", "--delete")[:2] == (
        0,
        {"name": "Triage", "deleted_versions": 2},
    )
    assert [r["name"] for r in run_main(capsys, "recipes")[1]] == ["Kept"]
    code, _printed, err = run_main(capsys, "recipes", "Triage", "--delete")
    assert code == 2 and err.startswith("No recipe is saved under the name Triage")
    code, _printed, err = run_main(capsys, "recipes", "--delete")
    assert code == 2 and err.startswith("Name the recipe to delete")


def test_recipes_in_chinese(job_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with use_language("en"):  # `--lang` sets the language of this thread: put it back after
        code, _printed, err = run_main(capsys, "--lang", "zh-CN", "recipes", "Nope")
    assert code == 2 and "Nope" in err and "没有名为 Nope 的已保存配置" in err
