import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from batchdash.errors import ResultsError
from batchdash.recipe import ENDPOINTS, Endpoint, OutputField, Recipe
from batchdash.results import columns
from batchdash.results.parse import (
    RowResult,
    infer_endpoint_and_model,
    parse_result_lines,
    parse_structured,
)
from tests.openapi_schemas import validate
from tests.result_lines import (
    answer_line,
    chat_body,
    chat_line,
    http_error_line,
    jsonl,
    moderation_body,
    not_run_line,
    result_line,
)

CHAT = Recipe(endpoint="/v1/chat/completions", model="gpt-4o-mini")
RESPONSES = Recipe(endpoint="/v1/responses", model="gpt-4.1-mini")
EMBEDDINGS = Recipe(endpoint="/v1/embeddings", model="text-embedding-3-small")
COMPLETIONS = Recipe(endpoint="/v1/completions", model="gpt-3.5-turbo-instruct")


def one(data: bytes, recipe: Recipe = CHAT, **options: Any) -> RowResult:
    (result,) = parse_result_lines(data, recipe=recipe, **options)
    return result


def responses_body(
    output: list[dict[str, Any]], status: str = "completed", reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "incomplete_details": {"reason": reason} if reason else None,
        "model": "gpt-4.1-mini-2025-04-14",
        "output": output,
        "usage": {
            "input_tokens": 30,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 37,
        },
    }


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def embeddings_body() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -1.5, 3e-05]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }


def completions_body() -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1711475054,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"text": " Paris", "index": 0, "finish_reason": "length", "logprobs": None}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 1, "total_tokens": 7},
    }


def message(*content: dict[str, Any]) -> dict[str, Any]:
    item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed"}
    return item | {"content": list(content)}


def test_chat_answer() -> None:
    result = one(
        chat_line("row-1", "Positive.", prompt_tokens=24, completion_tokens=3),
        batch_id="batch_9",
        source_name="out.jsonl",
    )
    assert result == RowResult(
        custom_id="row-1",
        status="ok",
        response="Positive.",
        finish_reason="stop",
        input_tokens=24,
        output_tokens=3,
        batch_id="batch_9",
        model="gpt-4o-mini-2024-07-18",
        source="out.jsonl",
    )


def test_chat_refusal_is_an_error_with_its_text() -> None:
    result = one(chat_line("row-1", None, refusal="I can't help with that."))
    assert (result.status, result.error) == ("error", "The model refused: I can't help with that.")
    assert result.input_tokens == 10  # a refusal is still billed


def test_responses_answer_skips_reasoning_and_joins_text_parts() -> None:
    body = responses_body(
        [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            message(
                output_text("Hello "),
                output_text("there"),
            ),
        ]
    )
    result = one(answer_line("a", body), RESPONSES)
    assert (result.status, result.response, result.finish_reason) == ("ok", "Hello there", "stop")
    assert (result.input_tokens, result.output_tokens) == (30, 7)
    assert result.model == "gpt-4.1-mini-2025-04-14"


@pytest.mark.parametrize(
    ("reason", "finish_reason"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter")],
)
def test_responses_incomplete_reason(reason: str, finish_reason: str) -> None:
    body = responses_body([message(output_text("Hal"))], "incomplete", reason)
    result = one(answer_line("a", body), RESPONSES)
    assert (result.status, result.response, result.finish_reason) == ("ok", "Hal", finish_reason)


def test_responses_refusal_and_failure() -> None:
    refused = responses_body([message({"type": "refusal", "refusal": "No."})])
    assert one(answer_line("a", refused), RESPONSES).error == "The model refused: No."
    failed = responses_body([], "failed") | {"error": {"code": "server_error", "message": "Oops"}}
    result = one(answer_line("a", failed), RESPONSES)
    assert (result.status, result.error) == ("error", "The response failed: Oops")


def test_embeddings_vector_becomes_json_text() -> None:
    result = one(answer_line("e", embeddings_body()), EMBEDDINGS)
    assert json.loads(result.response) == [0.25, -1.5, 3e-05]
    assert (result.status, result.input_tokens, result.output_tokens) == ("ok", 8, 0)


def test_completions_answer() -> None:
    result = one(answer_line("c", completions_body()), COMPLETIONS)
    assert (result.response, result.finish_reason, result.input_tokens) == (" Paris", "length", 6)


def test_failures_wherever_they_are() -> None:
    data = jsonl(
        http_error_line("a", 429, "Rate limit reached.", "rate_limit_exceeded"),
        not_run_line("b"),
        not_run_line("c", "batch_cancelled", "Cancelled."),
        result_line("d", None, {"code": "internal_error", "message": "Something broke."}),
        result_line("e", {"status_code": 503, "request_id": "r", "body": {}}),
    )
    results = parse_result_lines(data, recipe=CHAT)
    assert [(r.custom_id, r.status) for r in results] == [
        ("a", "error"),
        ("b", "expired"),
        ("c", "cancelled"),
        ("d", "error"),
        ("e", "error"),
    ]
    assert results[0].error == "Rate limit reached (HTTP 429, rate_limit_exceeded)."
    assert results[2].error == "Cancelled."
    assert results[3].error == "Something broke."
    assert results[4].error == "The request failed with HTTP 503."
    assert all(r.model == "gpt-4o-mini" for r in results)  # no body: the recipe's model


def test_blank_lines_crlf_bom_and_empty_files() -> None:
    data = b"\xef\xbb\xbf" + chat_line("a", "x") + b"\r\n\r\n  \n" + chat_line("b", "y") + b"\r\n"
    assert [r.custom_id for r in parse_result_lines(data, recipe=CHAT)] == ["a", "b"]
    assert parse_result_lines(b"", recipe=CHAT) == []  # Azure's empty error file
    assert parse_result_lines(b"\n\n", recipe=CHAT) == []


def test_lines_of_an_open_file_equal_its_bytes(tmp_path: Path) -> None:
    data = jsonl(chat_line("a", "x"), not_run_line("b"), chat_line("c", "z"))
    path = tmp_path / "out.jsonl"
    path.write_bytes(data)
    with path.open("rb") as lines:
        assert parse_result_lines(lines, recipe=CHAT) == parse_result_lines(data, recipe=CHAT)


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        (b'{"custom_id": "x", "response": ', "is not a JSON line"),
        (b"\xff\xfe\x00garbage", "is not a JSON line \\(not UTF-8 text\\)"),
        (b'["custom_id", "x"]', "is not a JSON object"),
        (b'{"response": null, "error": {"code": "x"}}', "has no custom_id"),
        (
            b'{"custom_id": "x", "response": null, "error": null}',
            "has neither a response nor an error",
        ),
        (b'{"custom_id": "x", "response": {"status_code": 200}}', "is an answer without a body"),
    ],
)
def test_garbage_line_names_file_and_line(bad_line: bytes, problem: str) -> None:
    data = jsonl(chat_line("a", "x")) + b"\n" + bad_line + b"\n"
    with pytest.raises(ResultsError, match=f"^Line 3 of output.jsonl {problem}") as caught:
        parse_result_lines(data, recipe=CHAT, source_name="output.jsonl")
    assert "exactly as the Batch API returned them" in str(caught.value)


def test_answer_of_another_endpoint() -> None:
    with pytest.raises(ResultsError, match=r"Line 1 of .* not an answer of /v1/embeddings"):
        parse_result_lines(chat_line("a", "x"), recipe=EMBEDDINGS)


def test_infer_endpoint_and_model() -> None:
    assert infer_endpoint_and_model(jsonl(not_run_line("a"), chat_line("b", "x"))) == (
        "/v1/chat/completions",
        "gpt-4o-mini-2024-07-18",
    )
    body = responses_body([message(output_text("x"))])
    assert infer_endpoint_and_model(answer_line("r", body)) == (
        "/v1/responses",
        "gpt-4.1-mini-2025-04-14",
    )
    assert infer_endpoint_and_model(jsonl(not_run_line("a"))) == (None, None)


FIELDS = (
    OutputField("label", "one of", ("good", "bad")),
    OutputField("score", "number"),
    OutputField("count", "integer"),
    OutputField("refund", "yes/no"),
    OutputField("note", "text"),
)


def answer(**changes: Any) -> str:
    values = {"label": "good", "score": 4.5, "count": 2, "refund": True, "note": "fine"}
    return json.dumps({k: v for k, v in (values | changes).items() if v != "<absent>"})


def test_structured_answer_in_column_types() -> None:
    assert parse_structured(answer(extra="ignored"), FIELDS) == (
        {"label": "good", "score": 4.5, "count": 2, "refund": "yes", "note": "fine"},
        "",
    )
    values, _ = parse_structured(answer(score=3, count=7.0, refund=" No "), FIELDS)
    assert (values["score"], values["count"], values["refund"]) == (3.0, 7, "no")
    assert isinstance(values["count"], int)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"label": "Good"}, """The answer's field 'label' is "Good", not one of: good, bad."""),
        ({"score": "4.5"}, """The answer's field 'score' is "4.5", not a number."""),
        ({"score": True}, "The answer's field 'score' is true, not a number."),
        ({"count": 2.5}, "The answer's field 'count' is 2.5, not a whole number."),
        ({"refund": "maybe"}, """The answer's field 'refund' is "maybe", not yes or no."""),
        ({"note": 5}, "The answer's field 'note' is 5, not text."),
        ({"note": None}, "The answer has no value for the field 'note'."),
        ({"label": "<absent>"}, "The answer has no value for the field 'label'."),
    ],
)
def test_structured_answer_that_does_not_fit(change: dict[str, Any], error: str) -> None:
    assert parse_structured(answer(**change), FIELDS) == ({}, error)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"score": 1e400}', "is Infinity, not a number"),
        ('{"score": NaN}', "is NaN, not a number"),
        ('{"score": 1' + "0" * 400 + "}", "not a number"),
        ('{"count": 10000000000000000000000}', "is 10000000000000000000000, not a whole number"),
    ],
)
def test_numbers_beyond_the_columns_do_not_fit(text: str, error: str) -> None:
    fields = (
        (OutputField("score", "number"),) if "score" in text else (OutputField("count", "integer"),)
    )
    values, problem = parse_structured(text, fields)
    assert values == {}
    assert problem.endswith(error + ".")


def test_large_integers_stay_exact() -> None:
    fields = (OutputField("count", "integer"),)
    assert parse_structured('{"count": 9007199254740993}', fields) == (
        {"count": 9007199254740993},
        "",
    )


def test_structured_answer_that_is_not_an_object() -> None:
    assert parse_structured("[1, 2]", FIELDS)[1].startswith("The answer is JSON but not an object")
    assert parse_structured("Sure! {", FIELDS)[1].startswith("The answer is not valid JSON")
    cut = parse_structured('{"label": "go', FIELDS, finish_reason="length")[1]
    assert "cut off at the output token limit" in cut


def test_malformed_structured_answer_is_the_rows_error() -> None:
    recipe = Recipe(output_fields=FIELDS)
    data = jsonl(chat_line("a", answer()), chat_line("b", answer(score="high")))
    good, bad = parse_result_lines(data, recipe=recipe)
    assert (good.status, good.fields["label"]) == ("ok", "good")
    assert (bad.status, bad.fields, bad.response) == ("error", {}, answer(score="high"))
    assert bad.error == """The answer's field 'score' is "high", not a number."""
    assert bad.input_tokens == 10  # billed all the same


def test_free_text_recipe_leaves_json_answers_alone() -> None:
    result = one(chat_line("a", '{"not": "parsed"}'), Recipe(endpoint="/v1/chat/completions"))
    assert (result.status, result.fields) == ("ok", {})


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("CreateChatCompletionResponse", chat_body("x", refusal=None)),
        ("CreateChatCompletionResponse", chat_body(None, refusal="No.")),
        ("Response", responses_body([message(output_text("x"))])),
        ("CreateEmbeddingResponse", embeddings_body()),
        ("CreateCompletionResponse", completions_body()),
        ("CreateModerationResponse", moderation_body({"violence": 0.91})),
    ],
)
def test_lines_these_tests_parse_fit_the_spec(schema: str, body: dict[str, Any]) -> None:
    validate(schema, body)
    validate("BatchRequestOutput", json.loads(answer_line("a", body)), spec="2025")
    validate("BatchRequestOutput", json.loads(not_run_line("a")), spec="2025")


def corpus(endpoint: Endpoint) -> list[bytes]:
    """Every kind of line of one endpoint, answers with fields the reader skips."""
    answers = {
        "/v1/chat/completions": [
            chat_body("Fine.") | {"service_tier": "default", "system_fingerprint": None},
            chat_body(None, refusal="No."),
            chat_body("Cut", finish_reason="length"),
        ],
        "/v1/responses": [
            responses_body([message(output_text("a"), output_text("b"))]),
            responses_body(
                [{"type": "reasoning", "id": "rs", "summary": []}],
                "incomplete",
                "max_output_tokens",
            ),
            responses_body([message({"type": "refusal", "refusal": "No."})]),
        ],
        "/v1/embeddings": [embeddings_body()],
        "/v1/completions": [completions_body()],
        "/v1/moderations": [moderation_body({"violence": 0.91, "hate": 0.6}), moderation_body()],
    }[endpoint]
    return [
        *(answer_line(f"ok-{n}", body) for n, body in enumerate(answers)),
        http_error_line("http", 400, "Bad.", "invalid_value"),
        http_error_line("no-code", 500, "Boom.", None),
        result_line("bare", {"status_code": 502, "request_id": "r", "body": {}}),
        not_run_line("expired"),
        not_run_line("cancelled", "batch_cancelled", "Cancelled."),
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_arrow_reader_reads_what_the_json_reader_reads(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = corpus(endpoint)
    leaves = {**columns.ENVELOPE, **columns.ANSWER[endpoint]}
    assert columns._arrow_values(lines, endpoint, leaves) is not None  # no fallback
    recipe = Recipe(endpoint=endpoint, output_fields=(OutputField("x"),))
    fast = parse_result_lines(jsonl(*lines), recipe=recipe)
    monkeypatch.setattr(columns, "_arrow_values", lambda *_args: None)
    assert parse_result_lines(jsonl(*lines), recipe=recipe) == fast


def test_lines_arrow_refuses_are_read_line_by_line() -> None:
    empty_choices = chat_body("x") | {"choices": []}
    with pytest.raises(ResultsError, match=r"Line 2 of .* not an answer of /v1/chat/completions"):
        parse_result_lines(jsonl(chat_line("a", "x"), answer_line("b", empty_choices)), recipe=CHAT)
    base64 = embeddings_body()
    base64["data"][0]["embedding"] = "AAAAPw=="
    assert one(answer_line("e", base64), EMBEDDINGS).response == "AAAAPw=="
    whole_floats = embeddings_body()
    whole_floats["data"][0]["embedding"] = [0, 1, -2.5]  # the json reader sees ints here
    assert one(answer_line("e", whole_floats), EMBEDDINGS).response == "[0.0,1.0,-2.5]"
    stringly = result_line("s", {"status_code": "200", "body": chat_body("x")})
    assert one(stringly).status == "error"  # not the integer 200: not an answer


def test_two_objects_on_one_line_are_garbage() -> None:
    line = chat_line("a", "x") + b" " + chat_line("b", "y")
    with pytest.raises(ResultsError, match=r"Line 1 of .* is not a JSON line \(Extra data\)"):
        parse_result_lines(line, recipe=CHAT)


def test_results_pickle_for_the_page_cache() -> None:
    recipe = Recipe(output_fields=(OutputField("label"),))
    data = jsonl(chat_line("a", '{"label": "x"}'), not_run_line("b"), chat_line("c", "x"))
    results = parse_result_lines(data, recipe=recipe)
    assert pickle.loads(pickle.dumps(results)) == results
