"""Moderation as an analyst task: request lines, parsed results and the merged table with a
`flagged` column and one score column per chosen category (contract 6: after `response`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from batchdash.preflight.plan import plan_batch
from batchdash.recipe import (
    LINEAGE_COLUMNS,
    MODERATION_CATEGORIES,
    Recipe,
    score_column,
)
from batchdash.results import columns
from batchdash.results.export import to_csv_bytes
from batchdash.results.merge import merge_results
from batchdash.results.parse import infer_endpoint_and_model, parse_result_lines
from tests.result_lines import jsonl, moderation_body, moderation_line

GOLDEN = Path(__file__).parents[1] / "data" / "golden" / "moderation"
RECIPE = Recipe(
    endpoint="/v1/moderations",
    model="omni-moderation-latest",
    template="{comment}",
    id_column="comment_id",
    moderation_categories=("violence", "harassment"),
)


def read_input() -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "input.csv", dtype=str, keep_default_na=False)


def golden_merge(recipe: Recipe = RECIPE) -> pd.DataFrame:
    results = []
    for name in ("batch_output.jsonl", "batch_errors.jsonl"):
        results += parse_result_lines(
            (GOLDEN / name).read_bytes(), recipe=recipe, batch_id="batch_m1", source_name=name
        )
    return merge_results(read_input(), recipe, results)


def test_golden_merged_moderation_csv() -> None:
    assert to_csv_bytes(golden_merge()) == (GOLDEN / "expected.csv").read_bytes()


def test_flagged_and_scores_sit_between_response_and_lineage() -> None:
    merged = golden_merge()
    assert list(merged.columns) == [
        "comment_id",
        "channel",
        "comment",
        "response",
        "flagged",
        "score_violence",
        "score_harassment",
        *LINEAGE_COLUMNS,
    ]
    assert merged["flagged"].tolist() == ["no", "yes", "", "yes", "no"]
    assert merged["score_violence"].dtype == "Float64"
    assert merged.loc[1, "response"] == "harassment, harassment/threatening, violence"
    assert merged["cost_usd"].tolist() == [0.0] * 5  # moderation is free


def test_changing_the_chosen_categories_changes_only_the_score_columns() -> None:
    other = Recipe.from_dict({**RECIPE.to_dict(), "moderation_categories": ["self-harm/intent"]})
    assert isinstance(other.moderation_categories, tuple)
    merged = golden_merge(other)
    assert [c for c in merged.columns if c.startswith("score_")] == ["score_self_harm_intent"]
    assert merged["flagged"].tolist() == golden_merge()["flagged"].tolist()
    none_chosen = golden_merge(Recipe.from_dict({**RECIPE.to_dict(), "moderation_categories": []}))
    assert "flagged" in none_chosen.columns
    assert not [c for c in none_chosen.columns if c.startswith("score_")]


def test_score_column_names() -> None:
    assert [score_column(c) for c in MODERATION_CATEGORIES[:4]] == [
        "score_hate",
        "score_hate_threatening",
        "score_harassment",
        "score_harassment_threatening",
    ]
    assert score_column("self-harm/instructions") == "score_self_harm_instructions"


def test_both_readers_read_moderation_lines_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (GOLDEN / "batch_output.jsonl").read_bytes()
    fast = parse_result_lines(data, recipe=RECIPE)
    monkeypatch.setattr(columns, "_arrow_values", lambda *_args: None)
    assert parse_result_lines(data, recipe=RECIPE) == fast
    assert fast[0].fields["score_harassment"] == pytest.approx(0.8731)


def test_a_moderation_file_is_recognised() -> None:
    data = jsonl(moderation_line("a", {"violence": 0.9}))
    assert infer_endpoint_and_model(data) == ("/v1/moderations", moderation_body()["model"])


def test_the_plan_of_a_moderation_recipe() -> None:
    plan = plan_batch(read_input(), RECIPE)
    assert plan.ok, plan.problems
    assert plan.rows == 5
    assert not any(p.blocking for p in plan.problems)
    unknown = Recipe.from_dict({**RECIPE.to_dict(), "moderation_categories": ["rudeness"]})
    problems = plan_batch(read_input(), unknown).problems
    assert any("rudeness" in p.message and p.blocking for p in problems)
    chatty = Recipe.from_dict({**RECIPE.to_dict(), "model": "gpt-4o-mini", "temperature": 0.5})
    notes = [p.message for p in plan_batch(read_input(), chatty).problems if not p.blocking]
    assert any("does not look like a moderation model" in n for n in notes)
    assert any("Moderation takes no temperature" in n for n in notes)
