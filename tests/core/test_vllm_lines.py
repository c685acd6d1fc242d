"""vLLM's run-batch output lines read as OpenAI's, then parsed and merged as any batch's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from batchdash.errors import ResultsError
from batchdash.recipe import Recipe
from batchdash.results.merge import merge_results
from batchdash.results.parse import parse_result_lines
from batchdash.results.vllm_lines import openai_lines
from tests.vllm_output import FLAT_ERROR, MODEL_MISSING, error_response, string_error, success

RECIPE = Recipe(model="Qwen/Qwen2.5-7B-Instruct", template="{text}")


def _file(*lines: dict[str, object]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_a_success_is_kept_byte_for_byte() -> None:
    line = json.dumps(success("row-1", RECIPE.model, "Fine")).encode()
    assert openai_lines(line + b"\n", "out.jsonl") == [line]


def test_vllm_lines_parse_as_answers_and_errors() -> None:
    data = _file(
        success("row-1", RECIPE.model, "Positive review", prompt_tokens=12),
        string_error("row-2", "Request must not be sent in stream mode"),
        error_response("row-3", MODEL_MISSING, 404),
        error_response("row-4", FLAT_ERROR, 400),
    )
    results = parse_result_lines(
        b"\n".join(openai_lines(data, "out.jsonl")), recipe=RECIPE, batch_id="import:out.jsonl"
    )
    assert [(r.custom_id, r.status) for r in results] == [
        ("row-1", "ok"),
        ("row-2", "error"),
        ("row-3", "error"),
        ("row-4", "error"),
    ]
    first = results[0]
    assert (first.response, first.finish_reason, first.input_tokens, first.output_tokens) == (
        "Positive review",
        "stop",
        12,
        2,
    )
    assert first.model == RECIPE.model and first.batch_id == "import:out.jsonl"
    assert results[1].error == "Request must not be sent in stream mode (HTTP 400)."
    assert results[2].error == "The model `missing-model` does not exist (HTTP 404, NotFoundError)."
    assert results[3].error == (
        "This model's maximum context length is 2048 tokens (HTTP 400, BadRequestError)."
    )


def test_merged_by_custom_id_a_missing_row_stays_not_run_and_costs_nothing() -> None:
    data = _file(
        success("row-3", RECIPE.model, "Third"),
        string_error("row-1", "out of memory"),
        success("row-2", RECIPE.model, "Second"),
    )
    results = parse_result_lines(
        b"\n".join(openai_lines(data, "out.jsonl")), recipe=RECIPE, batch_id="import:out.jsonl"
    )
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"]})
    merged = merge_results(frame, RECIPE, results)
    assert list(merged["status"]) == ["error", "ok", "ok", "not_run"]
    assert list(merged["response"]) == ["", "Second", "Third", ""]
    assert merged.loc[0, "error"] == "out of memory (HTTP 400)."
    # Answered on the analyst's own machine: no price, whatever the model's tokens.
    assert list(merged["cost_usd"].iloc[:3]) == [0.0, 0.0, 0.0]
    assert list(merged["batch_id"]) == ["import:out.jsonl"] * 3 + [""]


def test_an_openai_output_file_still_prices_its_rows() -> None:
    openai_recipe = Recipe(model="gpt-4o-mini", template="{text}")
    data = _file(success("row-1", "gpt-4o-mini", "Fine words here"))
    results = parse_result_lines(data, recipe=openai_recipe, batch_id="batch_1")
    merged = merge_results(pd.DataFrame({"text": ["a"]}), openai_recipe, results)
    assert merged.loc[0, "cost_usd"] > 0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "out.jsonl holds no result lines"),
        (b"\n  \n", "out.jsonl holds no result lines"),
        (b"garbage\n", "out.jsonl is not a results file (a line is not JSON)"),
        (b"\xff\xfe\x00\x01", "out.jsonl is not a results file"),
        (b'{"custom_id": "row-1"}\n', "Line 1 of out.jsonl has neither an answer nor an error"),
        (b'{"response": null, "error": "x"}\n', "Line 1 of out.jsonl has no custom_id"),
        (b"[1, 2]\n", "out.jsonl is not a results file"),
    ],
)
def test_a_file_that_is_not_vllm_output_is_one_plain_sentence(data: bytes, words: str) -> None:
    with pytest.raises(ResultsError) as caught:
        openai_lines(data, "out.jsonl")
    message = str(caught.value)
    assert message.startswith(words) and message.count(".") >= 1 and "\n" not in message
    assert "vLLM's run-batch" in message


def test_a_bom_and_crlf_are_read() -> None:
    line = json.dumps(success("row-1", RECIPE.model, "Fine")).encode()
    assert openai_lines(b"\xef\xbb\xbf" + line + b"\r\n", "out.jsonl") == [line]


def test_an_openai_shaped_error_line_is_kept_as_it_is() -> None:
    line = json.dumps(
        {
            "id": "batch_req_1",
            "custom_id": "row-1",
            "response": None,
            "error": {"code": "batch_expired", "message": "This request could not be executed."},
        }
    ).encode()
    assert openai_lines(line, "out.jsonl") == [line]
    [result] = parse_result_lines(line, recipe=RECIPE)
    assert result.status == "expired"


def test_a_vllm_embedding_answer_is_read() -> None:
    recipe = Recipe(endpoint="/v1/embeddings", model="BAAI/bge-m3", template="{text}")
    body = {
        "id": "embd-1",
        "object": "list",
        "created": 1_765_000_000,
        "model": "BAAI/bge-m3",
        "data": [{"index": 0, "object": "embedding", "embedding": [0.25, -1.0]}],
        "usage": {"prompt_tokens": 4, "total_tokens": 4, "completion_tokens": 0},
    }
    line = {
        "id": "vllm-1",
        "custom_id": "row-1",
        "response": {"status_code": 200, "request_id": "vllm-batch-1", "body": body},
        "error": None,
    }
    [result] = parse_result_lines(b"\n".join(openai_lines(_file(line), "out.jsonl")), recipe=recipe)
    assert (result.status, result.response, result.input_tokens) == ("ok", "[0.25,-1.0]", 4)
