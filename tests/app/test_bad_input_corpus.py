"""The bad-input corpus (tests/data/bad) driven through the pages.

Each file is uploaded, and each value typed, into a page that already holds a good table and a
recipe. Every case gives a clear message (its words are checked), no exception reaches the
page, and nothing already there is lost: a refused upload leaves the earlier table in use, and
the recipe (template, system prompt, model, temperature) survives every case.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest
import python_calamine
from streamlit.testing.v1 import AppTest

from batchdash.errors import InputError
from batchdash.inputs.file_kinds import MAX_PACKING_RATIO, MAX_UPLOAD_BYTES
from batchdash.inputs.reading import read_table
from cli import main as cli_main
from tests.app.conftest import NEW_JOB, SETTINGS, joined, until_counted
from tests.app.test_new_job_bad_inputs import assert_recipe_kept, enter_recipe, upload
from ui import state

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"


def _load_corpus_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_script()
VALUES: dict[str, Any] = json.loads((CORPUS / "values.json").read_text(encoding="utf-8"))

#: Uploads Batchdash refuses, with words of the one-sentence error.
REFUSED: dict[str, str] = {
    "empty.csv": "is empty",
    "header_only.csv": "has a header row but no rows of data",
    "binary_named.csv": "holds binary data",
    "mismatched_quotes.csv": "never closes",
    "unknown_encoding.csv": "choose its encoding by hand",
    "nul_bytes.csv": "holds binary data",
    "duplicate_headers.csv": "are both named 'prompt'",
    "blank_header_with_data.csv": "has data but no name in the header row",
    "bom_only.csv": "is empty",
    "blank_lines.csv": "is empty",
    "json_named.csv": "holds JSON",
    "jsonl_named.csv": "holds JSON",
    "web_page.xls": "is a web page (HTML)",
    "malformed.xlsx": "damaged or incomplete workbook",
    "broken_workbook_xml.xlsx": "damaged or unusual workbook",
    "zip_bomb.xlsx": "looks like a 'zip bomb'",
    "no_sheets.xlsx": "has no worksheets",
    "password_protected.xlsx": "is protected with a password",
    "old_excel.xls": "old-style Excel workbook (.xls)",
    "opendocument.xlsx": "OpenDocument spreadsheet",
    "archive.csv": "is a ZIP archive, not a spreadsheet",
    "utf16_cut_short.txt": "it may be cut short",
}
#: Uploads read with a warning the analyst should see (and then used).
READ_WITH_WARNINGS: dict[str, tuple[str, ...]] = {
    "control_characters.csv": ("Cells in rows 2 and 3 hold control characters",),
    "right_to_left.csv": ("Cells in row 3 hold direction overrides",),
    "nul_bytes_late.csv": ("Cells in row 1001 hold control characters",),
    "hidden_sheets.xlsx": ("Every sheet of 'hidden_sheets.xlsx' is hidden",),
    "formulas_and_merges.xlsx": ("hold formulas", "are merged"),
    "workbook_named.csv": ("is an Excel workbook despite its name",),
}


def corpus_file(name: str) -> bytes:
    """A corpus file: committed, or built by make_corpus.py."""
    path = CORPUS / name
    if path.is_file():
        return path.read_bytes()
    return corpus.GENERATED[name]()  # type: ignore[no-any-return]


def assert_earlier_table_in_use(at: AppTest) -> None:
    """The good reviews table of `enter_recipe` is still the one the page works on."""
    assert "still uses **reviews.csv**, read earlier" in joined(at, "info")
    assert at.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Rows"] == "4"
    assert at.text_area(key=state.TEMPLATE).value == "Classify: {text}"


def test_the_corpus_holds_every_case() -> None:
    files = {*corpus.committed(), *corpus.GENERATED, *corpus.BIG}
    cases = files | set(VALUES) | {"long template"}
    assert len(cases) >= 30
    named = set(REFUSED) | set(READ_WITH_WARNINGS) | {"huge_250mb.csv"}
    named |= {"emoji.csv", "sixty_thousand_rows.csv", "wide_header.csv", "markup_cells.csv"}
    named |= {"duplicate_ids.csv", "empty_ids.csv", "one_megabyte_cell.csv"}
    assert files == named, "every corpus file has its expected outcome in this module"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_upload_says_why_and_the_page_keeps_the_earlier_table(
    app: AppTest, name: str
) -> None:
    enter_recipe(app)

    upload(app, name, corpus_file(name))

    assert REFUSED[name] in joined(app, "error")
    assert not app.exception
    assert_earlier_table_in_use(app)
    assert_recipe_kept(app)


@pytest.mark.parametrize("name", sorted(READ_WITH_WARNINGS))
def test_an_odd_upload_is_read_with_a_warning_and_the_recipe_stays(app: AppTest, name: str) -> None:
    enter_recipe(app)

    upload(app, name, corpus_file(name))

    warnings = joined(app, "warning")
    for words in READ_WITH_WARNINGS[name]:
        assert words in warnings
    assert not app.exception
    assert "read earlier" not in joined(app, "info")
    assert_recipe_kept(app)


def test_a_250_mb_csv_is_refused_before_it_is_read(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Browsers stop it at maxUploadSize = 200; the page refuses it too, from its size alone."""
    enter_recipe(app)
    data = corpus.huge_csv()
    assert len(data) > MAX_UPLOAD_BYTES

    def no_reading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a file over the limit was read")

    monkeypatch.setattr("ui.cached.read_table", no_reading)
    upload(app, "huge_250mb.csv", data)

    assert "'huge_250mb.csv' is 250 MB, more than the 200 MB Batchdash reads" in joined(
        app, "error"
    )
    assert not app.exception
    assert "still uses **reviews.csv**, read earlier" in joined(app, "info")
    assert app.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    assert_recipe_kept(app)


def test_the_core_and_the_cli_refuse_a_file_over_the_limit_with_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = corpus.huge_csv()
    with pytest.raises(InputError, match=r"is 250 MB, more than the 200 MB Batchdash reads"):
        read_table(data, "huge_250mb.csv")
    path = tmp_path / "huge_250mb.csv"
    path.write_bytes(data)

    status = cli_main(["convert", str(path), "--template", "{prompt}", "--out-dir", str(tmp_path)])

    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "'huge_250mb.csv' is 250 MB, more than the 200 MB Batchdash reads" in err


class ZipWatch:
    """Counts what is unpacked from any archive while a block runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[str] = []
        original = zipfile.ZipFile.open

        def watched(archive: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
            self.opened.append(name if isinstance(name, str) else name.filename)
            return original(archive, name, *args, **kwargs)

        def reader_given_the_bomb(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("a workbook reader was given the zip bomb")

        monkeypatch.setattr(zipfile.ZipFile, "open", watched)
        # Both readers: calamine first, openpyxl for the sheets calamine is not trusted with.
        monkeypatch.setattr(openpyxl, "load_workbook", reader_given_the_bomb)
        monkeypatch.setattr(
            python_calamine,
            "CalamineWorkbook",
            type("NoCalamine", (), {"from_filelike": staticmethod(reader_given_the_bomb)}),
        )


def test_the_zip_bomb_is_real() -> None:
    """What the bomb declares is what it holds: a gigabyte of rows from a few megabytes."""
    data = corpus.zip_bomb_xlsx()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size >= corpus.BOMB_UNPACKED_BYTES - corpus.MIB
        assert sheet.file_size / sheet.compress_size > MAX_PACKING_RATIO
        with archive.open(sheet) as stream:
            head = stream.read(8 * corpus.MIB)
    assert len(head) == 8 * corpus.MIB
    assert head.count(b"<t>zip bomb</t>") > 100_000


def test_the_zip_bomb_is_refused_from_its_directory_without_unpacking(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    enter_recipe(app)
    bomb = corpus.zip_bomb_xlsx()
    watch = ZipWatch(monkeypatch)

    with pytest.raises(InputError, match="zip bomb"):
        read_table(bomb, "bomb.xlsx")
    upload(app, "zip_bomb.xlsx", bomb)

    assert watch.opened == []
    assert "looks like a 'zip bomb'" in joined(app, "error")
    assert not app.exception
    assert_earlier_table_in_use(app)


def test_an_emoji_header_and_cells_work_end_to_end(app: AppTest) -> None:
    enter_recipe(app)
    upload(app, "emoji.csv", corpus_file("emoji.csv"))
    assert "{text}" in joined(app, "error")  # the recipe kept names a column this table lacks
    assert_recipe_kept(app)

    app.text_area(key=state.TEMPLATE).set_value("Classify: {📝 prompt}").run()

    assert not app.error
    assert not app.exception
    assert app.dataframe[0].value["📝 prompt"].iloc[0] == "Say hi 👋🏽 to the family 👨‍👩‍👧"
    preview = next(code.value for code in app.code if "Say hi" in code.value)
    assert "👨‍👩‍👧" in preview  # sent as written, not escaped away or cut in the middle


def test_right_to_left_text_is_kept_as_written(app: AppTest) -> None:
    upload(app, "right_to_left.csv", corpus_file("right_to_left.csv"))
    frame = app.dataframe[0].value
    assert frame["prompt"].tolist()[:2] == ["מה שלומך היום?", "كيف حالك اليوم؟"]
    assert "\u202e" in frame["prompt"].iloc[2]
    assert not app.exception


def test_sixty_thousand_rows_make_two_parts(app: AppTest) -> None:
    enter_recipe(app)
    upload(app, "sixty_thousand_rows.csv", corpus_file("sixty_thousand_rows.csv"))
    app.text_area(key=state.TEMPLATE).set_value("{prompt}").run()
    until_counted(app)

    metrics = {metric.label: metric.value for metric in app.metric}
    assert (metrics["Rows"], metrics["Batches"]) == ("60,000", "2")
    assert not app.error
    assert not app.exception


def test_a_header_of_ten_thousand_columns_is_read(app: AppTest) -> None:
    enter_recipe(app)
    upload(app, "wide_header.csv", corpus_file("wide_header.csv"))
    app.text_area(key=state.TEMPLATE).set_value("{prompt}").run()

    assert "**1 row** × 10,000 columns" in "\n".join(str(md.value) for md in app.markdown)
    assert not app.error
    assert not app.exception
    assert app.session_state[state.SYSTEM_PROMPT] == "Answer in one word."


def test_a_one_megabyte_cell_is_named_by_its_row(app: AppTest) -> None:
    enter_recipe(app)
    upload(app, "one_megabyte_cell.csv", corpus_file("one_megabyte_cell.csv"))
    app.text_area(key=state.TEMPLATE).set_value("{prompt}").run()

    warnings = joined(app, "warning")
    assert "more than 32,767 characters" in warnings and "row 2" in warnings
    assert not app.exception
    assert app.session_state[state.SYSTEM_PROMPT] == "Answer in one word."


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("duplicate_ids.csv", "'7'"),
        ("empty_ids.csv", "row 2"),
    ],
)
def test_bad_ids_are_named_and_the_choice_stays(app: AppTest, name: str, words: str) -> None:
    enter_recipe(app)
    upload(app, name, corpus_file(name))
    app.text_area(key=state.TEMPLATE).set_value("{prompt}").run()
    app.selectbox(key=state.ID_COLUMN).set_value("id").run()

    assert words in joined(app, "error")
    assert not app.exception
    assert app.session_state[state.ID_COLUMN] == "id"
    assert app.button(key="try_rows").disabled


# --- values typed into the pages -------------------------------------------------------------

Step = Callable[[AppTest], None]


def _set_model(value: str) -> Step:
    """A model name typed into the model box.

    AppTest selects only listed options; the browser sends a typed name as the widget's text
    value, which listing it first reproduces.
    """

    def step(at: AppTest) -> None:
        box = at.selectbox(key=state.MODEL)
        box.options.append(value)
        box.set_value(value).run()

    return step


def _set_number(key: str, value: float) -> Step:
    def step(at: AppTest) -> None:
        at.number_input(key=key).set_value(value).run()

    return step


def _set_template(value: str) -> Step:
    def step(at: AppTest) -> None:
        at.text_area(key=state.TEMPLATE).set_value(value).run()

    return step


def _structured(edit: dict[str, Any]) -> Step:
    def step(at: AppTest) -> None:
        at.segmented_control(key=state.OUTPUT_MODE).set_value(state.OUTPUT_FIELDS).run()
        at.session_state[f"{state.FIELDS_EDITOR}:0"] = {
            "edited_rows": {},
            "added_rows": [],
            "deleted_rows": [],
            **edit,
        }
        at.run()

    return step


def _responses_max_tokens(value: int) -> Step:
    def step(at: AppTest) -> None:
        at.selectbox(key=state.ENDPOINT).set_value("/v1/responses").run()
        at.number_input(key=state.MAX_OUTPUT_TOKENS).set_value(value).run()

    return step


def _embeddings_size(value: int) -> Step:
    def step(at: AppTest) -> None:
        at.selectbox(key=state.ENDPOINT).set_value("/v1/embeddings").run()
        at.number_input(key=state.DIMENSIONS).set_value(value).run()

    return step


one_of = VALUES["field_one_of_without_values"]
#: Values typed on New job: (what to do, words of the message, the widget keeping the value).
TYPED: dict[str, tuple[Step, str, tuple[str, object] | None]] = {
    "model_with_spaces": (
        _set_model(VALUES["model_with_spaces"]),
        "The model name 'gpt 4o mini' contains spaces",
        (state.MODEL, "gpt 4o mini"),
    ),
    "responses_max_tokens_under_16": (
        _responses_max_tokens(VALUES["responses_max_tokens_under_16"]),
        "The maximum output tokens is 8; it must be at least 16",
        (state.MAX_OUTPUT_TOKENS, 8),
    ),
    "negative_max_tokens": (
        _set_number(state.MAX_OUTPUT_TOKENS, VALUES["negative_max_tokens"]),
        "The maximum output tokens is -5; it must be at least 1",
        (state.MAX_OUTPUT_TOKENS, -5),
    ),
    "temperature_too_high": (
        _set_number(state.TEMPERATURE, VALUES["temperature_too_high"]),
        "The temperature 3.5 is outside 0 to 2",
        (state.TEMPERATURE, 3.5),
    ),
    "unknown_placeholder": (
        _set_template(VALUES["unknown_placeholder"]),
        "'{review}'",
        (state.TEMPLATE, VALUES["unknown_placeholder"]),
    ),
    "unclosed_brace": (
        _set_template(VALUES["unclosed_brace"]),
        "has a '{' that is never closed",
        (state.TEMPLATE, VALUES["unclosed_brace"]),
    ),
    "blank_template": (
        _set_template(VALUES["blank_template"]),
        "The prompt template is empty",
        (state.TEMPLATE, VALUES["blank_template"]),
    ),
    "field_one_of_without_values": (
        _structured({"edited_rows": {0: one_of}}),
        "The 'one of' field 'mood' needs a list of non-empty choices",
        None,
    ),
    "field_names_repeated": (
        _structured({"added_rows": [{"name": VALUES["field_names_repeated"], "type": "text"}]}),
        "Structured output field names repeat ('answer')",
        None,
    ),
    "embedding_size_zero": (
        _embeddings_size(VALUES["embedding_size_zero"]),
        "The embedding size 0 must be at least 1",
        (state.DIMENSIONS, 0),
    ),
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_bad_value_is_explained_and_nothing_else_changes(app: AppTest, name: str) -> None:
    step, words, kept = TYPED[name]
    enter_recipe(app)

    step(app)

    assert words in joined(app, "error")
    assert not app.exception
    assert app.button(key="try_rows").disabled
    assert "Fix the problems listed under Preflight" in joined(app, "caption")
    assert app.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    if kept is not None:
        key, value = kept
        assert app.session_state[key] == pytest.approx(value)
    # Every other part of the recipe is as typed before.
    assert app.session_state[state.SYSTEM_PROMPT] == "Answer in one word."
    if name not in ("model_with_spaces", "embedding_size_zero"):
        assert app.session_state[state.MODEL] == "gpt-4.1-mini"
    if name not in ("unknown_placeholder", "unclosed_brace", "blank_template"):
        assert app.session_state[state.TEMPLATE] == "Classify: {text}"


def test_a_template_of_100000_characters_is_counted_and_kept(app: AppTest) -> None:
    enter_recipe(app)
    template = corpus.long_template()
    assert len(template) == 100_000

    app.text_area(key=state.TEMPLATE).set_value(template).run()

    assert not app.exception
    assert not app.error
    metrics = {metric.label: metric.value for metric in app.metric}
    assert int(metrics["Input tokens"].replace(",", "")) > 4 * 20_000
    assert app.text_area(key=state.TEMPLATE).value == template
    previews = [code.value for code in app.code if code.language == "json"]
    assert template.replace("{text}", "Arrived quickly and works well")[:1000] in previews[0]


def test_pasted_rows_with_only_a_header_are_explained(app: AppTest) -> None:
    app.segmented_control(key=state.SOURCE_MODE).set_value(state.SOURCE_PASTE).run()
    app.text_area(key=state.PASTED_TEXT).set_value(VALUES["pasted_header_only"]).run()

    assert "has a header line but no rows under it" in joined(app, "error")
    assert not app.exception
    assert app.session_state[state.PASTED_TEXT] == VALUES["pasted_header_only"]


@pytest.fixture
def settings(app: AppTest) -> Iterator[AppTest]:
    enter_recipe(app)
    app.switch_page(SETTINGS).run()
    assert not app.exception
    yield app
    # Back on New job, the table and the recipe are as they were.
    app.switch_page(NEW_JOB).run()
    assert not app.exception
    assert app.dataframe[0].value["id"].tolist() == ["001", "002", "003", "004"]
    assert_recipe_kept(app)


def test_a_custom_url_without_scheme_is_explained(settings: AppTest) -> None:
    settings.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_CUSTOM).run()
    settings.text_input(key=state.CUSTOM_BASE_URL).set_value(
        VALUES["custom_url_without_scheme"]
    ).run()
    assert "must start with http:// or https://" in joined(settings, "error")
    assert not settings.exception


def test_an_azure_resource_with_spaces_is_explained(settings: AppTest) -> None:
    settings.segmented_control(key=state.BASE_URL_PRESET).set_value(state.PRESET_AZURE).run()
    settings.text_input(key=state.AZURE_RESOURCE).set_value(
        VALUES["azure_resource_with_spaces"]
    ).run()
    assert "is not valid" in joined(settings, "error")
    assert not settings.exception


def test_a_negative_token_limit_is_left_out_with_a_warning(settings: AppTest) -> None:
    settings.session_state[f"{state.LIMITS_EDITOR}:0"] = {
        "edited_rows": {},
        "added_rows": [
            {"model": "gpt-4o-mini", "enqueued tokens": VALUES["negative_token_limit"]},
            {"model": "gpt-4.1", "enqueued tokens": 90_000},
        ],
        "deleted_rows": [],
    }
    settings.run()

    assert "The limit for gpt-4o-mini (row 1) must be a whole number" in joined(settings, "warning")
    assert settings.session_state[state.TOKEN_LIMITS] == {"gpt-4.1": 90_000}
    assert not settings.exception


def test_a_negative_price_is_left_out_with_a_warning(settings: AppTest) -> None:
    settings.session_state[f"{state.PRICES_EDITOR}:0"] = {
        "edited_rows": {},
        "added_rows": [
            {
                "model": "my-model",
                "input USD per 1M": VALUES["negative_price"],
                "output USD per 1M": 2.0,
            }
        ],
        "deleted_rows": [],
    }
    settings.run()

    assert "The prices for my-model (row 1) must both be given" in joined(settings, "warning")
    assert settings.session_state[state.PRICE_OVERRIDES] == {}
    assert not settings.exception


# --- result files: the command line's merge (the pages fetch results by batch id only) -------


@pytest.mark.parametrize(
    ("results", "words"),
    [
        ("other_job_output.jsonl", "None of the results in other_job_output.jsonl match a row"),
        ("garbage_line_output.jsonl", "Line 2 of garbage_line_output.jsonl is not a JSON line"),
    ],
)
def test_a_foreign_or_broken_results_file_is_refused_by_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], results: str, words: str
) -> None:
    folder = CORPUS / "results"
    out = tmp_path / "merged.csv"
    argv = ["merge", str(folder / "table.csv"), "--results", str(folder / "own_output.jsonl")]

    status = cli_main([*argv, str(folder / results), "--out", str(out)])

    _, err = capsys.readouterr()
    assert status == 2
    assert err.count("\n") == 1
    assert words in err
    assert "Traceback" not in err
    assert not out.exists()
    # The job's own file alone merges.
    assert cli_main([*argv, "--out", str(out)]) == 0
    assert out.read_bytes().count(b"\r\n") == 4


def test_the_pages_offer_no_upload_of_result_files(app: AppTest) -> None:
    """Results come from the job's own batches; the only uploader is New job's spreadsheet."""
    uploaders = [app.file_uploader]
    for page in ("app_pages/jobs.py", "app_pages/results.py", SETTINGS):
        app.switch_page(page).run()
        assert not app.exception
        uploaders.append(app.file_uploader)
    assert [len(found) for found in uploaders] == [1, 0, 0, 0]
