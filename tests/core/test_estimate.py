"""The token estimate New job shows while every row is counted: close to the exact count,
rounded so it never looks exact, and built on the same per-request overhead as the count."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from batchdash.preflight import tokens
from batchdash.preflight.estimate import estimate_input_tokens, prompt_characters
from batchdash.preflight.plan import plan_batch, request_overhead
from batchdash.preflight.template import render
from batchdash.recipe import OutputField, Recipe

WORDS = [
    "the",
    "parcel",
    "arrived",
    "late",
    "but",
    "support",
    "answered",
    "kindly",
    "价格",
    "很好",
    "😀",
    "Preis",
    "günstig",
]


def reviews(rows: int, seed: int = 3) -> pd.DataFrame:
    """Rows of a name and a review of 5-80 mixed-language words (lengths vary a lot)."""
    pick = random.Random(seed)
    return pd.DataFrame(
        {
            "name": [pick.choice(["Ann", "José", "李雷", "Zoë"]) for _ in range(rows)],
            "review": [" ".join(pick.choices(WORDS, k=pick.randint(5, 80))) for _ in range(rows)],
        },
        dtype="str",
    )


RECIPES = [
    Recipe(template="{name} wrote: {review}"),
    Recipe(template="Classify:\n{review}", system_prompt="Answer with one word."),
    Recipe(template="{review}", system_prompt="You answer {name}, politely."),
    Recipe(template="{review}", endpoint="/v1/embeddings", model="text-embedding-3-small"),
    Recipe(template="Q: {review}\nA:", endpoint="/v1/completions", model="davinci-002"),
    Recipe(template="{review}", output_fields=(OutputField("sentiment"),)),
]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda recipe: recipe.endpoint + recipe.template)
def test_the_estimate_is_within_three_percent_of_the_exact_count(recipe: Recipe) -> None:
    frame = reviews(6_000)

    estimate = estimate_input_tokens(frame, recipe)
    exact = plan_batch(frame, recipe).input_tokens

    assert estimate.sampled_rows == 200
    assert estimate.input_tokens == pytest.approx(exact, rel=0.03)
    assert estimate.input_tokens != exact  # rounded: it never passes for the count


def test_the_estimate_keeps_three_significant_digits() -> None:
    estimate = estimate_input_tokens(reviews(3_000), RECIPES[0])

    digits = str(estimate.input_tokens)
    assert len(digits) > 3
    assert set(digits[3:]) == {"0"}


def test_a_table_no_longer_than_the_sample_is_counted_whole() -> None:
    frame = reviews(50)

    estimate = estimate_input_tokens(frame, RECIPES[1])
    exact = plan_batch(frame, RECIPES[1]).input_tokens

    assert estimate.sampled_rows == 50
    # Every row counted: only the rounding to three digits is left.
    assert estimate.input_tokens == float(f"{exact:.3g}")


def test_an_empty_table_is_estimated_at_nothing() -> None:
    assert estimate_input_tokens(reviews(0), RECIPES[0]).input_tokens == 0


def test_prompt_characters_are_those_of_the_rendered_prompts() -> None:
    frame = reviews(500)
    frame.loc[3, "review"] = None  # an empty cell renders as empty text
    for recipe in RECIPES[:3]:
        rendered = render(recipe.template, frame).str.len().sum()
        if "{" in recipe.system_prompt:
            rendered += render(recipe.system_prompt, frame).str.len().sum()
        assert prompt_characters(frame, recipe) == rendered


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda recipe: recipe.endpoint + recipe.template)
def test_a_row_costs_its_prompt_plus_the_request_overhead(recipe: Recipe) -> None:
    frame = reviews(20)
    # tiktoken's counts: the reference the plan's counter must equal.
    encoding = tokens.TiktokenCounter(tokens.encoding_for_model(recipe.model))
    constant, system_overhead = request_overhead(recipe, encoding)
    prompts = tokens.count_texts(render(recipe.template, frame).tolist(), encoding)
    expected = prompts + constant
    if "{" in recipe.system_prompt:
        systems = tokens.count_texts(render(recipe.system_prompt, frame).tolist(), encoding)
        expected = expected + systems + system_overhead

    assert plan_batch(frame, recipe).row_input_tokens.tolist() == expected.tolist()
    assert (constant == 0) == (recipe.endpoint not in ("/v1/chat/completions", "/v1/responses"))
