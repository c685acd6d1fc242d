import json
import random
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from batchdash.inputs.reading import read_table
from batchdash.preflight.plan import plan_batch
from batchdash.preflight.request_lines import (
    encode_line,
    jsonl_line_sizes,
    jsonl_lines,
    line_sizes,
    lines_bytes,
    request_body,
    request_line,
)
from batchdash.recipe import (
    ENDPOINTS,
    REASONING_EFFORTS,
    UNCOUNTED_PARAMETERS,
    OutputField,
    ReasoningEffort,
    Recipe,
)
from tests.openapi_schemas import request_schema_for, schema_of, validate

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "requests"

FIELDS = (
    OutputField("sentiment", "one of", ("positive", "neutral", "negative"), "Overall tone"),
    OutputField("stars", "integer", description="1 to 5"),
    OutputField("would buy again", "yes/no"),
    OutputField("price mentioned", "number"),
    OutputField("要点", "text", description="Main point, in the review's language"),
)
CHAT_TEMPLATE = 'Product: {product name}\nReview: {review}\nAnswer as {{"tone": "..."}} in {语言}.'

# One recipe per golden file: every endpoint, and structured output where it exists.
CASES: dict[str, Recipe] = {
    "chat": Recipe(
        endpoint="/v1/chat/completions",
        model="gpt-4o-mini",
        template=CHAT_TEMPLATE,
        system_prompt="You review {语言} products. Be brief.",
        temperature=0.2,
        max_output_tokens=200,
        id_column="sku",
    ),
    "chat_structured": Recipe(
        endpoint="/v1/chat/completions",
        model="gpt-4.1-mini",
        template="{review}\n\n(sold as {product name})",
        system_prompt="Classify the review of {product name}.",
        id_column="sku",
        output_fields=FIELDS,
    ),
    "responses": Recipe(
        endpoint="/v1/responses",
        model="o4-mini",
        template=CHAT_TEMPLATE,
        system_prompt="Answer in one sentence.",
        max_output_tokens=500,
        reasoning_effort="low",
    ),
    "responses_structured": Recipe(
        endpoint="/v1/responses",
        model="gpt-4o-mini",
        template="{product name}: {review}",
        temperature=0.0,
        id_column="sku",
        output_fields=FIELDS,
    ),
    "embeddings": Recipe(
        endpoint="/v1/embeddings",
        model="text-embedding-3-small",
        template="{product name} — {review}",
        dimensions=256,
    ),
    "completions": Recipe(
        endpoint="/v1/completions",
        model="gpt-3.5-turbo-instruct",
        template="Q: Summarise {{{product name}}}: {review}\nA:",
        max_output_tokens=64,
        temperature=0.7,
    ),
    "moderations": Recipe(
        endpoint="/v1/moderations",
        model="omni-moderation-latest",
        template="{product name}: {review}",
        moderation_categories=("violence", "harassment"),
    ),
}


def golden_input() -> pd.DataFrame:
    """The golden spreadsheet, read as an upload is: every cell text, empty cells ""."""
    return read_table((GOLDEN / "input.csv").read_bytes(), "input.csv").frame


def all_part_bytes(frame: pd.DataFrame, recipe: Recipe) -> bytes:
    plan = plan_batch(frame, recipe)
    assert plan.ok, plan.problems
    return b"".join(plan.part_bytes(part.number) for part in plan.parts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_jsonl(name: str) -> None:
    produced = all_part_bytes(golden_input(), CASES[name])
    assert produced == (GOLDEN / f"{name}.jsonl").read_bytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_line_fits_the_openai_spec(name: str) -> None:
    recipe = CASES[name]
    data = all_part_bytes(golden_input(), recipe)
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8").splitlines()
    assert len(lines) == 4
    for text in lines:
        line = json.loads(text)
        validate("BatchRequestInput", line, spec="2025")
        assert list(line) == ["custom_id", "method", "url", "body"]
        assert line["url"] == recipe.endpoint
        validate(request_schema_for(recipe.endpoint), line["body"])


def test_golden_files_cover_every_endpoint() -> None:
    assert {recipe.endpoint for recipe in CASES.values()} == set(ENDPOINTS)


def test_chat_body_with_every_parameter() -> None:
    recipe = Recipe(
        model="o3",
        temperature=None,
        max_output_tokens=300,
        reasoning_effort="high",
        output_fields=(OutputField("ok", "yes/no"),),
    )
    body = request_body(recipe, "Hi", "Be short")
    assert body == {
        "model": "o3",
        "messages": [
            {"role": "system", "content": "Be short"},
            {"role": "user", "content": "Hi"},
        ],
        "max_completion_tokens": 300,
        "reasoning_effort": "high",
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "row_answer",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}},
                    "required": ["ok"],
                    "additionalProperties": False,
                },
            },
        },
    }
    validate("CreateChatCompletionRequest", body)


def test_parameters_left_as_none_are_omitted() -> None:
    bare = {endpoint: request_body(Recipe(endpoint=endpoint), "p") for endpoint in ENDPOINTS}
    assert bare == {
        "/v1/chat/completions": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "p"}],
        },
        "/v1/responses": {"model": "gpt-4o-mini", "input": "p"},
        "/v1/embeddings": {"model": "gpt-4o-mini", "input": "p"},
        "/v1/completions": {"model": "gpt-4o-mini", "prompt": "p"},
        "/v1/moderations": {"model": "gpt-4o-mini", "input": "p"},
    }


def test_responses_body_names() -> None:
    recipe = Recipe(
        endpoint="/v1/responses",
        model="gpt-5-mini",
        max_output_tokens=64,
        reasoning_effort="minimal",
        output_fields=(OutputField("n", "integer"),),
    )
    body = request_body(recipe, "count", "system text")
    assert body["instructions"] == "system text"
    assert body["max_output_tokens"] == 64
    assert body["reasoning"] == {"effort": "minimal"}
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["strict"] is True
    assert body["text"]["format"]["schema"]["required"] == ["n"]
    validate("CreateResponse", body)


def test_reasoning_effort_only_goes_to_reasoning_models() -> None:
    for model, sent in (("gpt-4o-mini", False), ("gpt-5", True), ("o4-mini", True)):
        chat = request_body(Recipe(model=model, reasoning_effort="low"), "p")
        responses = request_body(
            Recipe(endpoint="/v1/responses", model=model, reasoning_effort="low"), "p"
        )
        assert ("reasoning_effort" in chat) is sent
        assert ("reasoning" in responses) is sent


def test_the_efforts_are_the_newest_spec_enum() -> None:
    (string,) = [kind for kind in schema_of("ReasoningEffort")["anyOf"] if "enum" in kind]
    assert tuple(string["enum"]) == REASONING_EFFORTS


@pytest.mark.parametrize("effort", REASONING_EFFORTS)
def test_every_effort_goes_where_each_endpoint_takes_it(effort: ReasoningEffort) -> None:
    chat = request_body(Recipe(model="gpt-5", reasoning_effort=effort), "p")
    responses = request_body(
        Recipe(endpoint="/v1/responses", model="gpt-5", reasoning_effort=effort), "p"
    )
    assert chat["reasoning_effort"] == effort
    assert responses["reasoning"] == {"effort": effort}
    assert "reasoning_effort" not in responses
    validate("CreateChatCompletionRequest", chat)
    validate("CreateResponse", responses)


def test_the_spec_refuses_an_effort_outside_its_enum() -> None:
    # Guards the test above: the validator does check the effort's value.
    chat = request_body(Recipe(model="gpt-5", reasoning_effort="ultra"), "p")  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="reasoning_effort"):
        validate("CreateChatCompletionRequest", chat)


def test_embeddings_and_completions_take_only_their_parameters() -> None:
    params = {"temperature": 0.5, "max_output_tokens": 20, "dimensions": 64}
    embeddings = request_body(Recipe(endpoint="/v1/embeddings", **params), "p", "sys")  # type: ignore[arg-type]
    completions = request_body(Recipe(endpoint="/v1/completions", **params), "p", "sys")  # type: ignore[arg-type]
    assert embeddings == {"model": "gpt-4o-mini", "input": "p", "dimensions": 64}
    assert completions == {
        "model": "gpt-4o-mini",
        "prompt": "p",
        "max_tokens": 20,
        "temperature": 0.5,
    }
    validate("CreateEmbeddingRequest", embeddings)
    validate("CreateCompletionRequest", completions)


# Every character JSON must escape, plus quotes, non-ASCII, a NUL-wrapped word and a percent
# sign (the fast path must not mistake any of them for its own markers).
NASTY = [
    "".join(chr(c) for c in range(32)),
    'quote " backslash \\ slash / percent %s %%',
    "é 中文 😀 \u2028 \u2029 \ufeff",
    "\x00batchdash:prompt\x00",
    "",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("per_row_system", [False, True])
def test_fast_lines_equal_json_dumps(endpoint: str, per_row_system: bool) -> None:
    recipe = Recipe(
        endpoint=endpoint,  # type: ignore[arg-type]
        model="gpt-5",
        max_output_tokens=99,
        reasoning_effort="low",
        output_fields=(OutputField("x %s", "one of", ("a", '"b"')),),
    )
    ids = [f"id {n} %d \\ {text[:3]}" for n, text in enumerate(NASTY)]
    constant = 'sys "%" \n'
    row_systems = list(reversed(NASTY)) if per_row_system else [constant] * len(NASTY)
    lines = jsonl_lines(recipe, ids, NASTY, row_systems if per_row_system else constant)
    expected = [
        encode_line(request_line(recipe, ids[n], NASTY[n], row_systems[n]))
        for n in range(len(NASTY))
    ]
    assert lines.to_pylist() == expected
    assert lines_bytes(lines) == "".join(expected).encode("utf-8")
    sizes = [len(line.encode("utf-8")) for line in expected]
    assert line_sizes(lines).tolist() == sizes
    predicted = jsonl_line_sizes(
        recipe,
        pa.array(ids),
        pa.array(NASTY),
        pa.array(row_systems) if per_row_system else constant,
    )
    assert predicted.tolist() == sizes


def test_predicted_sizes_of_sliced_and_chunked_arrays() -> None:
    texts = ["a", 'b"\\', "", "中\n\x01", "e"] * 3
    chunked = pa.chunked_array([texts[:4], texts[4:]], pa.string()).slice(2, 9)
    ids = pa.array([f"row-{n}" for n in range(9)], pa.large_string())
    expected = line_sizes(jsonl_lines(Recipe(), ids.to_pylist(), texts[2:11]))
    assert jsonl_line_sizes(Recipe(), ids, chunked).tolist() == expected.tolist()
    assert jsonl_line_sizes(Recipe(), ids.slice(0, 0), chunked.slice(0, 0)).tolist() == []


def test_sizes_and_bytes_of_a_slice() -> None:
    lines = jsonl_lines(Recipe(), ["a", "b", "c"], ["1", "é", "3"])
    middle = lines.slice(1, 1)
    assert lines_bytes(middle) == encode_line(request_line(Recipe(), "b", "é")).encode()
    assert line_sizes(middle).tolist() == [len(lines_bytes(middle))]
    assert lines_bytes(lines.slice(0, 0)) == b""


def test_the_recipe_for_counting_leaves_out_exactly_the_uncounted_parameters() -> None:
    names = {field.name for field in fields(Recipe)}
    full = Recipe(temperature=0.3, max_output_tokens=50, reasoning_effort="low", dimensions=None)

    assert set(UNCOUNTED_PARAMETERS) <= names
    assert full.for_counting() == Recipe()


def test_lines_of_arrow_texts_equal_lines_of_lists() -> None:
    texts = ["plain", *NASTY, "tail"] * 3
    ids = [f"row-{n}" for n in range(len(texts))]
    expected = jsonl_lines(Recipe(system_prompt="Be brief"), ids, texts).to_pylist()
    sliced = pa.array(["x", *texts], pa.string()).slice(1)
    chunked = pa.chunked_array([texts[:4], texts[4:]], pa.large_string())
    for prompts in (sliced, chunked):
        lines = jsonl_lines(Recipe(system_prompt="Be brief"), pa.array(ids), prompts)
        assert lines.to_pylist() == expected
    per_row = jsonl_lines(Recipe(system_prompt="{s}"), ids, texts, chunked)
    assert per_row.to_pylist() == [
        encode_line(request_line(Recipe(), ids[n], texts[n], texts[n])) for n in range(len(ids))
    ]


def test_lines_of_random_texts_equal_json_dumps() -> None:
    rng = random.Random(13)
    alphabet = ['"', "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "a", " ", "é", "😀", "/", "\u2028"]
    texts = ["".join(rng.choices(alphabet, k=rng.randrange(0, 12))) for _ in range(3_000)]
    ids = [f"id-{n}" for n in range(len(texts))]
    lines = jsonl_lines(Recipe(), pa.array(ids), pa.array(texts))
    expected = [encode_line(request_line(Recipe(), ids[n], texts[n])) for n in range(len(texts))]
    assert lines.to_pylist() == expected
    assert jsonl_line_sizes(Recipe(), pa.array(ids), pa.array(texts)).tolist() == [
        len(line.encode("utf-8")) for line in expected
    ]
