"""Saved recipes on New job: save under a name, versions, load onto another table, delete."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from batchdash.recipe import Recipe
from batchdash.registry.store import Registry
from batchdash.settings import default_db_url, owner_scope
from tests.app.conftest import MakeApp, joined
from tests.app.files import REVIEWS_CSV, workbook_bytes
from tests.app.test_new_job_bad_inputs import enter_recipe, upload
from ui import state

TICKETS_CSV = b"ticket,body\nT-1,The printer is on fire\nT-2,Password reset please\n"


def save_as(at: AppTest, name: str) -> None:
    at.text_input(key=state.RECIPE_SAVE_NAME).set_value(name).run()
    at.button(key="recipe_save").click().run()
    assert not at.exception


def enter_first_recipe(at: AppTest) -> None:
    """`enter_recipe`'s recipe with a column more, an answer cap, fields and an ID column."""
    enter_recipe(at)
    at.text_area(key=state.TEMPLATE).set_value("Classify ({lang}): {text}").run()
    at.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(40).run()
    at.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()
    at.selectbox(key=state.ID_COLUMN).set_value("id").run()
    assert not at.exception


def fields_editor(at: AppTest) -> pd.DataFrame:
    table: pd.DataFrame = at.session_state[f"{state.FIELDS_EDITOR}:latest"]
    return table


def test_save_then_load_onto_another_table_reports_the_missing_column(app: AppTest) -> None:
    enter_first_recipe(app)
    assert "No recipe is saved with this key yet" in joined(app, "caption")
    save_as(app, "Triage")
    assert "Saved Triage, version 1." in joined(app, "success")
    first = app.session_state[state.RECIPE]

    upload(app, "tickets.csv", TICKETS_CSV)
    app.text_area(key=state.TEMPLATE).set_value("Route: {body}").run()
    app.selectbox(key=state.MODEL).set_value("gpt-4o").run()
    assert app.session_state[state.RECIPE].template == "Route: {body}"

    app.selectbox(key=state.RECIPE_LOAD_NAME).set_value("Triage").run()
    app.button(key="recipe_load").click().run()
    assert not app.exception
    assert app.text_area(key=state.TEMPLATE).value == "Classify ({lang}): {text}"
    assert app.text_area(key=state.SYSTEM_PROMPT).value == "Answer in one word."
    assert app.selectbox(key=state.MODEL).value == "gpt-4.1-mini"
    assert app.number_input(key=state.TEMPERATURE).value == 0.3
    assert app.number_input(key=state.MAX_OUTPUT_TOKENS).value == 40
    assert app.segmented_control(key=state.OUTPUT_MODE).value == state.OUTPUT_FIELDS
    assert fields_editor(app)["name"].tolist() == ["answer"]
    # The table has none of lang, text and id: said plainly, the ID column back to automatic.
    warning = joined(app, "warning")
    assert "Loaded Triage, version 1." in warning
    assert "This table has no columns **lang, text**, which the recipe uses" in warning
    assert "The recipe's ID column **id** is not in this table: IDs are automatic" in warning
    assert app.selectbox(key=state.ID_COLUMN).value == ""
    loaded = app.session_state[state.RECIPE]
    assert loaded == Recipe(**{**first.__dict__, "id_column": None})

    # The template edited to use this table's column: only what is still missing is said.
    app.text_area(key=state.TEMPLATE).set_value("Classify ({lang}): {body}").run()
    warning = joined(app, "warning")
    assert "This table has no column **lang**, which the recipe uses" in warning
    assert "text" not in warning.replace("template", "")

    # A changed mind: the recipe from before the load comes back.
    app.button(key="recipe_put_back").click().run()
    assert app.text_area(key=state.TEMPLATE).value == "Route: {body}"
    assert app.selectbox(key=state.MODEL).value == "gpt-4o"
    assert "The recipe you had before loading is back." in joined(app, "success")


def test_saving_again_adds_a_version_and_an_older_one_loads(app: AppTest) -> None:
    enter_first_recipe(app)
    save_as(app, "Triage")
    app.text_area(key=state.TEMPLATE).set_value("Second: {text}").run()
    app.text_input(key=state.RECIPE_SAVE_NAME).set_value(" Triage ").run()
    assert "**Triage** is saved already: saving adds version 2, and version 1 stays." in joined(
        app, "caption"
    )
    app.button(key="recipe_save").click().run()
    assert "Saved Triage, version 2." in joined(app, "success")

    versions = app.selectbox(key=state.RECIPE_LOAD_VERSION)
    assert versions.value == 2 and versions.options[0].startswith("Version 2 (latest)")
    versions.set_value(1).run()
    app.button(key="recipe_load").click().run()
    assert app.text_area(key=state.TEMPLATE).value == "Classify ({lang}): {text}"
    assert "Loaded Triage, version 1." in joined(app, "success")
    assert not app.warning

    # The latest loads too, and a second load keeps what "Put back" returns to.
    app.selectbox(key=state.RECIPE_LOAD_VERSION).set_value(2).run()
    app.button(key="recipe_load").click().run()
    assert app.text_area(key=state.TEMPLATE).value == "Second: {text}"
    app.button(key="recipe_put_back").click().run()
    assert app.text_area(key=state.TEMPLATE).value == "Second: {text}"


def test_a_blank_name_is_refused_and_delete_removes_every_version(app: AppTest) -> None:
    enter_first_recipe(app)
    save_as(app, "   ")
    assert "Give the recipe a name to save it under." in joined(app, "error")
    save_as(app, "Triage")
    save_as(app, "Triage")
    save_as(app, "Other")
    assert app.selectbox(key=state.RECIPE_LOAD_NAME).options == ["Other", "Triage"]
    app.selectbox(key=state.RECIPE_LOAD_NAME).set_value("Triage").run()
    assert "Deletes **Triage** and all its 2 versions" in joined(app, "markdown")
    app.button(key="recipe_delete").click().run()
    assert not app.exception
    assert "Deleted Triage and its 2 versions." in joined(app, "success")
    assert app.selectbox(key=state.RECIPE_LOAD_NAME).options == ["Other"]
    # The recipe on the page is untouched by the delete.
    assert app.text_area(key=state.TEMPLATE).value == "Classify ({lang}): {text}"


def test_saved_recipes_in_chinese(app: AppTest) -> None:
    enter_first_recipe(app)
    save_as(app, "Triage")
    app.session_state["language"] = "zh-CN"
    app.run()
    # The notice was made in English and is shown in the language of the moment.
    assert "已保存 Triage，版本 1。" in joined(app, "success")
    assert "已保存的配置" in joined(app, "markdown")


def test_a_recipe_saved_by_a_teammate_on_the_key_is_offered_with_who_saved_it(
    make_app: MakeApp, data_dir: Path
) -> None:
    data_dir.mkdir(parents=True)
    registry = Registry(default_db_url(data_dir))
    try:
        teammate = owner_scope("sandbox", "sandbox") + "/ana@example.com"
        registry.save_recipe(teammate, "Shared", Recipe(template="Shared: {text}"))
    finally:
        registry.close()
    at = make_app()
    at.run()
    upload(at, "reviews.csv", REVIEWS_CSV)
    assert at.selectbox(key=state.RECIPE_LOAD_NAME).value == "Shared"
    version = at.selectbox(key=state.RECIPE_LOAD_VERSION)
    assert version.options[0].startswith("Version 1 (latest), saved by ana@example.com at ")
    at.button(key="recipe_load").click().run()
    assert at.text_area(key=state.TEMPLATE).value == "Shared: {text}"


def test_put_back_keeps_the_id_column_chosen_on_another_sheet(app: AppTest) -> None:
    data = workbook_bytes(
        {"Prompts": [["id", "prompt"], ["a1", "x"], ["a2", "y"]], "Notes": [["note"], ["n"]]}
    )
    upload(app, "book.xlsx", data)
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()
    app.selectbox(key=state.READ_SHEET).set_value("Notes").run()
    app.text_area(key=state.TEMPLATE).set_value("{note}").run()
    save_as(app, "Notes only")
    app.selectbox(key=state.RECIPE_LOAD_NAME).set_value("Notes only").run()
    app.button(key="recipe_load").click().run()

    app.button(key="recipe_put_back").click().run()
    app.selectbox(key=state.READ_SHEET).set_value("Prompts").run()

    assert not app.exception
    assert app.selectbox(key=state.ID_COLUMN).value == "id"
