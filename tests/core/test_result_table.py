"""Results as Arrow columns: the same rows as `parse_result_lines`, a run of lines at a time."""

from typing import Any

import pyarrow as pa
import pytest

from batchdash.errors import ResultsError
from batchdash.recipe import OutputField, Recipe
from batchdash.results.parse import parse_result_lines
from batchdash.results.result_table import (
    ResultFile,
    read_result_files,
    result_run_table,
    rows_table,
)
from tests.result_lines import (
    answer_line,
    chat_body,
    chat_line,
    http_error_line,
    jsonl,
    not_run_line,
    result_line,
)

CHAT = Recipe(endpoint="/v1/chat/completions", model="gpt-4o-mini")
COMPLETIONS = Recipe(endpoint="/v1/completions", model="gpt-3.5-turbo-instruct")
STRUCTURED = Recipe(
    model="gpt-4o-mini",
    output_fields=(OutputField("score", "integer"), OutputField("label", "text")),
)


def completions_line(custom_id: str, text: str, finish_reason: str = "stop") -> bytes:
    body = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"text": text, "index": 0, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
    return answer_line(custom_id, body)


def http_line(custom_id: str, status: int, error: dict[str, Any]) -> bytes:
    return result_line(custom_id, {"status_code": status, "body": {"error": error}})


# Every kind of line the column-by-column reader judges itself.
CHAT_LINES = jsonl(
    chat_line("row-1", "Positive."),
    chat_line("row-2", None, refusal="I cannot help with that."),
    chat_line("row-3", "", refusal=""),  # an empty refusal is no refusal
    chat_line("row-4", "Cut", finish_reason="length", model=""),  # no model: the recipe's
    http_error_line("row-5", 400, "Invalid prompt.", "invalid_prompt"),
    http_error_line("row-6", 500, "", None),
    http_line("row-7", 429, {"message": "Slow down", "code": "", "type": "rate_limit"}),
    http_line("row-8", 503, {}),
    not_run_line("row-9"),
    not_run_line("row-10", code="batch_cancelled", message=""),
    not_run_line("row-11", code="other_code", message="Something else."),
    result_line("row-12", None, {"code": "", "message": "Only a message."}),
    b"",
    b"   ",
    chat_line("row-13", "=1+1"),
)


def reference(data: bytes, recipe: Recipe, **options: Any) -> pa.Table:
    fields = recipe.output_fields if recipe.structured else ()
    return rows_table(parse_result_lines(data, recipe=recipe, **options), fields)


@pytest.mark.parametrize(
    ("data", "recipe"),
    [
        (CHAT_LINES, CHAT),
        (jsonl(completions_line("a", "One"), completions_line("b", "Two", "length")), COMPLETIONS),
        (jsonl(not_run_line("a"), http_error_line("b", 400, "No.", "bad")), COMPLETIONS),
        (b"\xef\xbb\xbf" + CHAT_LINES.replace(b"\n", b"\r\n"), CHAT),
        (b"", CHAT),
    ],
)
def test_columns_hold_what_the_line_reader_reads(data: bytes, recipe: Recipe) -> None:
    options = {"batch_id": "batch_1", "source_name": "output.jsonl"}
    table = result_run_table(data, recipe=recipe, **options)
    assert table.to_pylist() == reference(data, recipe, **options).to_pylist()
    assert table.schema == reference(data, recipe, **options).schema


def test_structured_answers_and_other_endpoints_take_the_line_reader() -> None:
    body = chat_body('{"score": 4, "label": "good"}')
    data = jsonl(answer_line("a", body), chat_line("b", "not json"), not_run_line("c"))
    table = result_run_table(data, recipe=STRUCTURED, batch_id="b1", source_name="o")
    assert table.column("field:score").to_pylist() == [4, None, None]
    assert table.column("field:label").to_pylist() == ["good", None, None]
    assert table.column("status").to_pylist() == ["ok", "error", "expired"]
    assert (
        table.to_pylist() == reference(data, STRUCTURED, batch_id="b1", source_name="o").to_pylist()
    )


def test_files_read_a_run_at_a_time_keep_their_order_and_sources() -> None:
    first = [chat_line("row-1", "a"), chat_line("row-2", "b")]
    second = [not_run_line("row-3")]
    files = [
        ResultFile(iter([jsonl(*first[:1]), jsonl(*first[1:])]), "batch_1", "output.jsonl"),
        ResultFile(iter([jsonl(*second)]), "batch_1", "errors.jsonl"),
    ]
    table = read_result_files(files, CHAT)
    assert table.column("custom_id").to_pylist() == ["row-1", "row-2", "row-3"]
    assert table.column("source").to_pylist() == ["output.jsonl"] * 2 + ["errors.jsonl"]
    assert read_result_files([], CHAT).num_rows == 0


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b'{"response": null}',
        jsonl(chat_line("", "x")),
        chat_line("row-3", "x") + b" " + chat_line("row-4", "y"),  # two objects on one line
    ],
)
def test_a_bad_line_in_a_later_run_is_named_by_its_line_in_the_file(bad: bytes) -> None:
    runs = [jsonl(chat_line("row-1", "a"), b"", chat_line("row-2", "b")), bad]
    with pytest.raises(ResultsError, match=r"^Line 4 of output\.jsonl "):
        read_result_files([ResultFile(iter(runs), "b", "output.jsonl")], CHAT)


def test_an_answer_of_another_endpoint_is_worded_as_the_line_reader_words_it() -> None:
    data = jsonl(chat_line("row-1", "a"), completions_line("row-2", "b"))
    with pytest.raises(ResultsError, match=r"^Line 2 of out is not an answer of /v1/chat"):
        result_run_table(data, recipe=CHAT, source_name="out")


def test_chat_and_completions_lines_are_judged_without_a_row_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **options: object) -> None:
        raise AssertionError("the line reader was used")

    monkeypatch.setattr("batchdash.results.result_table.parse_result_lines", refuse)
    assert result_run_table(CHAT_LINES, recipe=CHAT).num_rows == 13
    assert result_run_table(jsonl(completions_line("a", "One")), recipe=COMPLETIONS).num_rows == 1
