import io
import json

import numpy as np
import pandas as pd
import pytest

from batchdash.errors import InputError
from batchdash.preflight import tokens
from batchdash.preflight.limits import MAX_PART_BYTES, split_into_parts
from batchdash.preflight.plan import BatchPlan, plan_batch
from batchdash.preflight.pricing import ModelPrice, require_price
from batchdash.recipe import OutputField, Recipe

REVIEWS = pd.DataFrame(
    {
        "id": ["a1", "a2", "a3"],
        "review": ["Great lamp, bright.", "Kettle leaks 水.", "Fine 😀"],
        "lang": ["English", "English", "mixed"],
    }
)


def messages(plan: BatchPlan) -> list[str]:
    return [problem.message for problem in plan.problems]


def blocking(plan: BatchPlan) -> list[str]:
    return [problem.message for problem in plan.problems if problem.blocking]


def all_lines(plan: BatchPlan) -> list[dict]:
    data = b"".join(plan.part_bytes(part.number) for part in plan.parts)
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def chat_tokens(encoding_model: str, *messages: tuple[str, str]) -> int:
    """The OpenAI cookbook's count for a chat request, written out message by message."""
    enc = tokens.encoding_for_model(encoding_model)
    total = tokens.TOKENS_PER_REPLY
    for role, content in messages:
        total += tokens.TOKENS_PER_MESSAGE + len(enc.encode(role)) + len(enc.encode(content))
    return total


def test_a_clean_plan_counts_prices_and_makes_one_part() -> None:
    recipe = Recipe(template="Rate: {review}", system_prompt="Answer in {lang}.", id_column="id")
    plan = plan_batch(REVIEWS, recipe)
    assert plan.ok and plan.problems == ()
    assert plan.rows == 3
    assert plan.custom_ids.tolist() == ["a1", "a2", "a3"]
    expected = [
        chat_tokens("gpt-4o-mini", ("system", f"Answer in {lang}."), ("user", f"Rate: {review}"))
        for review, lang in zip(REVIEWS["review"], REVIEWS["lang"], strict=True)
    ]
    assert plan.row_input_tokens.tolist() == expected
    assert plan.input_tokens == sum(expected)
    price = require_price("gpt-4o-mini")
    assert plan.estimated_cost_usd == pytest.approx(price.cost(sum(expected), 0))
    assert plan.synchronous_cost_usd == pytest.approx(price.cost(sum(expected), 0, batch=False))
    [part] = plan.parts
    assert (part.number, part.first_row, part.stop_row, part.requests) == (1, 0, 3, 3)
    data = plan.part_bytes(1)
    assert part.size_bytes == len(data) == int(plan.row_bytes.sum())
    lines = all_lines(plan)
    assert [line["custom_id"] for line in lines] == ["a1", "a2", "a3"]
    assert lines[1]["body"] == plan.request_body(1)
    assert lines[1]["body"]["messages"][1]["content"] == "Rate: Kettle leaks 水."


def test_system_message_overhead_only_where_the_system_text_is_not_empty() -> None:
    frame = pd.DataFrame({"q": ["one", "two"], "sys": ["Be brief.", ""]})
    plan = plan_batch(frame, Recipe(template="{q}", system_prompt="{sys}"))
    assert plan.row_input_tokens.tolist() == [
        chat_tokens("gpt-4o-mini", ("system", "Be brief."), ("user", "one")),
        chat_tokens("gpt-4o-mini", ("user", "two")),
    ]
    lines = all_lines(plan)
    assert [m["role"] for m in lines[0]["body"]["messages"]] == ["system", "user"]
    assert [m["role"] for m in lines[1]["body"]["messages"]] == ["user"]


def test_embeddings_and_completions_count_the_text_only() -> None:
    frame = pd.DataFrame({"t": ["hello world", "naïve café 中文"]})
    for endpoint, model in (
        ("/v1/embeddings", "text-embedding-3-small"),
        ("/v1/completions", "gpt-3.5-turbo-instruct"),
    ):
        plan = plan_batch(frame, Recipe(endpoint=endpoint, model=model, template="{t}"))  # type: ignore[arg-type]
        enc = tokens.encoding_for_model(model)
        assert plan.row_input_tokens.tolist() == [len(enc.encode(t)) for t in frame["t"]]


def test_responses_counts_like_chat() -> None:
    recipe = Recipe(endpoint="/v1/responses", template="{t}", system_prompt="Short.")
    plan = plan_batch(pd.DataFrame({"t": ["Hi there"]}), recipe)
    assert plan.row_input_tokens.tolist() == [
        chat_tokens("gpt-4o-mini", ("system", "Short."), ("user", "Hi there"))
    ]


def test_unknown_placeholder_blocks_and_names_it() -> None:
    plan = plan_batch(REVIEWS, Recipe(template="Rate {reveiw} in {lang}"))
    assert not plan.ok
    [message] = blocking(plan)
    assert "'{reveiw}' (did you mean '{review}'?)" in message
    assert plan.parts == ()
    assert plan.input_tokens == 0 and plan.estimated_cost_usd is None
    with pytest.raises(InputError, match="Fix the problems"):
        plan.part_bytes(1)


def test_placeholders_and_braces_in_the_system_prompt_are_checked() -> None:
    plan = plan_batch(REVIEWS, Recipe(template="{review}", system_prompt="Use {language} {x"))
    [message] = blocking(plan)
    assert message.startswith("The system prompt has a '{' that is never closed")
    plan = plan_batch(REVIEWS, Recipe(template="{review}", system_prompt="Use {language}"))
    [message] = blocking(plan)
    assert message.startswith("The system prompt uses the placeholder '{language}'")


def test_duplicate_and_empty_ids_are_reported_with_their_rows() -> None:
    frame = pd.DataFrame({"id": ["x", "", "x", "y", " "], "review": list("abcde")})
    plan = plan_batch(frame, Recipe(template="{review}", id_column="id"))
    problems = {problem.rows: problem.message for problem in plan.problems}
    assert set(problems) == {(2, 5), (1, 3)}
    assert "empty in rows 2 and 5" in problems[(2, 5)]
    assert "repeats values (e.g. 'x') in rows 1 and 3" in problems[(1, 3)]
    assert plan.parts == ()
    # Counting still works, so the analyst sees the size of the batch while fixing IDs.
    assert plan.input_tokens > 0


def test_missing_id_column_blocks() -> None:
    plan = plan_batch(REVIEWS, Recipe(template="{review}", id_column="sku"))
    assert any("'sku' is not in the table" in m for m in blocking(plan))


def test_a_one_megabyte_cell_blocks_over_the_context_window() -> None:
    words = "The parcel came late and the box was open. " * 24_000
    frame = pd.DataFrame({"review": ["short one", words[:1_000_000], "another"]})
    plan = plan_batch(frame, Recipe(template="{review}"))
    assert not plan.ok
    context = [p for p in plan.problems if p.blocking]
    assert len(context) == 1 and context[0].rows == (2,)
    assert "more than the 128,000 that 'gpt-4o-mini' takes" in context[0].message
    long_cell = [p for p in plan.problems if not p.blocking]
    assert len(long_cell) == 1 and long_cell[0].rows == (2,)
    assert "more than 32,767 characters (the longest has 1,000,000)" in long_cell[0].message


def test_sixty_thousand_rows_make_two_parts() -> None:
    frame = pd.DataFrame({"n": [str(n) for n in range(60_000)]})
    plan = plan_batch(frame, Recipe(template="Number {n}"))
    assert plan.ok, plan.problems
    assert [(p.first_row, p.stop_row) for p in plan.parts] == [(0, 50_000), (50_000, 60_000)]
    whole_part = plan.part_bytes(1)
    written = io.BytesIO()
    assert plan.write_part(1, written) == len(whole_part) == plan.parts[0].size_bytes
    assert written.getvalue() == whole_part
    first = whole_part.decode("utf-8").splitlines()
    assert [json.loads(first[n])["custom_id"] for n in (0, 49_999)] == ["row-1", "row-50000"]
    assert len(first) == 50_000
    second = plan.part_bytes(2).decode("utf-8").splitlines()
    assert len(second) == 10_000
    first_line = json.loads(second[0])
    assert first_line["custom_id"] == "row-50001"
    assert first_line["body"]["messages"][0]["content"] == "Number 50000"
    assert sum(p.input_tokens for p in plan.parts) == plan.input_tokens


def test_enqueued_token_limit_splits_parts() -> None:
    frame = pd.DataFrame({"t": [" ".join(["word"] * (n % 7 + 1)) for n in range(40)]})
    recipe = Recipe(template="{t}")
    whole = plan_batch(frame, recipe)
    limit = int(whole.row_input_tokens.max()) * 3
    plan = plan_batch(frame, recipe, enqueued_token_limit=limit)
    assert plan.ok
    assert len(plan.parts) > 1
    assert all(part.input_tokens <= limit for part in plan.parts)
    # Greedy: adding the next row would have gone over the limit.
    for part, following in zip(plan.parts, plan.parts[1:], strict=False):
        assert part.input_tokens + int(plan.row_input_tokens[following.first_row]) > limit
    assert [line["custom_id"] for line in all_lines(plan)] == whole.custom_ids.tolist()


def test_a_row_over_the_enqueued_token_limit_blocks() -> None:
    frame = pd.DataFrame({"t": ["short", "a much longer text than the others " * 5]})
    plan = plan_batch(frame, Recipe(template="{t}"), enqueued_token_limit=30)
    [problem] = plan.problems
    assert problem.blocking and problem.rows == (2,)
    assert "enqueued-token limit of 30" in problem.message


def test_byte_limit_splits_parts_and_parts_join_to_every_line() -> None:
    # Quotes, backslashes and control characters grow when escaped; sizes must count that.
    frame = pd.DataFrame({"t": [f'text {n} "q" \\ \t\x01 ' + "é" * (n % 50) for n in range(300)]})
    recipe = Recipe(template="{t}", max_output_tokens=10)
    whole = plan_batch(frame, recipe)
    plan = plan_batch(frame, recipe, max_part_bytes=5_000)
    assert len(plan.parts) > 5
    pieces = [plan.part_bytes(part.number) for part in plan.parts]
    assert all(
        len(piece) == part.size_bytes <= 5_000
        for piece, part in zip(pieces, plan.parts, strict=True)
    )
    assert b"".join(pieces) == whole.part_bytes(1)


def test_split_at_the_real_byte_limit() -> None:
    # 50,000 requests of 4,000 bytes are 200 MB: over the 190 MB a part may hold.
    row_bytes = np.full(50_000, 4_000, dtype=np.int64)
    spans = split_into_parts(row_bytes)
    assert spans == [(0, MAX_PART_BYTES // 4_000), (MAX_PART_BYTES // 4_000, 50_000)]


def test_split_into_parts_limits_and_a_row_over_a_limit() -> None:
    sizes = np.array([5, 5, 5, 5, 5], dtype=np.int64)
    row_tokens = np.array([1, 9, 1, 1, 1], dtype=np.int64)
    assert split_into_parts(sizes, max_requests=2) == [(0, 2), (2, 4), (4, 5)]
    assert split_into_parts(sizes, max_bytes=12) == [(0, 2), (2, 4), (4, 5)]
    assert split_into_parts(sizes, row_tokens, max_tokens=10) == [(0, 2), (2, 5)]
    assert split_into_parts(np.array([], dtype=np.int64)) == []
    with pytest.raises(InputError, match="Row 2 alone"):
        split_into_parts(sizes, row_tokens, max_tokens=8)


@pytest.mark.parametrize(
    ("recipe", "wording"),
    [
        (Recipe(model=""), "No model is chosen"),
        (
            Recipe(model="gpt 4o mini"),
            "contains spaces. Enter the exact model name (perhaps 'gpt-4o-mini')",
        ),
        (Recipe(max_output_tokens=0), "must be at least 1"),
        (Recipe(max_output_tokens=-5), "must be at least 1"),
        (Recipe(endpoint="/v1/responses", max_output_tokens=10), "must be at least 16"),
        (Recipe(temperature=2.5), "outside 0 to 2"),
        (Recipe(model="o3", temperature=0.2), "'o3' does not take a temperature"),
        (Recipe(model="gpt-5-mini", temperature=1.0), "does not take a temperature"),
        (Recipe(template=""), "The prompt template is empty"),
        (
            Recipe(endpoint="/v1/embeddings", model="text-embedding-3-small", dimensions=0),
            "at least 1",
        ),
        (
            Recipe(endpoint="/v1/embeddings", model="text-embedding-ada-002", dimensions=64),
            "fixed embedding size",
        ),
        (Recipe(endpoint="/v1/batch"), "not supported"),  # type: ignore[arg-type]
        (
            Recipe(model="gpt-5", reasoning_effort="ultra"),  # type: ignore[arg-type]
            "reasoning effort 'ultra' is not one the API takes. Choose one of: none, minimal,",
        ),
        (
            Recipe(endpoint="/v1/responses", model="o3", reasoning_effort="High"),  # type: ignore[arg-type]
            "reasoning effort 'High'",
        ),
    ],
)
def test_recipe_problems_block(recipe: Recipe, wording: str) -> None:
    frame = pd.DataFrame({"prompt": ["Hello"]})
    plan = plan_batch(frame, recipe)
    assert not plan.ok
    assert any(wording in message for message in blocking(plan)), plan.problems


@pytest.mark.parametrize(
    ("recipe", "wording"),
    [
        (Recipe(model="gpt-4o-mini", reasoning_effort="high"), "not a reasoning model"),
        (
            Recipe(endpoint="/v1/embeddings", model="text-embedding-3-small", temperature=0.5),
            "take no temperature",
        ),
        (
            Recipe(endpoint="/v1/completions", model="gpt-3.5-turbo-instruct", system_prompt="x"),
            "no system prompt",
        ),
        (
            Recipe(
                endpoint="/v1/completions",
                model="gpt-3.5-turbo-instruct",
                output_fields=(OutputField("a"),),
            ),
            "plain text",
        ),
        (
            Recipe(endpoint="/v1/embeddings", model="gpt-4o-mini"),
            "does not look like an embedding model",
        ),
        (Recipe(model="my-private-model"), "No price is known for the model 'my-private-model'"),
    ],
)
def test_recipe_notes_do_not_block(recipe: Recipe, wording: str) -> None:
    plan = plan_batch(pd.DataFrame({"prompt": ["Hello"]}), recipe)
    assert plan.ok, plan.problems
    assert any(wording in p.message for p in plan.warnings), plan.problems
    assert len(plan.parts) == 1


def test_unknown_price_gives_no_cost_and_an_override_fixes_it() -> None:
    recipe = Recipe(model="my-private-model")
    frame = pd.DataFrame({"prompt": ["Hello"]})
    unpriced = plan_batch(frame, recipe)
    assert unpriced.estimated_cost_usd is None and unpriced.synchronous_cost_usd is None
    priced = plan_batch(frame, recipe, price_overrides={"my-private-model": ModelPrice(2.0, 8.0)})
    assert priced.problems == ()
    assert priced.estimated_cost_usd == pytest.approx(priced.input_tokens * 2.0 / 1e6 / 2)


def test_empty_prompts_and_an_empty_table() -> None:
    frame = pd.DataFrame({"prompt": ["a", "", "  ", "b"]})
    plan = plan_batch(frame, Recipe())
    [problem] = plan.problems
    assert problem.rows == (2, 3)
    assert "The prompt is empty in rows 2 and 3" in problem.message
    empty = plan_batch(frame.iloc[:0], Recipe())
    assert any("no rows" in message for message in blocking(empty))


def test_field_problems_block_structured_recipes() -> None:
    recipe = Recipe(template="{review}", output_fields=(OutputField("review"),))
    plan = plan_batch(REVIEWS, recipe)
    assert any("already columns of the table" in m for m in blocking(plan))


def test_plan_keeps_its_rows_when_the_caller_edits_the_frame() -> None:
    frame = REVIEWS.copy()
    plan = plan_batch(frame, Recipe(template="{review}"))
    before = plan.part_bytes(1)
    frame.loc[0, "review"] = "changed"
    assert plan.part_bytes(1) == before
    assert plan_batch(REVIEWS, Recipe(template="{review}")).part_bytes(1) == before


def test_a_template_without_a_column_warns_but_does_not_block() -> None:
    plan = plan_batch(REVIEWS, Recipe(template="Write a haiku about autumn."))

    assert plan.ok and plan.rows == 3
    (warning,) = [problem for problem in plan.problems if not problem.blocking]
    assert warning.message.startswith(
        "The template uses no column, so all 3 rows get the same prompt and are billed for it "
        "3 times."
    )
    assert "(such as {review})" in warning.message
    # A column in the system prompt, or a single row, makes the warning needless.
    varied = Recipe(template="Write a haiku.", system_prompt="Answer in {lang}.")
    assert not plan_batch(REVIEWS, varied).problems
    assert not plan_batch(REVIEWS.head(1), Recipe(template="Write a haiku.")).problems


def test_chunks_are_bounded_by_bytes_as_well_as_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long cells make short chunks (memory follows a chunk's bytes, not its rows); the
    requests, tokens and sizes are the same however the rows are chunked."""
    from batchdash.preflight import plan as plan_module

    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 3_000, size=300)
    frame = pd.DataFrame(
        {"text": ['say "hi",\n' * int(n // 10) + "x" * int(n % 10) for n in lengths]}, dtype=str
    )
    recipe = Recipe(template="Echo: {text}", system_prompt="Be brief.")
    whole = plan_batch(frame, recipe)
    spans_seen: list[list[tuple[int, int]]] = []
    chunks = plan_module._chunks

    def recorded(first: int, stop: int, sizes: np.ndarray) -> list[tuple[int, int]]:
        spans = chunks(first, stop, sizes)
        spans_seen.append(spans)
        return spans

    monkeypatch.setattr(plan_module, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(plan_module, "_chunks", recorded)
    small = plan_batch(frame, recipe)
    parts = b"".join(small.part_bytes(part.number) for part in small.parts)

    assert parts == b"".join(whole.part_bytes(part.number) for part in whole.parts)
    assert small.row_input_tokens.tolist() == whole.row_input_tokens.tolist()
    assert small.row_bytes.tolist() == whole.row_bytes.tolist()
    measured, written = spans_seen[0], spans_seen[1]
    assert len(measured) > 10
    texts = frame["text"].str.len().to_numpy() + 0
    for first, stop in measured:
        assert stop - first == 1 or texts[first:stop].sum() <= 20_000
    for first, stop in written:
        assert stop - first == 1 or whole.row_bytes[first:stop].sum() <= 20_000
    assert [first for first, _ in measured] == sorted({first for first, _ in measured})
    assert measured[0][0] == 0 and measured[-1][1] == len(frame)


def test_a_plan_told_to_stop_stops_before_its_next_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """`should_stop` is asked before each chunk of rows; once it says so, no further chunk is
    counted and PlanStopped is raised instead of a plan."""
    from batchdash.preflight import plan as plan_module

    monkeypatch.setattr(plan_module, "CHUNK_ROWS", 100)
    frame = pd.DataFrame({"text": [f"row {n}" for n in range(1_000)]})
    counted: list[int] = []
    count_texts = tokens.count_texts

    def recorded(texts: list[str], counter: tokens.TokenCounter) -> np.ndarray:
        counted.append(len(texts))
        return count_texts(texts, counter)

    monkeypatch.setattr(tokens, "count_texts", recorded)
    asked: list[int] = []

    def after_three_chunks() -> bool:
        asked.append(len(counted))
        return len(counted) >= 3

    with pytest.raises(plan_module.PlanStopped):
        plan_batch(frame, Recipe(template="{text}"), should_stop=after_three_chunks)

    assert counted == [100, 100, 100]
    assert asked == [0, 1, 2, 3]
    # Never told to stop, the same plan counts all ten chunks.
    counted.clear()
    plan = plan_batch(frame, Recipe(template="{text}"), should_stop=lambda: False)
    assert len(counted) == 10 and plan.rows == 1_000


def test_forked_counting_plans_the_same_batch() -> None:
    rows = 12_345  # three chunks, each counted partly by the helper process
    frame = pd.DataFrame(
        {
            "q": [f'Question {n}: {"why " * (n % 30)}"now"?' for n in range(rows)],
            "sys": ["" if n % 7 == 0 else f"Answer as role {n % 11}" for n in range(rows)],
        }
    )
    recipe = Recipe(template="{q}", system_prompt="{sys}")
    here = plan_batch(frame, recipe)
    forked = plan_batch(frame, recipe, forked_counting=True)
    assert forked.row_input_tokens.tolist() == here.row_input_tokens.tolist()
    assert forked.row_bytes.tolist() == here.row_bytes.tolist()
    assert forked.part_bytes(1) == here.part_bytes(1)
